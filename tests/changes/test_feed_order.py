"""The feed in commit order (activity.change_feed): an event whose transaction commits
after a later id's is placed after it, so a poller that moved past the later one still
gets it. On PostgreSQL, where transactions commit in any order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import change_feed
from app.db import Database, table_of
from app.models import ChangeEvent, SuppressionChange

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
_LINE = insert(table_of(SuppressionChange))


async def write_line(session: AsyncSession, email: str) -> None:
    # A history line as the stores write it; the trigger writes its event.
    await session.execute(_LINE, {"email": email, "action": "removed", "actor": "ops", "at": AT})


async def poll(database: Database, after: int) -> tuple[list[str], int]:
    async with database.session() as session:
        await change_feed.place(session)
        page = await change_feed.page(session, after, limit=100)
    return [row.email for row in page.items], page.next


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.mark.postgres
async def test_an_event_committed_late_is_not_stepped_over(database: Database) -> None:
    async with database.session() as slow:
        await write_line(slow, "first-id@example.com")  # takes the lower id…
        async with database.session() as fast:
            await write_line(fast, "second-id@example.com")
        # …but commits last. The poller sees the committed one and moves past it.
        seen, cursor = await poll(database, 0)
        assert seen == ["second-id@example.com"]
    seen, cursor = await poll(database, cursor)
    assert seen == ["first-id@example.com"]
    assert await poll(database, cursor) == ([], cursor)


async def test_concurrent_writers_and_placers_give_each_event_one_position(
    database: Database,
) -> None:
    async def writer(n: int) -> None:
        for i in range(10):
            async with database.session() as session:
                await write_line(session, f"w{n}-{i}@example.com")

    async def placer() -> None:
        for _ in range(10):
            async with database.session() as session:
                await change_feed.place(session)

    await asyncio.gather(*(writer(n) for n in range(4)), placer(), placer())
    async with database.session() as session:
        await change_feed.place(session)
    async with database.session() as session:
        rows = (await session.execute(select(table_of(ChangeEvent)))).all()
    positions = sorted(row.position for row in rows)
    assert positions == list(range(1, 41))
    # Within one writer, its events keep their order.
    by_position = sorted(rows, key=lambda r: r.position)
    for n in range(4):
        mine = [r.email for r in by_position if r.email.startswith(f"w{n}-")]
        assert mine == [f"w{n}-{i}@example.com" for i in range(10)]
