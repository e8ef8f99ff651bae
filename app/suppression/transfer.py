"""The whole suppression list in and out as CSV or NDJSON, streamed in batches.

Export reads the active entries in keyset batches, each on a short session of its own,
so memory stays flat at millions of rows and no transaction spans the download.
Import commits every ``IMPORT_BATCH`` rows: a bad line is reported and skipped, and
re-importing the same file changes nothing (rows already as the file says are
counted ``unchanged`` and not written, so the change history stays quiet).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from app.addresses import InvalidAddress, parse_address
from app.db import Database, storable
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
IMPORT_BATCH = 1000
MAX_REJECTED = 1000
# A CSV record with an unclosed quote would otherwise swallow the rest of the file.
MAX_RECORD = 64 * 1024

Progress = Callable[[int], None]


# ---------------------------------------------------------------- export


async def export(
    database: Database, fmt: Format, *, now: datetime, progress: Progress | None = None
) -> AsyncIterator[str]:
    """The active entries, ordered by address, as text chunks (one per batch).

    The first batch is read before this returns, so an unreachable database fails
    the call instead of truncating a response that has already begun.
    """
    rows = await _batch_after(database, None, now=now)
    return _chunks(database, fmt, rows, now=now, progress=progress)


async def _chunks(
    database: Database,
    fmt: Format,
    rows: list[tuple[Any, ...]],
    *,
    now: datetime,
    progress: Progress | None,
) -> AsyncIterator[str]:
    header = _csv_text([COLUMNS]) if fmt == "csv" else ""
    while True:
        text = _csv_text(rows) if fmt == "csv" else _ndjson_text(rows)
        if progress is not None:
            progress(len(rows))
        yield header + text
        header = ""
        if len(rows) < EXPORT_BATCH:
            return
        rows = await _batch_after(database, rows[-1][0], now=now)


async def _batch_after(database: Database, after: str | None, *, now: datetime) -> list[Any]:
    columns = [getattr(Suppression, name) for name in COLUMNS]
    query = select(*columns).where(
        or_(Suppression.expires_at.is_(None), Suppression.expires_at > now)
    )
    if after is not None:
        query = query.where(Suppression.email > after)
    async with database.session() as session:
        result = await session.execute(query.order_by(Suppression.email).limit(EXPORT_BATCH))
        return [tuple(row) for row in result]


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _csv_text(rows: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[_text(v) for v in row] for row in rows])
    return buffer.getvalue()


def _ndjson_text(rows: list[Any]) -> str:
    return "".join(
        json.dumps(
            {
                k: v.isoformat() if isinstance(v, datetime) else v
                for k, v in zip(COLUMNS, row, strict=True)
            },
            ensure_ascii=False,
        )
        + "\n"
        for row in rows
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


@dataclass(frozen=True)
class _Row:
    entry: store.Entry
    created_at: datetime


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
    """Upsert every good line; InvalidInput only when the file as a whole is unusable."""
    result = ImportResult()
    batch: dict[str, _Row] = {}
    records = _csv_records(chunks) if fmt == "csv" else _ndjson_records(chunks)
    async for line, fields in records:
        try:
            if isinstance(fields, str):
                raise _BadLine(fields)
            row = _row_from(fields, now=now)
        except _BadLine as err:
            result.reject(line, str(err))
            continue
        if row.entry.email in batch or len(batch) >= IMPORT_BATCH:
            # A repeated address within one batch would be inserted twice; write first.
            await _write(database, batch, actor=actor, now=now, result=result)
            batch = {}
        batch[row.entry.email] = row
    await _write(database, batch, actor=actor, now=now, result=result)
    return result


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
        with session.no_autoflush:
            existing = await _lock_existing(session, list(batch))
            new: list[_Row] = []
            for email, row in batch.items():
                current = existing.get(email)
                if current is None:
                    new.append(row)
                elif store.is_active_row(current, now=now) and _is_same(row.entry, current):
                    result.unchanged += 1
                else:
                    change = await store.put(
                        session, row.entry, actor=actor, now=now, replace_active=True
                    )
                    if change == "added":  # an expired entry made active again
                        result.inserted += 1
                    else:
                        result.updated += 1
            await _insert_new(session, new, actor=actor, now=now)
            result.inserted += len(new)


async def _lock_existing(session: AsyncSession, emails: list[str]) -> dict[str, Suppression]:
    # The addresses go into the SQL as literals: with 1,000 bind parameters asyncpg's
    # prepared statement gets a generic plan, which PostgreSQL may make a sequential
    # scan while the table's statistics are stale (it is, mid-import), ~1 s a batch.
    keys: BindParameter[str] = bindparam("emails", emails, expanding=True, literal_execute=True)
    rows = await session.scalars(
        select(Suppression).where(Suppression.email.in_(keys)).with_for_update()
    )
    return {row.email: row for row in rows}


async def _insert_new(
    session: AsyncSession, rows: list[_Row], *, actor: str, now: datetime
) -> None:
    # One multi-row INSERT per batch: store.put's per-row read-then-insert costs
    # ~0.5 ms a row, too slow for lists of millions. The rows and their history
    # match what store.put writes for a new address, except created_at, which keeps
    # the date the file gives (when the address was first suppressed elsewhere).
    if not rows:
        return
    # render_nulls: the ORM's bulk insert otherwise leaves out None values and so
    # splits a batch into one statement per run of rows with the same columns.
    await session.execute(
        insert(Suppression).execution_options(render_nulls=True),
        [
            {
                "email": r.entry.email,
                "display": r.entry.display,
                "domain": r.entry.domain,
                "reason": r.entry.reason,
                "subtype": r.entry.subtype,
                "diagnostic_code": r.entry.diagnostic_code,
                "source": r.entry.source,
                "ses_message_id": r.entry.ses_message_id,
                "feedback_id": r.entry.feedback_id,
                "note": r.entry.note,
                "created_at": r.created_at,
                "updated_at": now,
                "expires_at": r.entry.expires_at,
            }
            for r in rows
        ],
    )
    await session.execute(
        insert(SuppressionChange).execution_options(render_nulls=True),
        [
            {
                "email": r.entry.email,
                "action": "added",
                "actor": actor,
                "reason": r.entry.reason,
                "expires_at": r.entry.expires_at,
                "note": r.entry.note,
                "at": now,
            }
            for r in rows
        ],
    )


def _is_same(entry: store.Entry, row: Suppression) -> bool:
    # The source is not compared: a list exported and imported back is a no-op.
    return (
        entry.reason == row.reason
        and entry.subtype == row.subtype
        and entry.diagnostic_code == row.diagnostic_code
        and entry.ses_message_id == row.ses_message_id
        and entry.feedback_id == row.feedback_id
        and entry.note == row.note
        and entry.expires_at == row.expires_at
    )


def _row_from(fields: Mapping[str, object], *, now: datetime) -> _Row:
    """One line's fields (names from COLUMNS, values text or None) as an entry to write."""
    values: dict[str, str | None] = {}
    for name in COLUMNS:
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise _BadLine(f"{name} must be text, not {type(value).__name__}")
        values[name] = storable(value.strip()) if value and value.strip() else None
        limit = _MAX_LENGTH.get(name)
        if limit is not None and len(values[name] or "") > limit:
            raise _BadLine(f"{name} is longer than {limit} characters")
    if values["email"] is None:
        raise _BadLine("email is missing")
    try:
        address = parse_address(values["email"])
    except InvalidAddress as err:
        raise _BadLine(f"bad address: {err}") from err
    reason = values["reason"] or "manual"
    dates = {name: _date(name, values[name]) for name in _DATES}
    expires_at = dates["expires_at"]
    if problem := entries.entry_problem(reason, expires_at, now=now):
        raise _BadLine(problem[1])
    entry = store.Entry(
        email=address.normalized,
        display=address.display,
        reason=reason,
        source="import",
        subtype=values["subtype"],
        diagnostic_code=values["diagnostic_code"],
        ses_message_id=values["ses_message_id"],
        feedback_id=values["feedback_id"],
        note=values["note"],
        expires_at=expires_at,
    )
    return _Row(entry, min(dates["created_at"] or now, now))


def _date(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise _BadLine(f"bad date in {name}: {text!r} is not ISO 8601") from err
    # A date without an offset is read as UTC, as bouncer writes every date.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def _lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, str]]:
    """(line number from 1, text) with CRLF or LF endings and a UTF-8 BOM tolerated.

    Undecodable bytes become U+FFFD, so only the line holding them is rejected.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    pending = ""
    number = 0
    async for chunk in chunks:
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        for text in complete:
            number += 1
            yield number, text.removesuffix("\r")
    pending += decoder.decode(b"", final=True)
    if pending:
        yield number + 1, pending.removesuffix("\r")


Record = tuple[int, Mapping[str, object] | str]
"""(line number, the line's fields by column name, or why the line is unreadable)."""


async def _ndjson_records(chunks: AsyncIterable[bytes]) -> AsyncIterator[Record]:
    async for number, text in _lines(chunks):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            yield number, f"invalid JSON: {err.msg} at column {err.colno}"
            continue
        yield number, value if isinstance(value, dict) else "expected a JSON object"


async def _csv_records(chunks: AsyncIterable[bytes]) -> AsyncIterator[Record]:
    header: tuple[str, ...] | None = None
    async for number, fields in _csv_rows(chunks):
        if isinstance(fields, str):
            yield number, fields
            continue
        if header is None:
            header = _header(fields)
            if not _is_address(fields[0]):
                continue  # it was the header row
        if len(fields) != len(header):
            yield number, f"wrong column count: expected {len(header)}, found {len(fields)}"
            continue
        yield number, dict(zip(header, fields, strict=True))


async def _csv_rows(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, list[str] | str]]:
    """Parsed CSV records with the line each starts on; a quoted field may span lines."""
    start, record = 0, ""
    async for number, text in _lines(chunks):
        if not record and not text.strip():
            continue
        start, record = (start, record + "\n" + text) if record else (number, text)
        # RFC 4180: quotes inside a field are doubled, so an odd count means it goes on.
        if record.count('"') % 2 and len(record) < MAX_RECORD:
            continue
        yield start, _csv_fields(record)
        record = ""
    if record:
        yield start, _csv_fields(record)


def _csv_fields(record: str) -> list[str] | str:
    if len(record) >= MAX_RECORD:
        return f"record longer than {MAX_RECORD} characters (a quote never closed?)"
    return next(csv.reader([record], strict=False), [""])


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
