"""listing.page at scale: an address prefix (q=) on PostgreSQL reads a range of the
pattern index, whatever the database's collation (issue #18, migration 0010)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from app.db import Database
from app.suppression import listing
from tests.query_plans import in_use, plans_of

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.mark.postgres
class TestPrefix:
    async def test_a_prefix_is_a_range_of_the_pattern_index(self, database: Database) -> None:
        # Without it, PostgreSQL outside the C locale walked the list newest first testing
        # every address: 0.65 s at a million entries for a prefix matching a few.
        await in_use(database, 5000, now=NOW)
        filters = listing.Filters(q="R42")  # r42, r420…r429, r4200…r4299

        async def first_page() -> listing.Page:
            return await listing.page(session, filters, cursor=None, limit=100, now=NOW)

        async with database.session() as session:
            found = await first_page()
            [plan] = await plans_of(session, first_page)
        assert len(found.items) == 100
        assert all(row.email.startswith("r42") for row in found.items)
        reads = [line for line in plan if " on suppression" in line]
        assert len(reads) == 1, plan
        assert "Index Scan using ix_suppression_email_prefix on suppression" in reads[0], plan
        assert any("~>=~ 'r42'" in line and "~<~ 'r43'" in line for line in plan), plan
