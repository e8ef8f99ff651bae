"""The one migration tree upgrades, matches the models and downgrades, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.db import Database
from app.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from app.models import Base
from tests.databases import DatabaseFactory


@pytest.fixture
def empty_url(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh(migrated=False)
    yield url
    databases.release(url)


def _check(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.check(config)  # raises if the models and the migrations disagree


def _downgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


class TestMigrations:
    async def test_upgrade_empty_database_then_no_drift(self, empty_url: str) -> None:
        database = Database(empty_url)
        try:
            assert await current_revision(database.engine) is None
            await upgrade_to_head(database.engine)
            assert await current_revision(database.engine) == head_revision()
            async with database.engine.connect() as connection:
                await connection.run_sync(_check)
                tables = await connection.run_sync(_tables)
            assert set(Base.metadata.tables) <= tables
        finally:
            await database.dispose()

    async def test_upgrade_twice_is_a_no_op(self, empty_url: str) -> None:
        database = Database(empty_url)
        try:
            await upgrade_to_head(database.engine)
            await upgrade_to_head(database.engine)
            assert await current_revision(database.engine) == head_revision()
        finally:
            await database.dispose()

    async def test_downgrade_to_base_removes_every_table(self, empty_url: str) -> None:
        database = Database(empty_url)
        try:
            await upgrade_to_head(database.engine)
            async with database.engine.connect() as connection:
                await connection.run_sync(_downgrade)
                await connection.commit()
                tables = await connection.run_sync(_tables)
            assert tables <= {"alembic_version"}
            assert await current_revision(database.engine) is None
            await upgrade_to_head(database.engine)
            assert await current_revision(database.engine) == head_revision()
        finally:
            await database.dispose()
