"""What the sync tests read back from the database: whole tables, entries and histories."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.db import Database
from app.models import Base, Suppression
from app.suppression import entries, entry_store
from app.suppression.entries import Change
from app.vocabulary import Source

# Each table the sync may write, with the columns its rows are read back in order of.
TABLES = {
    "suppression": ("email",),
    "suppression_change": ("id",),
    "ses_mirror": ("region", "email"),
    "ses_sync_state": ("region",),
    "ses_outbox": ("region", "key"),
}


async def snapshot(database: Database, *names: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of ``names`` (default: all of TABLES), in a fixed order, values as the
    models read them (aware datetimes on both databases)."""
    found = {}
    async with database.session() as session:
        for name in names or tuple(TABLES):
            table = Base.metadata.tables[name]
            query = select(table).order_by(*(table.c[column] for column in TABLES[name]))
            found[name] = [tuple(row) for row in await session.execute(query)]
    return found


async def entry(database: Database, email: str) -> Suppression | None:
    async with database.session() as session:
        return await entry_store.get(session, email)


async def history(database: Database, email: str) -> list[Change]:
    async with database.session() as session:
        return await entries.history(session, email)


async def add(
    database: Database,
    email: str,
    reason: str = "bounce",
    *,
    now: datetime,
    source: str = Source.API,
    expires_at: datetime | None = None,
) -> None:
    async with database.session() as session:
        await entries.add(
            session,
            email,
            reason=reason,
            note=None,
            expires_at=expires_at,
            actor="ops",
            source=source,
            now=now,
        )


async def remove(
    database: Database, email: str, *, now: datetime, regions: tuple[str, ...] = ()
) -> bool:
    async with database.session() as session:
        return await entries.remove(
            session, email, actor="ops", note="mailbox fixed", now=now, ses_regions=regions
        )
