"""Two writers adding the same new address at once: both succeed, one after the other.

An operator's POST /v1/suppressions and a hard bounce from SNS (or two replicas) can
add one address in the same instant. The second must wait for the first to commit and
then update its row; it must never fail on the unique key (a 500, or a 503 SNS would
retry forever).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.db import Database
from app.models import Suppression, SuppressionChange
from app.suppression import entry_store

EMAIL = "race@example.com"


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


def entry(reason: str, source: str) -> entry_store.Entry:
    return entry_store.Entry(email=EMAIL, display=EMAIL, reason=reason, source=source)


async def test_a_second_writer_waits_and_updates_instead_of_failing(database: Database) -> None:
    now = datetime.now(UTC)
    first_wrote = asyncio.Event()
    changes: dict[str, str] = {}

    async def bounce() -> None:
        async with database.session() as session:
            changes["sns"] = await entry_store.put(
                session, entry("bounce", "sns"), actor="sns", now=now, replace_active=False
            )
            first_wrote.set()
            # Hold the uncommitted row while the operator's write starts.
            await asyncio.sleep(0.5)

    async def operator() -> None:
        await first_wrote.wait()
        async with database.session() as session:
            changes["api"] = await entry_store.put(
                session, entry("manual", "api"), actor="ops", now=now, replace_active=True
            )

    await asyncio.wait_for(asyncio.gather(bounce(), operator()), timeout=30)

    assert changes == {"sns": "added", "api": "updated"}
    async with database.session() as session:
        row = await session.scalar(select(Suppression).where(Suppression.email == EMAIL))
        log = [c.action for c in await session.scalars(select(SuppressionChange))]
    assert row is not None
    assert (row.reason, row.source) == ("manual", "api")
    assert sorted(log) == ["added", "updated"]


async def test_a_weaker_second_writer_leaves_the_first_entry(database: Database) -> None:
    now = datetime.now(UTC)
    first_wrote = asyncio.Event()
    changes: dict[str, str] = {}

    async def complaint() -> None:
        async with database.session() as session:
            changes["complaint"] = await entry_store.put(
                session, entry("complaint", "sns"), actor="sns", now=now, replace_active=False
            )
            first_wrote.set()
            await asyncio.sleep(0.5)

    async def bounce() -> None:
        await first_wrote.wait()
        async with database.session() as session:
            changes["bounce"] = await entry_store.put(
                session, entry("bounce", "sns"), actor="sns", now=now, replace_active=False
            )

    await asyncio.wait_for(asyncio.gather(complaint(), bounce()), timeout=30)

    assert changes == {"complaint": "added", "bounce": "unchanged"}
    async with database.session() as session:
        row = await session.scalar(select(Suppression).where(Suppression.email == EMAIL))
    assert row is not None
    assert row.reason == "complaint"
