"""One import batch in one transaction: each line matched against the entry it names, then
the new, the replaced and the unchanged written (or not) through app.suppression.bulk_store."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import Row

from app.db import Database
from app.suppression import bulk_store
from app.suppression.bulk_store import NewEntry
from app.suppression.effects import Current
from app.vocabulary import ChangeAction


class Tally(NamedTuple):
    inserted: int
    updated: int
    unchanged: int


async def write_batch(
    database: Database, batch: dict[str, NewEntry], *, actor: str, now: datetime
) -> Tally:
    """The batch's outcome, once committed (a failure leaves nothing of it)."""
    if not batch:
        return Tally(0, 0, 0)
    new: list[NewEntry] = []
    replaced: list[tuple[NewEntry, ChangeAction]] = []
    async with database.session() as session:
        existing = await bulk_store.lock_existing(session, list(batch))
        for email, row in batch.items():
            current = existing.get(email)
            if current is None:
                new.append(row)
            elif (action := import_change(row, current, now=now)) is not None:
                replaced.append((row, action))
        await bulk_store.replace_entries(session, replaced, actor=actor, now=now)
        await bulk_store.insert_entries(session, new, actor=actor, now=now)
    revived = sum(1 for _, action in replaced if action == ChangeAction.ADDED)
    unchanged = len(batch) - len(new) - len(replaced)
    return Tally(len(new) + revived, len(replaced) - revived, unchanged)


async def analyze(database: Database) -> None:
    """The planner's statistics refreshed after a large import (bulk_store.analyze)."""
    async with database.session() as session:
        await bulk_store.analyze(session)


def import_change(row: NewEntry, current: Row[Any], *, now: datetime) -> ChangeAction | None:
    """None when the active entry already says what the line says (so re-importing a file
    changes nothing and logs nothing); else the change the line makes: ``updated``, or
    ``added`` when the entry had expired (it comes back as a new suppression).

    An import line is an operator's write (policy.write_entry with by_operator: it writes
    what it is asked, whatever the entry's reason); the one rule of its own is that a line
    the entry already says is no change at all.
    """
    stored = Current(current.reason, current.source, current.expires_at)
    if not stored.is_active(now):
        return ChangeAction.ADDED
    return None if _content(row) == _content(current) else ChangeAction.UPDATED


# What a line says about an entry: every column but the address's forms, where the entry
# came from (an export imported back is a no-op) and the row's own dates.
_content = attrgetter(
    *(
        name
        for name in NewEntry._fields
        if name not in {"email", "display", "domain", "source", "created_at", "updated_at"}
    )
)
