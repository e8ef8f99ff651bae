"""SQL for SES's list as bouncer last read it (ses_mirror) and where each region's sync
stands (ses_sync_state); it writes what the sync gives it and decides nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for, table_of
from app.models import SesMirror, SesSyncState
from app.ses.suppressed import SesEntry

_MIRROR = table_of(SesMirror)
_STATE = table_of(SesSyncState)
# Rows a statement carries at most: SQLite binds at most 32,766 values a statement.
_CHUNK = 2000


class MirrorRow(NamedTuple):
    """One exact form SES holds, with the key bouncer files it under."""

    email: str
    key: str
    reason: str
    last_update: datetime
    """SES's LastUpdateTime, or for bouncer's own Put the moment it checked the address."""
    pushed_at: datetime | None = None
    """Bouncer's own Put made it: when that call ended (app.models.SesMirror)."""

    @property
    def entry(self) -> SesEntry:
        return SesEntry(self.email, self.reason, self.last_update)


@dataclass(frozen=True)
class SyncState:
    region: str
    full_read_at: datetime | None
    watermark: datetime | None
    pass_at: datetime | None
    last_error: str | None


_ROWS = select(*(_MIRROR.c[name] for name in MirrorRow._fields))


async def rows(session: AsyncSession, region: str) -> list[MirrorRow]:
    """Every form the mirror holds for ``region``."""
    result = await session.execute(_ROWS.where(_MIRROR.c.region == region))
    return [MirrorRow(*row) for row in result]


async def pushed(session: AsyncSession, region: str) -> dict[str, MirrorRow]:
    """The forms bouncer's own Puts made in ``region``, by exact form."""
    query = _ROWS.where(_MIRROR.c.region == region, _MIRROR.c.pushed_at.is_not(None))
    return {row.email: MirrorRow(*row) for row in await session.execute(query)}


async def forms(session: AsyncSession, region: str, key: str) -> list[MirrorRow]:
    """The forms the mirror holds of one address in ``region``."""
    query = _ROWS.where(_MIRROR.c.region == region, _MIRROR.c.key == key)
    return [MirrorRow(*row) for row in await session.execute(query)]


async def replace(session: AsyncSession, region: str, read: Sequence[MirrorRow]) -> None:
    """The region's mirror becomes exactly ``read`` (a whole read of SES's list)."""
    await session.execute(delete(_MIRROR).where(_MIRROR.c.region == region))
    for start in range(0, len(read), _CHUNK):
        chunk = read[start : start + _CHUNK]
        await session.execute(_MIRROR.insert(), [_values(region, row) for row in chunk])


async def merge(session: AsyncSession, region: str, read: Sequence[MirrorRow]) -> None:
    """Add or rewrite these forms (an incremental read, or entries bouncer put)."""
    if not read:
        return
    upsert = insert_for(session)(_MIRROR)
    upsert = upsert.on_conflict_do_update(
        index_elements=[_MIRROR.c.region, _MIRROR.c.email],
        set_={
            "key": upsert.excluded.key,
            "reason": upsert.excluded.reason,
            "last_update": upsert.excluded.last_update,
            "pushed_at": upsert.excluded.pushed_at,
        },
    )
    for start in range(0, len(read), _CHUNK):
        chunk = read[start : start + _CHUNK]
        await session.execute(upsert, [_values(region, row) for row in chunk])


async def forget(session: AsyncSession, region: str, emails: Sequence[str]) -> None:
    """Drop these exact forms (deleted from SES)."""
    for start in range(0, len(emails), _CHUNK):
        chunk = emails[start : start + _CHUNK]
        await session.execute(
            delete(_MIRROR).where(_MIRROR.c.region == region, _MIRROR.c.email.in_(chunk))
        )


def _values(region: str, row: MirrorRow) -> dict[str, Any]:
    return {"region": region, **row._asdict()}


async def state(session: AsyncSession, region: str) -> SyncState | None:
    row = (await session.execute(select(_STATE).where(_STATE.c.region == region))).first()
    if row is None:
        return None
    return SyncState(row.region, row.full_read_at, row.watermark, row.pass_at, row.last_error)


async def save_read(session: AsyncSession, region: str, *, started: datetime, whole: bool) -> None:
    """The mirror holds what SES held at ``started``: the next incremental read starts
    there; a whole read is also the new full_read_at."""
    values: dict[str, Any] = {"watermark": started}
    if whole:
        values["full_read_at"] = started
    await _save(session, region, values)


async def save_pass(session: AsyncSession, region: str, *, at: datetime, error: str | None) -> None:
    await _save(session, region, {"pass_at": at, "last_error": error})


async def _save(session: AsyncSession, region: str, values: dict[str, Any]) -> None:
    upsert = insert_for(session)(_STATE).values(region=region, **values)
    await session.execute(upsert.on_conflict_do_update(index_elements=["region"], set_=values))
