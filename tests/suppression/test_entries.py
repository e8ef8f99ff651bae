"""entries.history and entries.check_each: the functions the API, the CLI and the console
share for "who changed this address, and why" and for a bulk check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.db import Database
from app.errors import InvalidInput
from app.suppression import entries, policy
from tests.query_plans import in_use, plans_of

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


class TestCountByReason:
    async def test_the_active_entries_of_each_reason_none_left_out(
        self, database: Database
    ) -> None:
        for n, (reason, expires) in enumerate(
            [
                ("bounce", None),
                ("bounce", None),
                ("soft_bounce", NOW + timedelta(days=1)),  # expired by then
                ("soft_bounce", NOW + timedelta(days=3)),
                ("manual", NOW + timedelta(days=2)),  # expires at that very moment
                ("manual", None),
                ("unsubscribe", NOW + timedelta(days=2, microseconds=1)),
            ]
        ):
            async with database.session() as session:
                await entries.add(
                    session, f"r{n}@example.com", reason=reason, note=None, expires_at=expires,
                    actor="ops", source="api", now=NOW,
                )  # fmt: skip
        async with database.session() as session:
            counts = await entries.count_by_reason(session, now=NOW + timedelta(days=2))
        assert counts == {"bounce": 2, "soft_bounce": 1, "manual": 1, "unsubscribe": 1}

    async def test_counted_from_the_reason_and_expiry_index_not_the_table(
        self, database: Database
    ) -> None:
        # A million entries: 0.4 s on PostgreSQL and 4 s on SQLite when every row was read.
        await in_use(database, 5000, now=NOW)
        async with database.session() as session:
            dialect = session.get_bind().dialect.name
            [plan] = await plans_of(session, lambda: entries.count_by_reason(session, now=NOW))
        reads = [line for line in plan if "suppression" in line]
        assert len(reads) == 2 * len(policy.REASONS), plan
        expected = (
            "Index Only Scan using ix_suppression_reason_expires_at on suppression"
            if dialect == "postgresql"
            else "SEARCH suppression USING COVERING INDEX ix_suppression_reason_expires_at"
        )
        assert all(
            line.strip().removeprefix("->").strip().startswith(expected) for line in reads
        ), plan
