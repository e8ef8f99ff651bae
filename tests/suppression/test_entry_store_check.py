"""entry_store.check: the send path's and the bulk check's lookup, one statement for any
number of addresses, exact for every key an address can have."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.addresses import normalize_address
from app.db import Database
from app.suppression import entry_store

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

# Keys with what a list of them must not break: quotes, a backslash, a comma, a space,
# brackets, an apostrophe, punycode.
EXOTIC = [
    normalize_address(raw)
    for raw in (
        '"john smith"@example.com',
        '"a\\"b"@example.com',
        '"a,b"@example.com',
        '"x[y]{z}"@example.com',
        "o'reilly@Example.com",
        "User+Tag@example.com",
        "ann@Bücher.de",
    )
]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


async def put(database: Database, *emails: str, expires_at: datetime | None = None) -> None:
    async with database.session() as session:
        for email in emails:
            entry = entry_store.Entry(
                email=email, display=email, reason="bounce", source="api", expires_at=expires_at
            )
            await entry_store.put(session, entry, actor="t", now=NOW, replace_active=True)


async def check(database: Database, emails: list[str]) -> dict[str, str]:
    async with database.session() as session:
        return await entry_store.check(session, emails, now=NOW)


class TestCheck:
    async def test_every_key_found_exactly(self, database: Database) -> None:
        await put(database, *EXOTIC)
        near = ['"john smith"@example.co', '"a"@example.com', "a,b@example.com", "ann@bücher.de"]
        found = await check(database, [*EXOTIC, *near])
        assert found == dict.fromkeys(EXOTIC, "bounce")

    async def test_a_line_break_never_splits_an_address_in_two(self, database: Database) -> None:
        await put(database, "ann@example.com", "bob@example.com")
        assert await check(database, ["ann@example.com\nbob@example.com"]) == {}
        joined = await check(database, ["ann@example.com\nbob@example.com", "bob@example.com"])
        assert joined == {"bob@example.com": "bounce"}

    async def test_past_any_statement_parameter_cap(self, database: Database) -> None:
        # SQLite binds at most 32,766 parameters a statement: the list goes as one.
        suppressed = [f"s{n}@example.com" for n in range(0, 40_000, 97)]
        await put(database, *suppressed)
        emails = [f"s{n}@example.com" for n in range(40_000)]
        assert await check(database, emails) == dict.fromkeys(suppressed, "bounce")

    async def test_expired_duplicates_and_none(self, database: Database) -> None:
        await put(database, "ann@example.com")
        await put(database, "old@example.com", expires_at=NOW + timedelta(seconds=1))
        async with database.session() as session:
            later = NOW + timedelta(seconds=2)
            emails = ["old@example.com", "ann@example.com", "ann@example.com"]
            assert await entry_store.check(session, emails, now=later) == {
                "ann@example.com": "bounce"
            }
        assert await check(database, []) == {}
