"""An import line for an address already on the list: what the entry and its history become.

The import replaces an existing entry in bulk (bulk_store.replace_entries); these pin
the entry it leaves exactly as an operator's write through store.put left it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db import Database
from app.models import Suppression, SuppressionChange
from app.suppression import transfer

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
FILE_DATE = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


async def run_import(database: Database, text: str, *, now: datetime) -> transfer.ImportResult:
    async def once() -> AsyncIterator[bytes]:
        yield text.encode()

    return await transfer.import_(database, once(), "csv", actor="tester", now=now)


async def entry(database: Database, email: str) -> Suppression:
    async with database.session() as session:
        row = await session.get(Suppression, email)
    assert row is not None
    return row


async def history(database: Database, email: str) -> list[tuple[str, str, str | None, str | None]]:
    async with database.session() as session:
        rows = await session.scalars(
            select(SuppressionChange)
            .where(SuppressionChange.email == email)
            .order_by(SuppressionChange.id)
        )
        return [(r.action, r.actor, r.reason, r.note) for r in rows]


class TestReplace:
    async def test_a_changed_line_rewrites_the_entry_and_keeps_its_address_and_date(
        self, database: Database
    ) -> None:
        first = (
            f"email,reason,note,created_at\nAnn@Example.com,bounce,old,{FILE_DATE.isoformat()}\n"
        )
        await run_import(database, first, now=NOW)
        later = "email,reason,subtype,diagnostic_code,ses_message_id,feedback_id\n"
        later += "ANN@example.com,complaint,abuse,smtp; 550,msg-1,fb-1\n"
        result = await run_import(database, later, now=LATER)
        assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)
        row = await entry(database, "ann@example.com")
        assert (row.reason, row.subtype, row.diagnostic_code) == ("complaint", "abuse", "smtp; 550")
        assert (row.ses_message_id, row.feedback_id, row.source) == ("msg-1", "fb-1", "import")
        assert row.note is None  # the file's empty note replaces the old one
        assert (row.display, row.domain) == ("Ann@Example.com", "example.com")
        assert (row.created_at, row.updated_at, row.expires_at) == (FILE_DATE, LATER, None)
        assert await history(database, "ann@example.com") == [
            ("added", "tester", "bounce", "old"),
            ("updated", "tester", "complaint", None),
        ]

    async def test_an_expired_entry_comes_back_as_a_new_suppression(
        self, database: Database
    ) -> None:
        expires = NOW + timedelta(days=1)
        await run_import(
            database, f"email,reason,expires_at\nann@example.com,soft_bounce,{expires}\n", now=NOW
        )
        result = await run_import(database, "email,reason,note\nann@example.com,,back\n", now=LATER)
        assert (result.inserted, result.updated, result.unchanged) == (1, 0, 0)
        row = await entry(database, "ann@example.com")
        assert (row.reason, row.note, row.expires_at) == ("manual", "back", None)
        assert (row.created_at, row.updated_at) == (LATER, LATER)
        assert await history(database, "ann@example.com") == [
            ("added", "tester", "soft_bounce", None),
            ("added", "tester", "manual", "back"),
        ]

    async def test_an_expired_entry_is_added_again_for_the_same_reason(
        self, database: Database
    ) -> None:
        expires = NOW + timedelta(days=1)
        await run_import(database, "email,reason\nann@example.com,bounce\n", now=NOW)
        line = f"email,reason,expires_at\nbob@example.com,soft_bounce,{expires}\n"
        await run_import(database, line, now=NOW)
        renewed = LATER + timedelta(days=1)
        again = f"email,reason,expires_at\nbob@example.com,soft_bounce,{renewed}\n"
        again += "ann@example.com,bounce,\ncy@example.com,complaint,\n"
        result = await run_import(database, again, now=LATER)
        # bob had expired (added again), ann is as the file says, cy is new.
        assert (result.inserted, result.updated, result.unchanged) == (2, 0, 1)
        assert [a for a, *_ in await history(database, "bob@example.com")] == ["added", "added"]
        assert [a for a, *_ in await history(database, "ann@example.com")] == ["added"]
