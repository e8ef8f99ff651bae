"""The one migration tree upgrades, matches the models and downgrades, on both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Enum, func, insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from app.db import Database
from app.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from app.models import Base, Suppression
from app.vocabulary import (
    ChangeAction,
    ChangeType,
    ConfirmedVia,
    DeliveryStatus,
    EventType,
    Reason,
    SendOutcome,
    SnsMessageType,
    Source,
    SubscriptionStatus,
    Verdict,
)
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


# Every column holding one of app.vocabulary's words, with its enum (migration 0006).
WORDS: list[tuple[str, str, type[StrEnum]]] = [
    ("sns_message", "type", SnsMessageType),
    ("subscription", "status", SubscriptionStatus),
    ("subscription", "confirmed_via", ConfirmedVia),
    ("event", "type", EventType),
    ("event", "verdict", Verdict),
    ("suppression", "reason", Reason),
    ("suppression", "source", Source),
    ("suppression_change", "action", ChangeAction),
    ("suppression_change", "reason", Reason),
    ("send", "outcome", SendOutcome),
    ("change_event", "type", ChangeType),  # the tables of 0012 on
    ("change_event", "reason", Reason),
    ("change_event", "source", Source),
    ("webhook_delivery", "status", DeliveryStatus),
]
# Each table's key, to read the rows back in a known order.
KEYS = {
    "sns_message": "message_id",
    "subscription": "topic_arn",
    "event": "dedupe_key",
    "suppression": "email",
    "suppression_change": "id",
    "send": "id",
}
AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
# Words added after 0006, with the migration that admits them: no row before holds them.
LATER_WORDS = {("suppression_change", "action"): {"noted", "expired"}}  # 0007, 0012


def _required(table: str, i: int) -> dict[str, Any]:
    """The columns a row of ``table`` needs besides its words (as they are at 0005)."""
    if table == "sns_message":
        return {
            "message_id": f"m{i:03d}",
            "topic_arn": "arn:aws:sns:us-east-1:123456789012:t",
            "message": "{}",
            "signature_version": "2",
            "sent_at": AT,
            "received_at": AT,
        }
    if table == "subscription":
        return {
            "topic_arn": f"arn:aws:sns:us-east-1:123456789012:t{i:03d}",
            "last_message_id": f"m{i:03d}",
            "created_at": AT,
            "updated_at": AT,
        }
    if table == "event":
        return {"dedupe_key": f"k{i:03d}", "sns_message_id": "m000", "occurred_at": AT}
    if table == "suppression":
        email = f"a{i:03d}@example.com"
        return {"email": email, "display": email, "domain": "example.com", "created_at": AT}
    if table == "suppression_change":
        return {"email": "a000@example.com", "actor": "sns", "at": AT}
    assert table == "send"
    return {"sender": "s@example.com", "sent_to": [], "suppressed": [], "created_at": AT}


def rows_of_every_kind() -> dict[str, list[dict[str, Any]]]:
    """Per table, rows that between them hold every value of each word column (and NULL
    where the column takes it), every value bouncer may have written before 0006."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in KEYS:
        columns = Base.metadata.tables[table].c
        words = {
            column: [str(w) for w in enum if w not in LATER_WORDS.get((table, column), set())]
            + ([None] if columns[column].nullable else [])
            for name, column, enum in WORDS
            if name == table
        }
        count = max(len(values) for values in words.values())
        rows[table] = [
            {
                **_required(table, i),
                **{column: values[i % len(values)] for column, values in words.items()},
                **({"received_at": AT} if table == "event" else {}),
                **({"updated_at": AT} if table == "suppression" else {}),
                **({"recipient_count": 0} if table == "send" else {}),
            }
            for i in range(count)
        ]
    return rows


def _config(connection: Connection) -> Config:
    config = alembic_config()
    config.attributes["connection"] = connection
    return config


def _stored(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of each table, whole and in key order, as the database holds it."""
    return {
        table: [
            dict(row._mapping)
            for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))  # noqa: S608
        ]
        for table, key in KEYS.items()
    }


def _words(stored: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The word columns of ``stored``, row by row."""
    return {
        table: [tuple(row[c] for name, c, _ in WORDS if name == table) for row in rows]
        for table, rows in stored.items()
    }


def _written(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The word columns of the rows inserted, in the order _stored reads them."""
    ordered = {
        table: rows[table] if key == "id" else sorted(rows[table], key=lambda r: r[key])
        for table, key in KEYS.items()
    }
    return _words(ordered)


def _refusing(connection: Connection) -> set[tuple[str, str]]:
    """The word columns in which the database refuses a word outside the list."""
    refusing = set()
    for table, column, _ in WORDS:
        if table not in KEYS:  # no rows at 0005: a later revision's table
            continue
        savepoint = connection.begin_nested()
        try:
            connection.execute(text(f"UPDATE {table} SET {column} = 'bogus'"))  # noqa: S608
        except IntegrityError:
            refusing.add((table, column))
        savepoint.rollback()
    return refusing


def _checked_values(connection: Connection) -> dict[tuple[str, str], set[str]]:
    """The quoted values of each ck_<table>_<column> constraint, as the database reports it."""
    found = {}
    inspector = inspect(connection)
    for table in dict.fromkeys(table for table, _, _ in WORDS):
        for check in inspector.get_check_constraints(table):
            name = check["name"] or "(unnamed)"  # an unnamed one would show as such
            found[(table, name.removeprefix(f"ck_{table}_"))] = set(
                re.findall(r"'([^']*)'", check["sqltext"])
            )
    return found


class TestStoredWords:
    """Migration 0006: a CHECK constraint per word column, on a database already in use."""

    def test_every_enum_column_is_listed(self) -> None:
        enums = {
            (table.name, column.name): column.type.enum_class
            for table in Base.metadata.sorted_tables
            for column in table.c
            if isinstance(column.type, Enum)
        }
        assert enums == {(table, column): enum for table, column, enum in WORDS}

    async def test_each_check_admits_exactly_its_enum(self, empty_url: str) -> None:
        # Fails when a word is added to (or dropped from) an enum without a migration
        # swapping that column's CHECK: autogenerate does not compare CHECK constraints.
        database = Database(empty_url)
        try:
            await upgrade_to_head(database.engine)
            async with database.engine.connect() as connection:
                checked = await connection.run_sync(_checked_values)
        finally:
            await database.dispose()
        assert checked == {(table, column): {str(w) for w in enum} for table, column, enum in WORDS}

    async def test_upgrade_keeps_every_row_then_refuses_other_words(self, empty_url: str) -> None:
        rows = rows_of_every_kind()
        database = Database(empty_url)
        try:
            async with database.engine.connect() as connection:
                await connection.run_sync(lambda c: command.upgrade(_config(c), "0005"))
                for table, values in rows.items():
                    await connection.execute(insert(Base.metadata.tables[table]), values)
                await connection.commit()
                before = await connection.run_sync(_stored)
            assert _words(before) == _written(rows)

            await upgrade_to_head(database.engine)
            async with database.engine.connect() as connection:
                assert await connection.run_sync(_stored) == before
                every = {(table, column) for table, column, _ in WORDS if table in KEYS}
                assert await connection.run_sync(_refusing) == every
                # A filter on an unknown word still finds nothing, as before the enums.
                found = await connection.scalar(
                    select(func.count()).select_from(Suppression).where(Suppression.reason == "x")
                )
                assert found == 0

                await connection.run_sync(lambda c: command.downgrade(_config(c), "0005"))
                await connection.commit()
                assert await connection.run_sync(_stored) == before
                assert await connection.run_sync(_refusing) == set()
            assert await current_revision(database.engine) == "0005"
        finally:
            await database.dispose()
