"""The active entries out as CSV or NDJSON, in keyset batches.

Each batch is read on a short session of its own, so memory stays flat at millions of
rows and no transaction spans the download.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from datetime import datetime
from typing import Any

from app.db import Database
from app.suppression import bulk_store
from app.suppression.transfer.columns import COLUMNS, Format
from app.suppression.transfer.csv_out import csv_text
from app.suppression.transfer.ndjson_format import ndjson_text

EXPORT_BATCH = 5000

Progress = Callable[[int], None]


async def export(
    database: Database, fmt: Format, *, now: datetime, progress: Progress | None = None
) -> AsyncGenerator[str, None]:
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
) -> AsyncGenerator[str, None]:
    header = csv_text([COLUMNS]) if fmt == "csv" else ""
    following: asyncio.Task[Sequence[Sequence[Any]]] | None = None
    try:
        while True:
            following = None
            if len(rows) == EXPORT_BATCH:
                # The next batch is read while this one is formatted and sent. If the reader
                # stops early, the read still ends on its own; its outcome is dropped.
                following = asyncio.create_task(_batch_after(database, rows[-1][0], now=now))
                following.add_done_callback(_drop_outcome)
            text = csv_text(rows) if fmt == "csv" else ndjson_text(rows)
            if progress is not None:
                progress(len(rows))
            yield header + text
            header = ""
            if following is None:
                return
            rows = await following
    finally:
        if following is not None and not following.done():
            # The reader stopped early (a closed pipe, a client gone). The read in flight
            # ends before the caller disposes of the database: cut off, asyncpg would be
            # left a cancel request to send on an event loop about to close.
            await asyncio.wait([following])


def _drop_outcome(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it; an awaiting reader sees it


async def _batch_after(database: Database, after: str, *, now: datetime) -> Sequence[Sequence[Any]]:
    async with database.session() as session:
        return await bulk_store.active_page(
            session, COLUMNS, after=after, now=now, size=EXPORT_BATCH
        )
