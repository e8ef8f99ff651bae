"""entries.history: an address's whole change log, kept after its removal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.db import Database
from app.errors import InvalidInput
from app.suppression import entries


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


async def test_history_lists_every_change_removal_included(database: Database) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    async with database.session() as session:
        await entries.add(
            session, "Ann@Example.com", reason="manual", note="asked", expires_at=None,
            actor="ops", source="api", now=now,
        )  # fmt: skip
        await entries.add(
            session, "ann@example.com", reason="complaint", note=None, expires_at=None,
            actor="cli", source="cli", now=now + timedelta(seconds=1),
        )  # fmt: skip
        assert await entries.remove(
            session, "ann@example.com", actor="ops", note="fixed", now=now + timedelta(seconds=2)
        )
    async with database.session() as session:
        changes = await entries.history(session, " ANN@example.com ")
        other = await entries.history(session, "bob@example.com")
    assert [(c.action, c.reason, c.actor, c.note) for c in changes] == [
        ("added", "manual", "ops", "asked"),
        ("updated", "complaint", "cli", None),
        ("removed", None, "ops", "fixed"),
    ]
    assert changes[-1].at == now + timedelta(seconds=2)
    assert other == []


async def test_history_refuses_a_bad_address(database: Database) -> None:
    async with database.session() as session:
        with pytest.raises(InvalidInput):
            await entries.history(session, "not-an-address")
