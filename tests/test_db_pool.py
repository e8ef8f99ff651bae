"""The PostgreSQL pool: a connection that died while idle is replaced before anyone uses it.

PostgreSQL restarts, fails over or is told to drop connections (pg_terminate_backend) while
the pool sits quiet. The next request must get a working connection, not a 503: bouncer
pings a connection that has been idle for PING_AFTER_IDLE_SECONDS (not every checkout,
which costs three round trips a request with asyncpg).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app import db as db_module
from app.db import Database
from app.errors import DatabaseUnavailable

pytestmark = pytest.mark.postgres


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    # One pooled connection, so the next session reuses the one that was killed.
    database = Database(database_url, pool_size=1, max_overflow=0)
    yield database
    await database.dispose()


async def kill_pooled_connection(database: Database, admin: Database) -> None:
    async with database.session() as session:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
    async with admin.session() as session:
        assert await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=1, max_overflow=0)
    yield database
    await database.dispose()


async def test_an_idle_connection_killed_meanwhile_is_replaced(
    database: Database, admin: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    await kill_pooled_connection(database, admin)
    async with database.session() as session:
        assert await session.scalar(text("SELECT 1")) == 1


async def test_a_busy_connection_is_not_pinged(
    database: Database, admin: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other side of the trade: without the ping a dead connection fails its first
    # use (an outage: 503 for SNS to retry), and the pool replaces it for the next one.
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    await kill_pooled_connection(database, admin)
    # The sessionmaker itself, under Database.session()'s boundary (which would answer
    # DatabaseUnavailable): the pool's own error is what this test looks at.
    with pytest.raises(DBAPIError) as caught:
        async with database.sessionmaker() as session:
            await session.scalar(text("SELECT 1"))
    assert caught.value.connection_invalidated
    async with database.session() as session:
        assert await session.scalar(text("SELECT 1")) == 1


async def test_a_connection_killed_in_use_is_database_unavailable(
    database: Database, admin: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a request sees of the same failure: the session boundary's 503, from the error.
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    await kill_pooled_connection(database, admin)
    with pytest.raises(DatabaseUnavailable, match="the database is unreachable") as caught:
        async with database.session() as session:
            await session.scalar(text("SELECT 1"))
    assert isinstance(caught.value.__cause__, DBAPIError)
    assert caught.value.__cause__.connection_invalidated


async def test_a_read_session_runs_each_statement_on_its_own(database: Database) -> None:
    # Autocommit: no BEGIN and COMMIT round trips around a send's one suppression check.
    # txid_current() assigns the running transaction an id: the same within one.
    read = "SELECT txid_current()"
    async with database.read() as session:
        first, second = await session.scalar(text(read)), await session.scalar(text(read))
    assert first != second
    async with database.session() as session:
        first, second = await session.scalar(text(read)), await session.scalar(text(read))
    assert first == second
