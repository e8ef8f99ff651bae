"""A CSV or NDJSON list in: every line imported or rejected alone, with its number.

Import commits every ``IMPORT_BATCH`` rows: a bad line is reported and skipped, and
re-importing the same file changes nothing (rows already as the file says are counted
``unchanged`` and not written, so the change history stays quiet). An address the file
names twice (in any case) is taken from its first line; the later lines are counted
``unchanged`` (and ``duplicates``), so a file re-imported is a no-op even then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.db import Database
from app.errors import DatabaseUnavailable, Unavailable
from app.suppression.bulk_store import NewEntry
from app.suppression.transfer import writing
from app.suppression.transfer.columns import Format
from app.suppression.transfer.csv_format import csv_records
from app.suppression.transfer.ndjson_format import ndjson_records
from app.suppression.transfer.rows import BadLine, row_from, text_row_from
from app.suppression.transfer.seen import SeenAddresses

log = logging.getLogger("bouncer.transfer")

IMPORT_BATCH = 5000
# Rows an import must write to be followed by ANALYZE (PostgreSQL).
ANALYZE_AFTER = 10_000
MAX_REJECTED = 1000


@dataclass
class ImportResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_total: int = 0
    """Every bad line; ``rejected`` lists the first MAX_REJECTED of them."""
    duplicates: int = 0
    """Lines naming an address an earlier line named (counted in ``unchanged`` too)."""

    def reject(self, line: int, error: str) -> None:
        self.rejected_total += 1
        if len(self.rejected) < MAX_REJECTED:
            self.rejected.append({"line": line, "error": error})


class ImportInterrupted(Unavailable):
    """The database went away mid-import: what is stored, and what to do (503)."""

    def __init__(self, result: ImportResult, through_line: int) -> None:
        super().__init__(
            "the database became unreachable during the import: "
            + (f"lines 1 to {through_line} are stored" if through_line else "nothing is stored")
            + f" (inserted {result.inserted}, updated {result.updated}, unchanged "
            f"{result.unchanged}), the lines after are not; import the whole file again "
            "once the database is back (lines already stored then count as unchanged)"
        )
        self.result = result
        self.through_line = through_line

    def body(self) -> dict[str, Any]:
        return {
            "error": self.message,
            "stored_through_line": self.through_line,
            "inserted": self.result.inserted,
            "updated": self.result.updated,
            "unchanged": self.result.unchanged,
        }


@dataclass
class _Batch:
    rows: dict[str, NewEntry] = field(default_factory=dict)
    duplicates: int = 0
    last_line: int = 0


async def import_(
    database: Database,
    chunks: AsyncIterable[bytes],
    fmt: Format,
    *,
    actor: str,
    now: datetime,
) -> ImportResult:
    """Upsert every good line; InvalidInput only when the file as a whole is unusable
    (its header), ImportInterrupted when the database goes away.

    One batch is written while the next is read: the database works on it (in its own
    process, or aiosqlite's thread) while this one parses, and batches still land one
    after the other, in order. A failure stops the import at once: the batch being
    written is rolled back, the ones before it stay.
    """
    result = ImportResult()
    stored_through = 0
    seen = SeenAddresses()  # every address taken from the file so far
    batch = _Batch()
    records = csv_records(chunks) if fmt == "csv" else ndjson_records(chunks)
    make_row = text_row_from if fmt == "csv" else row_from  # a CSV value is text or None
    pending: asyncio.Task[None] | None = None

    async def commit(done: _Batch) -> None:
        nonlocal stored_through
        tally = await writing.write_batch(database, done.rows, actor=actor, now=now)
        result.inserted += tally.inserted
        result.updated += tally.updated
        result.unchanged += tally.unchanged + done.duplicates
        result.duplicates += done.duplicates
        stored_through = done.last_line

    async def write(done: _Batch) -> None:
        nonlocal pending
        if pending is not None:
            await pending
        pending = asyncio.create_task(commit(done))

    try:
        try:
            async for chunk_records in records:
                for count, (line, fields) in enumerate(chunk_records, 1):
                    batch.last_line = line
                    try:
                        if isinstance(fields, str):
                            raise BadLine(fields)
                        row = make_row(fields, now=now)  # type: ignore[arg-type]
                    except BadLine as err:
                        result.reject(line, str(err))
                        continue
                    if not seen.add(row.email):
                        batch.duplicates += 1
                        continue
                    batch.rows[row.email] = row
                    if len(batch.rows) >= IMPORT_BATCH:
                        await write(batch)
                        batch = _Batch(last_line=line)
                    if count % 16 == 0:
                        # Let the batch being written take its step. Every 256 lines saved
                        # ~10 % of this process's CPU but cost 30 % of the wall time: each
                        # of the write's round trips then waited for the parse to yield.
                        await asyncio.sleep(0)
            await write(batch)
            if pending is not None:
                await pending
        finally:
            if pending is not None:
                pending.cancel()  # nothing to cancel when it has finished
                await asyncio.wait([pending])
                if not pending.cancelled():
                    pending.exception()  # retrieved: if it failed, the error raised says so
    except DatabaseUnavailable as err:  # raised by the batch's session (app.db)
        raise ImportInterrupted(result, stored_through) from err
    if result.inserted + result.updated >= ANALYZE_AFTER:
        try:
            await writing.analyze(database)
        except (SQLAlchemyError, OSError, DatabaseUnavailable) as err:
            # Every line is stored: a failed ANALYZE (only the planner's statistics,
            # autovacuum redoes it) must not turn the answer into an error.
            log.warning("ANALYZE after the import failed: %s", err)
    return result
