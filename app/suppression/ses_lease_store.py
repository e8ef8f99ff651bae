"""SQL for the sync pass's lease (ses_sync_lease): whose pass runs, renewed while it does.

PostgreSQL's only (SQLite's pass lock is a file lock, held by its process). Times are the
database's (``now()``), so replicas whose clocks differ agree on whether a lease is
fresh. It writes what app.ses_sync.lock gives it and decides nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for, table_of
from app.models import SesSyncLease

_LEASE = table_of(SesSyncLease)
_NAME = "pass"  # one lease: one pass at a time over every region


async def take(session: AsyncSession, holder: str, *, fresh_for: timedelta) -> str | None:
    """Take the lease for ``holder``, unless another holder renewed it within
    ``fresh_for``: then that holder, and nothing is written."""
    query = select(_LEASE.c.holder, _LEASE.c.renewed_at > func.now() - fresh_for).where(
        _LEASE.c.name == _NAME
    )
    row = (await session.execute(query.with_for_update())).first()
    if row is not None and row[0] != holder and row[1]:
        return str(row[0])
    upsert = insert_for(session)(_LEASE).values(name=_NAME, holder=holder, renewed_at=func.now())
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[_LEASE.c.name], set_={"holder": holder, "renewed_at": func.now()}
        )
    )
    return None


async def renew(session: AsyncSession, holder: str) -> bool:
    """Renew ``holder``'s lease; False when it no longer holds it."""
    result = await session.execute(
        update(_LEASE)
        .where(_LEASE.c.name == _NAME, _LEASE.c.holder == holder)
        .values(renewed_at=func.now())
    )
    return bool(getattr(result, "rowcount", 0))


async def drop(session: AsyncSession, holder: str) -> None:
    await session.execute(delete(_LEASE).where(_LEASE.c.name == _NAME, _LEASE.c.holder == holder))
