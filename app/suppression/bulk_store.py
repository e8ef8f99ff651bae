"""Suppression entries many at a time (import and export): new ones inserted with their
change-log lines in one call, existing ones locked and replaced, active ones read in pages.

It writes what it is given and decides nothing: which lines are new, replaced or left
alone is app.suppression.transfer.writing's call. Each write takes its dialect's fastest
way: on PostgreSQL asyncpg directly (app.suppression.pg_bulk: COPY, fetch), on SQLite one
positional executemany (_sqlite_insert).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any, NamedTuple

from sqlalchemy import (
    Integer,
    Row,
    Select,
    Table,
    Text,
    bindparam,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db import UtcDateTime
from app.suppression import pg_bulk, tables
from app.vocabulary import ChangeAction

_SUPPRESSION = tables.SUPPRESSION
_CHANGE = tables.CHANGE
ENTRY_COLUMNS = tables.ENTRY_COLUMNS
LOG_COLUMNS = tables.LOG_COLUMNS
_DATES = frozenset(c.name for c in _SUPPRESSION.c if isinstance(c.type, UtcDateTime))


class NewEntry(NamedTuple):
    """One entry as written: a value for each of ENTRY_COLUMNS, in its order (a test in
    tests/suppression/test_bulk_store.py keeps the two the same)."""

    email: str
    display: str
    domain: str
    reason: str
    subtype: str | None
    diagnostic_code: str | None
    source: str
    ses_message_id: str | None
    feedback_id: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


async def insert_entries(
    session: AsyncSession, entries: Sequence[NewEntry], *, actor: str, now: datetime
) -> None:
    """Insert entries for addresses that have none, each with its "added" change-log line.

    ~20 µs a row, where entry_store.put's decide-then-write costs ~0.5 ms. An address that has an
    entry fails the whole call (and its transaction): look them up first (lock_existing).
    """
    if not entries:
        return
    await _insert_rows(session, _SUPPRESSION, NewEntry._fields, entries)
    await _log(session, zip(entries, repeat(ChangeAction.ADDED)), actor, now)


async def replace_entries(
    session: AsyncSession,
    changes: Sequence[tuple[NewEntry, ChangeAction]],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Overwrite existing (locked) entries with what each NewEntry says, and log each change.

    ``updated`` keeps the entry's created_at; ``added`` (an entry that had expired comes
    back: a new suppression) dates it ``now``. The address's forms (email, display,
    domain) stay as first seen.
    """
    for action, statement in ((ChangeAction.UPDATED, _REPLACE), (ChangeAction.ADDED, _REVIVE)):
        params = [
            {"key": entry.email, "now": now, **{f"v_{n}": getattr(entry, n) for n in _REPLACED}}
            for entry, done in changes
            if done == action
        ]
        if params:
            await session.execute(statement, params)
    if changes:
        await _log(session, changes, actor, now)


# What replacing an entry writes: every column but the address's forms and the dates the
# row keeps (created_at) or takes from the write (updated_at).
_REPLACED = tuple(
    name
    for name in ENTRY_COLUMNS
    if name not in {"email", "display", "domain", "created_at", "updated_at"}
)
_REPLACE = (
    update(_SUPPRESSION)
    .where(_SUPPRESSION.c.email == bindparam("key"))
    .values(
        {name: bindparam(f"v_{name}", type_=_SUPPRESSION.c[name].type) for name in _REPLACED}
        | {"updated_at": bindparam("now", type_=_SUPPRESSION.c.updated_at.type)}
    )
)
_REVIVE = _REPLACE.values(created_at=bindparam("now", type_=_SUPPRESSION.c.created_at.type))


async def _log(
    session: AsyncSession,
    changes: Iterable[tuple[NewEntry, ChangeAction]],
    actor: str,
    now: datetime,
) -> None:
    # The actions come zipped in, not looked up as ChangeAction.ADDED an entry at a
    # time: that cost ~1 µs a new entry, ~4 % of a PostgreSQL import's CPU.
    lines = [(e.email, action, actor, e.reason, e.expires_at, e.note, now) for e, action in changes]
    await _insert_rows(session, _CHANGE, LOG_COLUMNS, lines)


async def lock_existing(session: AsyncSession, emails: list[str]) -> dict[str, Row[Any]]:
    """The entries among ``emails`` (normalised) that exist, locked until commit: {email: row}.

    Core rows, not ORM entities, so re-importing a list of millions builds no identity map.
    """
    if session.get_bind().dialect.name == "postgresql":
        # In key order: each probe then reads the index pages the last one read.
        rows = await session.execute(_LOCK_EACH, {"emails": sorted(emails)})
    else:
        # SQLite reads an IN list through the primary key, and its BEGIN IMMEDIATE
        # (app/db.py) already holds the only write lock. Bound, not literal: the driver
        # caches 128 prepared statements a connection, ~0.5 MB each with 5,000 literals.
        rows = await session.execute(_LOCK_IN, {"emails": sorted(emails)})
    return {row.email: row for row in rows}


# One primary-key lookup per address, whatever the statistics say. As `email IN (…)` or
# `= ANY($1)`, PostgreSQL costs 5,000 index probes above one sequential scan of a table of
# a million rows (random_page_cost) and scans it, ~0.3 s a batch that the probes do in
# 50 ms; while the table's statistics are stale (they are, mid-import) any plan may come.
_KEYS = (
    func.unnest(bindparam("emails", type_=ARRAY(Text))).table_valued("email").render_derived("k")
)
_EACH = (
    select(_SUPPRESSION).where(_SUPPRESSION.c.email == _KEYS.c.email).with_for_update().lateral("s")
)
_LOCK_EACH = select(_EACH).select_from(_KEYS).join(_EACH, true())
_LOCK_IN = select(_SUPPRESSION).where(_SUPPRESSION.c.email.in_(bindparam("emails", expanding=True)))


async def analyze(session: AsyncSession) -> None:
    """Refresh PostgreSQL's planner statistics of the list after a bulk load.

    Until autovacuum gets round to it, PostgreSQL plans with the statistics of the table
    before the load: an export then sorted the whole table for each batch (seconds a batch
    at a million rows) where the primary key gives them in order. SQLite plans these
    queries from its indexes alone.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sql_text(f"ANALYZE {_SUPPRESSION.name}, {_CHANGE.name}"))


async def active_page(
    session: AsyncSession, columns: tuple[str, ...], *, after: str, now: datetime, size: int
) -> Sequence[Sequence[Any]]:
    """``columns`` of the first ``size`` active entries after the address ``after``, in
    address order; dates as ``datetime.isoformat()`` text, None as None."""
    params = {"now": now, "after": after, "size": size}
    connection = await session.connection()
    if connection.dialect.driver == "asyncpg":
        return await pg_bulk.fetch(connection, _page(columns, "postgresql"), params)
    # Core on the table, not ORM attributes: the ORM's loading costs ~10 µs a row.
    result = await connection.execute(_page(columns, connection.dialect.name), params)
    rows: Sequence[Row[Any]] = result.all()
    return rows


@functools.lru_cache(maxsize=8)  # one per format's columns and dialect
def _page(columns: tuple[str, ...], dialect_name: str) -> Select[Any]:
    selected = [
        _iso_text(_SUPPRESSION.c[name], dialect_name) if name in _DATES else _SUPPRESSION.c[name]
        for name in columns
    ]
    expires_at = _SUPPRESSION.c.expires_at
    return (
        select(*selected)
        .where(or_(expires_at.is_(None), expires_at > bindparam("now")))
        .where(_SUPPRESSION.c.email > bindparam("after"))
        .order_by(_SUPPRESSION.c.email)
        .limit(bindparam("size", type_=Integer))
    )


def _iso_text(column: Any, dialect_name: str) -> Any:
    """The date as ``datetime.isoformat()`` writes it, done by the database.

    ``2025-06-01T12:00:00+00:00``, or ``…:00.000123+00:00`` when there are microseconds.
    Formatting a million dates in Python, with the datetimes built first, took more
    than a third of an export's time. Every date is stored UTC: on SQLite as
    ``YYYY-MM-DD HH:MM:SS.ffffff`` text (SQLAlchemy's format; app/db.UtcDateTime).
    """
    if dialect_name == "postgresql":
        text = func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US')
    else:
        text = func.replace(column, " ", "T")
    return func.replace(text, ".000000", "", type_=Text).concat("+00:00").label(column.name)


async def _insert_rows(
    session: AsyncSession, table: Table, names: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` (values in ``names`` order) in one go, each dialect its fastest way.

    A Core or ORM executemany spends ~40 µs a row in SQLAlchemy (a parameter dict, bind
    processing) and, on PostgreSQL, has the server run the INSERT once per row.
    """
    connection = await session.connection()
    if connection.dialect.driver == "asyncpg":
        # The datetimes are aware (UTC) already; timestamptz keeps the instant, which
        # asyncpg encodes from any aware value, so UtcDateTime has nothing to add.
        await pg_bulk.copy(connection, table, names, rows)
    else:
        await _sqlite_insert(connection, table, names, rows)


async def _sqlite_insert(
    connection: AsyncConnection,
    table: Table,
    names: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """SQLite's bulk layer: one executemany of a positional INSERT, the values made what
    Core would have stored by the columns' own bind processors (UtcDateTime: naive UTC text)."""
    dialect = connection.dialect
    # dialect_impl: a TypeDecorator's own bind_processor chains the generic DateTime's,
    # which has none, and sqlite3 then wrote a whole second as "… 12:00:00" where Core
    # writes "… 12:00:00.000000"; SQLite compares the text, so such an entry fell outside
    # ``created_at >= <that second>`` and a list cursor on it never moved past it.
    types = [table.c[name].type.dialect_impl(dialect) for name in names]
    processors = [
        (i, process)
        for i, type_ in enumerate(types)
        if (process := type_.bind_processor(dialect)) is not None
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
