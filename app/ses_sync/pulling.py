"""A plan's bouncer side: SES's entries pulled in, and the note that SES holds an address
bouncer already had, a batch per short transaction (never one across an SES call)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from app.addresses import domain_of
from app.db import Database
from app.suppression import ses_notes, ses_sync_store
from app.suppression.bulk_store import NewEntry
from app.suppression.effects import ChangeLine, Current
from app.suppression.ses_plan import ToNote, ToPull
from app.vocabulary import ChangeAction, Source

# Addresses a transaction writes at most: a first pull of a large list stays a series of
# short transactions, so SNS notifications never wait long for the write lock.
BATCH = 500

# (stage, how many more) as work is done.
Advance = Callable[[str, int], None]


async def pull(
    database: Database,
    pulls: Sequence[ToPull],
    *,
    region: str,
    clock: Callable[[], datetime],
    progress: Advance,
) -> int:
    """Add SES's entries to bouncer; how many were added."""
    added = 0
    for start in range(0, len(pulls), BATCH):
        batch = pulls[start : start + BATCH]
        now = clock()
        keys = [item.email for item in batch]
        async with database.session() as session:
            current = await ses_sync_store.locked(session, keys)
            removed = await ses_sync_store.removals(session, keys)
            new, revived = pulled_entries(batch, current, removed, region=region, now=now)
            done = await ses_sync_store.add_pulled(
                session, new, revived, actor=ses_notes.sync_actor(region), now=now
            )
        added += done
        progress("pulled", done)
    return added


def pulled_entries(
    pulls: Sequence[ToPull],
    current: Mapping[str, Current],
    removed: Mapping[str, datetime],
    *,
    region: str,
    now: datetime,
) -> tuple[list[NewEntry], list[NewEntry]]:
    """(new entries, entries reviving an expired one) for the pulls, as they stand now
    (the plan was made before): an address that has an active entry (an SNS bounce came)
    is left as it is, neither side's reason overwritten, and the next pass notes it; one
    removed since SES last updated it (added and removed meanwhile) stays removed."""
    new: list[NewEntry] = []
    revived: list[NewEntry] = []
    for item in pulls:
        found = current.get(item.email)
        if found is not None and found.is_active(now):
            continue
        if (removed_at := removed.get(item.email)) is not None and item.created_at <= removed_at:
            continue
        entry = NewEntry(
            email=item.email,
            display=item.display,
            domain=domain_of(item.email),
            reason=item.reason,
            subtype=None,
            diagnostic_code=None,
            source=Source.SYNC,
            ses_message_id=None,
            feedback_id=None,
            note=ses_notes.pulled(region, item.reason.upper(), item.created_at),
            created_at=item.created_at,
            updated_at=now,
            expires_at=None,
        )
        (new if found is None else revived).append(entry)
    return new, revived


async def note(
    database: Database,
    notes: Sequence[ToNote],
    *,
    region: str,
    clock: Callable[[], datetime],
) -> int:
    """Write the notes of addresses still on the list; how many were written."""
    written = 0
    actor = ses_notes.sync_actor(region)
    for start in range(0, len(notes), BATCH):
        batch = notes[start : start + BATCH]
        now = clock()
        async with database.session() as session:
            current = await ses_sync_store.locked(session, [item.email for item in batch])
            lines = [
                ChangeLine(
                    item.email,
                    ChangeAction.NOTED,
                    actor,
                    note=ses_notes.held_too(
                        region, item.ses_emails, item.ses_reason.upper(), item.last_update
                    ),
                )
                for item in batch
                if (found := current.get(item.email)) is not None and found.is_active(now)
            ]
            await ses_sync_store.add_lines(session, lines, now=now)
        written += len(lines)
    return written
