"""The whole suppression list in and out as CSV or NDJSON, streamed in batches.

Export reads the active entries in keyset batches, each on a short session of its own,
so memory stays flat at millions of rows and no transaction spans the download.
Import commits every ``IMPORT_BATCH`` rows: a bad line is reported and skipped, and
re-importing the same file changes nothing (rows already as the file says are
counted ``unchanged`` and not written, so the change history stays quiet).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import functools
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any, Literal, NamedTuple, cast

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
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.addresses import InvalidAddress, parse_address
from app.db import Database, storable, table_of
from app.errors import InvalidInput
from app.models import Suppression, SuppressionChange
from app.suppression import entries, store

Format = Literal["csv", "ndjson"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson")
MEDIA_TYPES: Mapping[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
}
COLUMNS = (
    "email",
    "reason",
    "subtype",
    "source",
    "note",
    "created_at",
    "updated_at",
    "expires_at",
    "diagnostic_code",
    "ses_message_id",
    "feedback_id",
)
_DATES = ("created_at", "updated_at", "expires_at")
# Column widths in app/models.py: PostgreSQL refuses longer values and would fail the batch.
_MAX_LENGTH = {"subtype": 64, "ses_message_id": 256, "feedback_id": 256}
EXPORT_BATCH = 5000
IMPORT_BATCH = 5000
# Rows an import must write to be followed by ANALYZE (PostgreSQL).
ANALYZE_AFTER = 10_000
MAX_REJECTED = 1000
# A CSV record with an unclosed quote would otherwise swallow the rest of the file.
MAX_RECORD = 64 * 1024

Progress = Callable[[int], None]

_SUPPRESSION = table_of(Suppression)
_CHANGE = table_of(SuppressionChange)


# ---------------------------------------------------------------- export


async def export(
    database: Database, fmt: Format, *, now: datetime, progress: Progress | None = None
) -> AsyncIterator[str]:
    """The active entries, ordered by address, as text chunks (one per batch).

    The first batch is read before this returns, so an unreachable database fails
    the call instead of truncating a response that has already begun.
    """
    rows = await _batch_after(database, "", now=now)  # every address sorts after ""
    return _chunks(database, fmt, rows, now=now, progress=progress)


async def _chunks(
    database: Database,
    fmt: Format,
    rows: Sequence[Sequence[Any]],
    *,
    now: datetime,
    progress: Progress | None,
) -> AsyncIterator[str]:
    header = _csv_text([COLUMNS]) if fmt == "csv" else ""
    while True:
        following = None
        if len(rows) == EXPORT_BATCH:
            # The next batch is read while this one is formatted and sent. If the reader
            # stops early, the read still ends on its own; its outcome is dropped.
            following = asyncio.create_task(_batch_after(database, rows[-1][0], now=now))
            following.add_done_callback(_drop_outcome)
        text = _csv_text(rows) if fmt == "csv" else _ndjson_text(rows)
        if progress is not None:
            progress(len(rows))
        yield header + text
        header = ""
        if following is None:
            return
        rows = await following


def _drop_outcome(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it; an awaiting reader sees it


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


def _page(dialect_name: str) -> Select[Any]:
    """A batch of the active entries: the first ``size`` addresses after ``after``."""
    columns = [
        _iso_text(_SUPPRESSION.c[name], dialect_name) if name in _DATES else _SUPPRESSION.c[name]
        for name in COLUMNS
    ]
    expires_at = _SUPPRESSION.c.expires_at
    return (
        select(*columns)
        .where(or_(expires_at.is_(None), expires_at > bindparam("now")))
        .where(_SUPPRESSION.c.email > bindparam("after"))
        .order_by(_SUPPRESSION.c.email)
        .limit(bindparam("size", type_=Integer))
    )


_PAGES = {name: _page(name) for name in ("postgresql", "sqlite")}


async def _batch_after(database: Database, after: str, *, now: datetime) -> Sequence[Sequence[Any]]:
    params = {"now": now, "after": after, "size": EXPORT_BATCH}
    async with database.session() as session:
        connection = await session.connection()
        if connection.dialect.driver == "asyncpg":
            return await _fetch(connection, _PAGES["postgresql"], params)
        # Core on the table, not ORM attributes: the ORM's loading costs ~10 µs a row.
        result = await connection.execute(_PAGES[connection.dialect.name], params)
        rows: Sequence[Row[Any]] = result.all()
        return rows


async def _fetch(
    connection: AsyncConnection, statement: Select[Any], params: dict[str, Any]
) -> list[Any]:
    """``statement``'s rows as asyncpg returns them, in the connection's transaction.

    SQLAlchemy's result rows cost ~4 µs a row more, a third of an export's time. The
    values need no result processing: the batch is text (dates included) or None.
    """
    sql, names, fixed = _compiled(statement, connection.dialect)
    values = {**fixed, **params}
    raw = await connection.get_raw_connection()
    with _driver_errors(sql):
        rows: list[Any] = await raw.driver_connection.fetch(  # type: ignore[union-attr]
            sql, *(values[name] for name in names)
        )
    return rows


@functools.lru_cache(maxsize=16)  # keyed by dialect: one per engine
def _compiled(
    statement: Select[Any], dialect: Dialect
) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """The SQL, its parameters' names in order, and the values fixed in the statement."""
    compiled = statement.compile(dialect=dialect)
    given = {name: None for name, bind in compiled.binds.items() if bind.required}
    return str(compiled), tuple(compiled.positiontup or ()), dict(compiled.construct_params(given))


@contextmanager
def _driver_errors(statement: str) -> Iterator[None]:
    """asyncpg's errors raised as SQLAlchemy raises them (DBAPIError, ``orig`` the driver's),
    for app.outages to tell a lost connection (503) from a failed statement, where the
    driver is used directly; anything else (OSError included) goes through as it is."""
    try:
        yield
    except Exception as err:
        if type(err).__module__.partition(".")[0] != "asyncpg":
            raise
        raise DBAPIError(statement, None, err) from err


def _csv_text(rows: Sequence[Sequence[Any]]) -> str:
    # Every value is text or None, which csv writes as an empty field.
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


# One line as json.dumps(dict(zip(COLUMNS, row)), ensure_ascii=False) writes it when every
# value is text or None (as here): the keys and separators laid out once, each value
# escaped by the C function json.dumps itself uses. Half the time of dumps a row.
_NDJSON_LINE = "{" + ", ".join(f"{json.dumps(name)}: %s" for name in COLUMNS) + "}\n"


def _ndjson_text(rows: Sequence[Sequence[Any]]) -> str:
    return "".join(
        [
            _NDJSON_LINE % tuple(["null" if v is None else encode_basestring(v) for v in row])
            for row in rows
        ]
    )


# ---------------------------------------------------------------- import


@dataclass
class ImportResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_total: int = 0
    """Every bad line; ``rejected`` lists the first MAX_REJECTED of them."""

    def reject(self, line: int, error: str) -> None:
        self.rejected_total += 1
        if len(self.rejected) < MAX_REJECTED:
            self.rejected.append({"line": line, "error": error})


class _Row(NamedTuple):
    """One good line as its suppression row (the table's columns, in its order)."""

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
    """The date the file gives (when the address was first suppressed elsewhere)."""
    updated_at: datetime
    expires_at: datetime | None

    def entry(self) -> store.Entry:
        return store.Entry(
            email=self.email,
            display=self.display,
            reason=self.reason,
            source=self.source,
            subtype=self.subtype,
            diagnostic_code=self.diagnostic_code,
            ses_message_id=self.ses_message_id,
            feedback_id=self.feedback_id,
            note=self.note,
            expires_at=self.expires_at,
        )


class _BadLine(ValueError):
    pass


async def import_(
    database: Database,
    chunks: AsyncIterable[bytes],
    fmt: Format,
    *,
    actor: str,
    now: datetime,
) -> ImportResult:
    """Upsert every good line; InvalidInput only when the file as a whole is unusable.

    One batch is written while the next is read: the database works on it (in its own
    process, or aiosqlite's thread) while this one parses, and batches still land one
    after the other, in order. A failure stops the import at once: the batch being
    written is rolled back, the ones before it stay.
    """
    result = ImportResult()
    batch: dict[str, _Row] = {}
    records = _csv_records(chunks) if fmt == "csv" else _ndjson_records(chunks)
    writing: asyncio.Task[None] | None = None

    async def write(rows: dict[str, _Row]) -> None:
        nonlocal writing
        if writing is not None:
            await writing
        writing = asyncio.create_task(_write(database, rows, actor=actor, now=now, result=result))

    try:
        async for chunk_records in records:
            for count, (line, fields) in enumerate(chunk_records, 1):
                try:
                    if isinstance(fields, str):
                        raise _BadLine(fields)
                    row = _row_from(fields, now=now)
                except _BadLine as err:
                    result.reject(line, str(err))
                    continue
                if row.email in batch or len(batch) >= IMPORT_BATCH:
                    # A repeated address within one batch would be inserted twice: write first.
                    await write(batch)
                    batch = {}
                batch[row.email] = row
                if count % 16 == 0:
                    await asyncio.sleep(0)  # let the batch being written take its next step
        await write(batch)
        if writing is not None:
            await writing
    finally:
        if writing is not None:
            writing.cancel()  # nothing to cancel when it has finished
            await asyncio.wait([writing])
            if not writing.cancelled():
                writing.exception()  # retrieved: if it failed, the error raised says so
    if result.inserted + result.updated >= ANALYZE_AFTER:
        await _analyze(database)
    return result


async def _analyze(database: Database) -> None:
    # After a bulk load PostgreSQL plans with the statistics of the table before it,
    # until autovacuum gets round to it: an export then sorted the whole table for each
    # batch (seconds a batch at a million rows) where the primary key gives them in order.
    if database.engine.dialect.name != "postgresql":
        return  # SQLite plans these queries from its indexes alone
    async with database.session() as session:
        await session.execute(sql_text("ANALYZE suppression, suppression_change"))


async def _write(
    database: Database,
    batch: dict[str, _Row],
    *,
    actor: str,
    now: datetime,
    result: ImportResult,
) -> None:
    if not batch:
        return
    async with database.session() as session:
        existing = await _lock_existing(session, list(batch))
        new: list[_Row] = []
        for email, row in batch.items():
            current = existing.get(email)
            if current is None:
                new.append(row)
            elif store.is_active_row(current, now=now) and _is_same(row, current):
                result.unchanged += 1
            else:
                change = await store.put(
                    session, row.entry(), actor=actor, now=now, replace_active=True
                )
                if change == "added":  # an expired entry made active again
                    result.inserted += 1
                else:
                    result.updated += 1
        await _insert_new(session, new, actor=actor, now=now)
        result.inserted += len(new)


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


async def _insert_new(
    session: AsyncSession, rows: list[_Row], *, actor: str, now: datetime
) -> None:
    # The rows and their history match what store.put writes for a new address, except
    # created_at, which keeps the date the file gives. store.put's per-row
    # read-then-insert costs ~0.5 ms a row.
    if not rows:
        return
    await _insert_many(session, _SUPPRESSION, _Row._fields, rows)
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
        await _copy(connection, table, names, rows)
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


async def _copy(
    connection: AsyncConnection,
    table: Table,
    names: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    # COPY … FROM STDIN (binary) in the session's transaction: a third of the server's
    # time of a multi-row INSERT and a tenth of the client's.
    raw = await connection.get_raw_connection()
    with _driver_errors(f"COPY {table.name} ({', '.join(names)})"):
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table.name, records=rows, columns=names, schema_name=table.schema
        )


@functools.lru_cache(maxsize=16)  # keyed by dialect: one per engine
def _positional_insert(table: Table, names: tuple[str, ...], dialect: Dialect) -> str:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
    if list(compiled.positiontup or ()) != list(names):
        raise ValueError(f"{dialect.name}+{dialect.driver}: positional parameters expected")
    return str(compiled)


def _is_same(row: _Row, current: Row[Any]) -> bool:
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


# Each column with the longest value it takes, where PostgreSQL would refuse more.
_FIELDS = tuple((name, _MAX_LENGTH.get(name)) for name in COLUMNS)


def _row_from(fields: Sequence[object], *, now: datetime) -> _Row:
    """One line's values (in COLUMNS order, text or None) as the row to write."""
    values: list[str | None] = []
    for (name, limit), value in zip(_FIELDS, fields, strict=True):
        if value is None or value == "":
            values.append(None)
            continue
        if not isinstance(value, str):
            raise _BadLine(f"{name} must be text, not {type(value).__name__}")
        text = storable(value.strip()) or None
        if limit is not None and text is not None and len(text) > limit:
            raise _BadLine(f"{name} is longer than {limit} characters")
        values.append(text)
    (raw, reason, subtype, _source, note, created, updated, expires, code, message, feedback) = (
        values
    )
    if raw is None:
        raise _BadLine("email is missing")
    email, display, domain = _address(raw)
    reason = reason or "manual"
    created_at = _date("created_at", created)
    _date("updated_at", updated)  # checked, not kept: the row is updated now
    expires_at = _date("expires_at", expires)
    if problem := entries.entry_problem(reason, expires_at, now=now):
        raise _BadLine(problem[1])
    created_at = now if created_at is None or created_at > now else created_at
    return _Row(
        email, display, domain, reason, subtype, code, "import", message, feedback, note,
        created_at, now, expires_at,
    )  # fmt: skip


def _address(text: str) -> tuple[str, str, str]:
    """(key, display, domain) as parse_address gives them, or _BadLine."""
    try:
        address = parse_address(text)
    except InvalidAddress as err:
        raise _BadLine(f"bad address: {err}") from err
    return address.normalized, address.display, address.normalized.rpartition("@")[2]


def _date(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise _BadLine(f"bad date in {name}: {text!r} is not ISO 8601") from err
    # A date without an offset is read as UTC, as bouncer writes every date.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# The readers below hand over one list per chunk read, not one item per line: a chain of
# async generators costs a few µs per item and layer, seconds per million lines.


async def _lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[tuple[int, str]]]:
    """(line number from 1, text) with CRLF or LF endings and a UTF-8 BOM tolerated.

    Undecodable bytes become U+FFFD, so only the line holding them is rejected.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    pending = ""
    number = 0
    async for chunk in chunks:
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        if complete:
            yield [(number + i, text.removesuffix("\r")) for i, text in enumerate(complete, 1)]
            number += len(complete)
    pending += decoder.decode(b"", final=True)
    if pending:
        yield [(number + 1, pending.removesuffix("\r"))]


Record = tuple[int, Sequence[object] | str]
"""(line number, the line's values in COLUMNS order, or why the line is unreadable)."""


async def _ndjson_records(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[Record]]:
    async for lines in _lines(chunks):
        records: list[Record] = []
        for number, text in lines:
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as err:
                records.append((number, f"invalid JSON: {err.msg} at column {err.colno}"))
                continue
            if isinstance(value, dict):
                records.append((number, [value.get(name) for name in COLUMNS]))
            else:
                records.append((number, "expected a JSON object"))
        yield records


async def _csv_records(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[Record]]:
    header: tuple[str, ...] | None = None
    pick: Callable[[list[str | None]], Sequence[object]] = tuple
    async for rows in _csv_rows(chunks):
        records: list[Record] = []
        for number, fields in rows:
            if isinstance(fields, str):
                records.append((number, fields))
                continue
            if header is None:
                header = _header(fields)
                pick = _picker(header)
                if not _is_address(fields[0]):
                    continue  # it was the header row
            if len(fields) != len(header):
                error = f"wrong column count: expected {len(header)}, found {len(fields)}"
                records.append((number, error))
                continue
            padded = cast("list[str | None]", fields)
            padded.append(None)
            records.append((number, pick(padded)))
        yield records


def _picker(header: tuple[str, ...]) -> Callable[[list[str | None]], Sequence[object]]:
    """A line's fields (with a None after them) -> its values in COLUMNS order.

    A column the header lacks reads as the None; a column COLUMNS lacks is left out.
    """
    missing = len(header)
    return itemgetter(*(header.index(name) if name in header else missing for name in COLUMNS))


async def _csv_rows(
    chunks: AsyncIterable[bytes],
) -> AsyncIterator[list[tuple[int, list[str] | str]]]:
    """Parsed CSV records with the line each starts on; a quoted field may span lines."""
    start, record = 0, ""
    async for lines in _lines(chunks):
        rows: list[tuple[int, list[str] | str]] = []
        for number, text in lines:
            if not record:
                if '"' not in text and "\r" not in text and len(text) < MAX_RECORD:
                    # The common line, whole and unquoted: _csv_fields without the call.
                    if text and not text.isspace():
                        rows.append((number, text.split(",")))
                    continue
                if not text or text.isspace():
                    continue
            start, record = (start, record + "\n" + text) if record else (number, text)
            # RFC 4180: quotes inside a field are doubled, so an odd count means it goes on.
            if record.count('"') % 2 and len(record) < MAX_RECORD:
                continue
            rows.append((start, _csv_fields(record)))
            record = ""
        yield rows
    if record:
        yield [(start, _csv_fields(record))]


def _csv_fields(record: str) -> list[str] | str:
    if len(record) >= MAX_RECORD:
        return f"record longer than {MAX_RECORD} characters (a quote never closed?)"
    if '"' not in record and "\r" not in record:
        # Without quotes or a bare CR the csv module splits at every comma: do it in C.
        return record.split(",")
    try:
        return next(csv.reader([record], strict=False), [""])
    except csv.Error as err:  # e.g. a bare carriage return inside an unquoted field
        return f"unreadable CSV: {err}"


def _header(fields: list[str]) -> tuple[str, ...]:
    """The column names: the header row's, or COLUMNS in order when there is none."""
    if _is_address(fields[0]):
        return COLUMNS[: len(fields)] if len(fields) <= len(COLUMNS) else COLUMNS
    names = tuple(name.strip().lower() for name in fields)
    if "email" not in names:
        raise InvalidInput(
            "the first CSV line is neither an address nor a header naming an email column",
            field="body",
        )
    if len(set(names)) != len(names):
        raise InvalidInput("the CSV header names a column twice", field="body")
    return names


def _is_address(text: str) -> bool:
    try:
        parse_address(text)
    except InvalidAddress:
        return False
    return True
