"""One import batch written in one transaction: new addresses in bulk (COPY on
PostgreSQL, one executemany on SQLite), changed ones through store.put."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, Table, Text, bindparam, func, insert, select, true
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database, table_of
from app.models import Suppression, SuppressionChange
from app.suppression import entry_store as store
from app.suppression.transfer.driver import copy
from app.suppression.transfer.rows import Row as FileRow

_SUPPRESSION = table_of(Suppression)
_CHANGE = table_of(SuppressionChange)


class Tally(NamedTuple):
    inserted: int
    updated: int
    unchanged: int


async def write_batch(
    database: Database, batch: dict[str, FileRow], *, actor: str, now: datetime
) -> Tally:
    """The batch's outcome, once committed (a failure leaves nothing of it)."""
    inserted = updated = unchanged = 0
    if not batch:
        return Tally(0, 0, 0)
    async with database.session() as session:
        existing = await _lock_existing(session, list(batch))
        new: list[FileRow] = []
        for email, row in batch.items():
            current = existing.get(email)
            if current is None:
                new.append(row)
            elif store.is_active_row(current, now=now) and _is_same(row, current):
                unchanged += 1
            else:
                change = await store.put(
                    session, row.entry(), actor=actor, now=now, replace_active=True
                )
                if change == "added":  # an expired entry made active again
                    inserted += 1
                else:
                    updated += 1
        await insert_new(session, new, actor=actor, now=now)
        inserted += len(new)
    return Tally(inserted, updated, unchanged)


async def analyze(database: Database) -> None:
    # After a bulk load PostgreSQL plans with the statistics of the table before it,
    # until autovacuum gets round to it: an export then sorted the whole table for each
    # batch (seconds a batch at a million rows) where the primary key gives them in order.
    if database.engine.dialect.name != "postgresql":
        return  # SQLite plans these queries from its indexes alone
    async with database.session() as session:
        await session.execute(sql_text("ANALYZE suppression, suppression_change"))


# What _is_same compares, and expires_at for store.is_active_row: Core rows, not ORM
# entities, so re-importing a list of millions builds no identity map.
_COMPARED = [
    _SUPPRESSION.c[name]
    for name in (
        "email", "reason", "subtype", "diagnostic_code", "ses_message_id", "feedback_id",
        "note", "expires_at",
    )
]  # fmt: skip


async def _lock_existing(session: AsyncSession, emails: list[str]) -> dict[str, Row[Any]]:
    """The entries the file names that exist already, locked until commit."""
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.execute(_LOCK_EACH, {"emails": emails})
    else:
        # SQLite reads an IN list through the primary key, and its BEGIN IMMEDIATE
        # (app/db.py) already holds the only write lock. Bound, not literal: the driver
        # caches 128 prepared statements a connection, ~0.5 MB each with 5,000 literals.
        rows = await session.execute(_LOCK_IN, {"emails": emails})
    return {row.email: row for row in rows}


# One primary-key lookup per address, whatever the statistics say. As `email IN (…)` or
# `= ANY($1)`, PostgreSQL costs 5,000 index probes above one sequential scan of a table of
# a million rows (random_page_cost) and scans it, ~0.3 s a batch that the probes do in
# 50 ms; while the table's statistics are stale (they are, mid-import) any plan may come.
_KEYS = (
    func.unnest(bindparam("emails", type_=ARRAY(Text))).table_valued("email").render_derived("k")
)
_EACH = (
    select(*_COMPARED).where(_SUPPRESSION.c.email == _KEYS.c.email).with_for_update().lateral("s")
)
_LOCK_EACH = select(_EACH).select_from(_KEYS).join(_EACH, true())
_LOCK_IN = select(*_COMPARED).where(_SUPPRESSION.c.email.in_(bindparam("emails", expanding=True)))


async def insert_new(
    session: AsyncSession, rows: list[FileRow], *, actor: str, now: datetime
) -> None:
    # The rows and their history match what store.put writes for a new address, except
    # created_at, which keeps the date the file gives. store.put's per-row
    # read-then-insert costs ~0.5 ms a row.
    if not rows:
        return
    await _insert_many(session, _SUPPRESSION, FileRow._fields, rows)
    await _insert_many(
        session,
        _CHANGE,
        store.LOG_COLUMNS,
        [(r.email, "added", actor, r.reason, r.expires_at, r.note, now) for r in rows],
    )


async def _insert_many(
    session: AsyncSession, table: Table, names: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` (values in ``names`` order) in one go: COPY on PostgreSQL, else
    one executemany of a positional INSERT.

    A Core or ORM executemany spends ~40 µs a row in SQLAlchemy (a parameter dict, bind
    processing) and, on PostgreSQL, has the server run the INSERT once per row.
    """
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.driver == "asyncpg":
        # The datetimes are aware (UTC) already; timestamptz keeps the instant, which
        # asyncpg encodes from any aware value, so UtcDateTime has nothing to add.
        await copy(connection, table, names, rows)
        return
    # Elsewhere the columns' own bind processors (UtcDateTime: naive UTC text on SQLite)
    # make the values what Core would have stored.
    processors = [
        (i, process)
        for i, name in enumerate(names)
        if (process := table.c[name].type.bind_processor(dialect)) is not None
    ]
    if processors:
        columns = list(zip(*rows, strict=True))
        for i, process in processors:
            columns[i] = tuple(map(process, columns[i]))
        rows = list(zip(*columns, strict=True))
    await connection.exec_driver_sql(_positional_insert(table, names, dialect), rows)


@functools.lru_cache(maxsize=16)  # keyed by dialect: one per engine
def _positional_insert(table: Table, names: tuple[str, ...], dialect: Dialect) -> str:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
    if list(compiled.positiontup or ()) != list(names):
        raise ValueError(f"{dialect.name}+{dialect.driver}: positional parameters expected")
    return str(compiled)


def _is_same(row: FileRow, current: Row[Any]) -> bool:
    # The source is not compared: a list exported and imported back is a no-op.
    return bool(
        row.reason == current.reason
        and row.subtype == current.subtype
        and row.diagnostic_code == current.diagnostic_code
        and row.ses_message_id == current.ses_message_id
        and row.feedback_id == current.feedback_id
        and row.note == current.note
        and row.expires_at == current.expires_at
    )
