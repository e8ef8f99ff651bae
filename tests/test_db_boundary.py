"""The one database error boundary: an outage inside a session leaves it as
DatabaseUnavailable (503), the rest as it was (app.db, app.outages)."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.db import Database
from app.errors import DatabaseUnavailable, NotFound, Unavailable
from app.outages import is_database_outage
from tests.conftest import READ, replace_services
from tests.outages import unreachable_database


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


def lost() -> OperationalError:
    return OperationalError("SELECT 1", None, ConnectionResetError("reset by peer"))


class TestSession:
    async def test_an_outage_in_the_block_is_database_unavailable(self, database: Database) -> None:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with database.session():
                raise lost()
        assert caught.value.status_code == 503
        assert isinstance(caught.value.__cause__, OperationalError)
        assert caught.value.message == (
            "the database is unreachable (OperationalError): nothing was stored; retry shortly"
        )
        assert caught.value.problem == "OperationalError"
        assert is_database_outage(caught.value)

    async def test_the_caller_says_who_retries(self, database: Database) -> None:
        with pytest.raises(DatabaseUnavailable, match=r"; SNS will retry this message$"):
            async with database.session(retry_hint="SNS will retry this message"):
                raise lost()

    async def test_no_free_connection_is_overloaded(self, database: Database) -> None:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with database.session():
                raise PoolTimeout("QueuePool limit of size 1 overflow 0 reached")
        assert caught.value.overloaded
        assert caught.value.message == (
            "bouncer is overloaded: no database connection came free in time; "
            "nothing was stored; retry shortly"
        )

    async def test_the_work_is_rolled_back(self, database: Database) -> None:
        async def write_then_lose() -> None:
            async with database.session() as session:
                # A table whose shape no feature changes: the migration's own.
                await session.execute(text("INSERT INTO alembic_version VALUES ('not-head')"))
                raise lost()

        with pytest.raises(DatabaseUnavailable):
            await write_then_lose()
        async with database.session() as session:
            assert await session.scalar(text("SELECT count(*) FROM alembic_version")) == 1

    @pytest.mark.parametrize(
        "error",
        [
            NotFound("no such entry"),
            Unavailable("the certificate host is down; SNS will retry"),
            IntegrityError("INSERT", None, ValueError("duplicate key")),
            ValueError("a bug"),
        ],
    )
    async def test_everything_else_goes_through_as_it_is(
        self, database: Database, error: Exception
    ) -> None:
        with pytest.raises(type(error)) as caught:
            async with database.session():
                raise error
        assert caught.value is error

    async def test_a_nested_session_is_translated_once(self, database: Database) -> None:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with database.session(), database.session(retry_hint="inner"):
                raise lost()
        assert caught.value.message.endswith("; inner")
        assert isinstance(caught.value.__cause__, OperationalError)

    async def test_a_database_that_cannot_be_reached(
        self, database_url: str, tmp_path: Path
    ) -> None:
        before = set(threading.enumerate())
        gone = unreachable_database(database_url, tmp_path)
        try:
            for unit in (gone.session, gone.read):
                with pytest.raises(DatabaseUnavailable, match="the database is unreachable"):
                    async with unit() as session:
                        await session.execute(text("SELECT 1"))
        finally:
            await gone.dispose()
            # aiosqlite stops a connection that failed to open on its own thread, which
            # then answers this test's event loop: let it, before pytest closes the loop.
            for thread in set(threading.enumerate()) - before:
                await asyncio.to_thread(thread.join, 10)

    async def test_read_is_behind_the_same_boundary(self, database: Database) -> None:
        with pytest.raises(DatabaseUnavailable, match=r"; later$"):
            async with database.read(retry_hint="later"):
                raise lost()


class TestOverHttp:
    async def test_a_v1_call_is_503_with_retry_after(
        self, app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        healthy = app.state.services.database
        down = unreachable_database(healthy.url, tmp_path)
        before = replace_services(app, database=down)
        try:
            response = await client.get("/v1/suppressions/ann@example.com", headers=READ)
        finally:
            await down.dispose()
            app.state.services = before
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"].startswith("the database is unreachable (")
        assert response.json()["error"].endswith("nothing was stored; retry shortly")

    async def test_an_outage_is_logged_once_with_the_drivers_error(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        # As before the boundary (app.api.handlers logged it): an operator sees the outage
        # in the log, not only the client in its 503.
        healthy = app.state.services.database
        down = unreachable_database(healthy.url, tmp_path)
        before = replace_services(app, database=down)
        try:
            with caplog.at_level(logging.WARNING, logger="bouncer.errors"):
                response = await client.get("/v1/suppressions/ann@example.com", headers=READ)
        finally:
            await down.dispose()
            app.state.services = before
        assert response.status_code == 503
        logged = [r.getMessage() for r in caplog.records if r.name == "bouncer.errors"]
        assert len(logged) == 1, logged
        # The driver's error (OperationalError on SQLite, ConnectionRefusedError from
        # asyncpg), not the boundary's own class.
        assert re.fullmatch(r"database unavailable: \w+Error", logged[0]), logged
        assert "DatabaseUnavailable" not in logged[0]

    async def test_every_503_says_when_to_come_back(self) -> None:
        assert Unavailable("the certificate host is down").headers() == {"Retry-After": "5"}
        assert NotFound("gone").headers() == {}


class TestErrorsShowNoValues:
    async def test_a_failed_statement_logs_its_sql_but_not_its_parameters(
        self, database: Database, caplog: pytest.LogCaptureFixture
    ) -> None:
        # A batch that fails is logged with its traceback (app.queues.batches): the
        # addresses and message bodies it carried must not be in it.
        secret = "ann.secret@example.com"

        async def insert() -> None:
            async with database.session() as session:
                statement = text("INSERT INTO no_such_table (email) VALUES (:email)")
                await session.execute(statement, {"email": secret})

        with pytest.raises(Exception) as caught:  # noqa: PT011  (whatever the driver raises)
            await insert()
        logging.getLogger("bouncer.test").error("the batch failed", exc_info=caught.value)
        assert "no_such_table" in caplog.text
        assert "hide_parameters" in caplog.text
        assert secret not in caplog.text
