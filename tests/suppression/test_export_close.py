"""An export its reader stops early (a closed pipe, a client gone) ends its read in flight
before the caller disposes of the database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from app.db import Database
from app.suppression import entries
from app.suppression.transfer import exporting

NOW = datetime(2026, 12, 6, tzinfo=UTC)


async def test_closing_early_waits_for_the_read_in_flight(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(database_url)
    try:
        async with database.session() as session:
            for n in range(5):
                await entries.add(
                    session,
                    f"u{n}@example.com",
                    reason="manual",
                    note=None,
                    expires_at=None,
                    actor="test",
                    source="api",
                    now=NOW,
                )
        monkeypatch.setattr(exporting, "EXPORT_BATCH", 2)
        read = exporting._batch_after
        finished: list[str] = []

        async def slow_read(db: Database, after: str, *, now: datetime) -> Sequence[Sequence[Any]]:
            rows = await read(db, after, now=now)
            if after:  # a read ahead, not the first
                await asyncio.sleep(0.2)
                finished.append(after)
            return rows

        monkeypatch.setattr(exporting, "_batch_after", slow_read)
        chunks = await exporting.export(database, "csv", now=NOW)
        first = await anext(chunks)
        assert first.count("\n") == 3  # the header and the first batch
        await chunks.aclose()  # the reader goes away with the next batch being read
        # Cut off, that read would still be running while the database is disposed.
        assert finished == ["u1@example.com"]
    finally:
        await database.dispose()
