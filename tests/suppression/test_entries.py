"""entries.history and entries.check_each: the functions the API, the CLI and the console
share for "who changed this address, and why" and for a bulk check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.db import Database
from app.errors import InvalidInput
from app.suppression import entries

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


class TestHistory:
    async def test_every_change_oldest_first_removal_included(self, database: Database) -> None:
        async with database.session() as session:
            await entries.add(
                session,
                "Ann <Ann@Example.com>",
                reason="manual",
                note="asked",
                expires_at=None,
                actor="ops",
                source="api",
                now=NOW,
            )
            await entries.remove(
                session, "ann@example.com", actor="cli", note="fixed", now=NOW + timedelta(1)
            )
        async with database.session() as session:
            changes = await entries.history(session, "ANN@example.com")
        assert [(c.action, c.actor, c.reason, c.note, c.source) for c in changes] == [
            ("added", "ops", "manual", "asked", None),
            ("removed", "cli", None, "fixed", None),
        ]
        assert [c.at for c in changes] == [NOW, NOW + timedelta(1)]

    async def test_the_current_entry_gives_its_source(self, database: Database) -> None:
        async with database.session() as session:
            await entries.add(
                session,
                "bob@example.com",
                reason="complaint",
                note=None,
                expires_at=None,
                actor="importer",
                source="import",
                now=NOW,
            )
            changes = await entries.history(session, "bob@example.com")
        assert [(c.action, c.source) for c in changes] == [("added", "import")]

    async def test_never_listed_is_empty_and_garbage_is_refused(self, database: Database) -> None:
        async with database.session() as session:
            assert await entries.history(session, "new@example.com") == []
            with pytest.raises(InvalidInput) as refused:
                await entries.history(session, "not an address")
        assert refused.value.field == "email"


class TestCheckEach:
    async def test_invalid_listed_valid_answered(self, database: Database) -> None:
        async with database.session() as session:
            await entries.add(
                session,
                "ann@example.com",
                reason="bounce",
                note=None,
                expires_at=None,
                actor="ops",
                source="api",
                now=NOW,
            )
            result = await entries.check_each(
                session, ["ANN@example.com", "nope", "bob@example.com"], now=NOW
            )
        assert result.suppressed == {"ANN@example.com": "bounce"}
        assert result.allowed == ["bob@example.com"]
        assert [(i.email, "no @" in i.error) for i in result.invalid] == [("nope", True)]
