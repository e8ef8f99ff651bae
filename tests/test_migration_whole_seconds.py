"""Migration 0008: SQLite rows an import wrote with a whole second's short text are padded,
so the list's since= and its cursor treat them as every other row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text

from app.db import Database
from app.migrate import alembic_config, upgrade_to_head
from app.suppression import listing
from tests.databases import DatabaseFactory

SHORT = "2026-12-01 12:00:00"
INSERT_ENTRY = text(
    "INSERT INTO suppression (email, display, domain, reason, source, created_at, updated_at, "
    "expires_at) VALUES (:email, :email, 'example.com', 'manual', 'import', :at, :at, :at)"
)
INSERT_CHANGE = text(
    "INSERT INTO suppression_change (email, action, actor, reason, expires_at, at) "
    "VALUES (:email, 'added', 'import', 'manual', :at, :at)"
)


@pytest.fixture
def empty_url(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh(migrated=False)
    yield url
    databases.release(url)


async def test_whole_second_dates_are_padded_and_listed(empty_url: str) -> None:
    database = Database(empty_url)
    try:
        async with database.engine.connect() as connection:

            def to_0007(sync: object) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync
                command.upgrade(config, "0007")

            await connection.run_sync(to_0007)
            # SQLite stores the text as written, as sqlite3's adapter wrote it; PostgreSQL
            # (asyncpg) takes only a datetime, and the migration leaves it alone.
            sqlite = connection.dialect.name == "sqlite"
            at: object = SHORT if sqlite else datetime(2026, 12, 1, 12, tzinfo=UTC)
            for n in range(3):
                params = {"email": f"a{n}@example.com", "at": at}
                await connection.execute(INSERT_ENTRY, params)
                await connection.execute(INSERT_CHANGE, params)
            await connection.commit()

        await upgrade_to_head(database.engine)

        async with database.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                for table, columns in (
                    ("suppression", ("created_at", "updated_at", "expires_at")),
                    ("suppression_change", ("expires_at", "at")),
                ):
                    for column in columns:
                        query = text(f"SELECT {column} FROM {table}")  # noqa: S608  (fixed names)
                        stored = (await connection.execute(query)).scalars()
                        assert set(stored) == {SHORT + ".000000"}, (table, column)
        since = datetime(2026, 12, 1, 12, tzinfo=UTC)
        now = datetime(2026, 11, 30, tzinfo=UTC)  # before the entries expire
        seen: list[str] = []
        cursor = None
        async with database.session() as session:
            for _ in range(5):
                page = await listing.page(
                    session, listing.Filters(since=since), cursor=cursor, limit=2, now=now
                )
                seen += [row.email for row in page.items]
                cursor = page.next_cursor
                if cursor is None:
                    break
        assert sorted(seen) == ["a0@example.com", "a1@example.com", "a2@example.com"]
    finally:
        await database.dispose()
