"""SQL for the removals waiting to be deleted from SES's lists (ses_outbox, SPEC §7).

A removal in bouncer writes its rows in the removal's own transaction (``enqueue``), so
the two commit or roll back together; the sync pass deletes the address from SES and
then drops the row (``done``), or counts the failure and keeps it (``failed``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for, storable, table_of
from app.models import SesOutbox
from app.settings import region_problem

log = logging.getLogger("bouncer.ses_sync")

_OUTBOX = table_of(SesOutbox)
_CHUNK = 2000


@dataclass(frozen=True)
class Waiting:
    """One address waiting to be deleted from one region's list."""

    key: str
    removed_at: datetime
    attempts: int
    last_error: str | None


async def enqueue(
    session: AsyncSession, key: str, *, regions: Sequence[str], removed_at: datetime
) -> None:
    """One row per region; removed again before the pass came, the later removal counts
    (SES entries updated after it are a new bounce, left alone).

    A region no SES list can have (settings built past their validation) is left out and
    logged: the removal itself must never fail for it."""
    usable = []
    for region in dict.fromkeys(regions):
        if (problem := region_problem(region)) is None:
            usable.append(region)
        else:
            log.warning("SES sync: %s; the removal of %s is not queued for it", problem, key)
    if not usable:
        return
    upsert = insert_for(session)(_OUTBOX)
    upsert = upsert.on_conflict_do_update(
        index_elements=[_OUTBOX.c.region, _OUTBOX.c.key],
        set_={"created_at": upsert.excluded.created_at},
    )
    rows = [
        {"region": region, "key": key, "created_at": removed_at, "attempts": 0} for region in usable
    ]
    await session.execute(upsert, rows)


async def waiting(session: AsyncSession, region: str) -> dict[str, Waiting]:
    """The region's rows by key."""
    query = select(_OUTBOX).where(_OUTBOX.c.region == region)
    return {
        row.key: Waiting(row.key, row.created_at, row.attempts, row.last_error)
        for row in await session.execute(query)
    }


async def for_key(session: AsyncSession, key: str) -> dict[str, Waiting]:
    """One address's rows, by region."""
    query = select(_OUTBOX).where(_OUTBOX.c.key == key)
    return {
        row.region: Waiting(row.key, row.created_at, row.attempts, row.last_error)
        for row in await session.execute(query)
    }


async def failed(
    session: AsyncSession, region: str, key: str, *, removed_at: datetime, error: str
) -> None:
    """Count a failed delete; the row stays (or is written, for a remembered removal that
    had none) for the next pass."""
    upsert = insert_for(session)(_OUTBOX).values(
        region=region, key=key, created_at=removed_at, attempts=1, last_error=storable(error)
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=[_OUTBOX.c.region, _OUTBOX.c.key],
        set_={"attempts": _OUTBOX.c.attempts + 1, "last_error": upsert.excluded.last_error},
    )
    await session.execute(upsert)


async def done(session: AsyncSession, region: str, keys: Sequence[str]) -> None:
    """Drop these rows: nothing is left to delete for them."""
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        await session.execute(
            delete(_OUTBOX).where(_OUTBOX.c.region == region, _OUTBOX.c.key.in_(chunk))
        )


async def count(session: AsyncSession, region: str | None = None) -> int:
    """Rows waiting (in one region, or in all)."""
    query = select(func.count()).select_from(_OUTBOX)
    if region is not None:
        query = query.where(_OUTBOX.c.region == region)
    return int(await session.scalar(query) or 0)
