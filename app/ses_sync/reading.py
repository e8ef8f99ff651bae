"""Reading one region's SES list: whole or incremental, off the event loop, and filed by key.

SES's list has no change feed: ListSuppressedDestinations with StartDate gives the
entries added or updated since, never those deleted. So a pass reads incrementally
against the mirror (SES's list as last read), and whole again every FULL_READ_EVERY to
see what someone else deleted in SES.
https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_ListSuppressedDestinations.html
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app.addresses import InvalidAddress, address_key
from app.ses import suppressed
from app.ses.suppressed import Pacing, SesEntry
from app.suppression.ses_mirror_store import MirrorRow, SyncState

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client

# How stale the mirror may grow before a pass reads the list whole again: an entry
# someone deletes in SES (the console, another tool) shows up no sooner.
FULL_READ_EVERY = timedelta(hours=6)
# An incremental read starts this long before the last read did: SES's clock and ours
# differ, and an entry written while the last read paged may carry an earlier
# LastUpdateTime. An entry read twice is harmless (the plan is idempotent).
OVERLAP = timedelta(minutes=15)
# SES dates the entry bouncer's own Put made when the call lands (after throttled
# retries: up to ~47 s after bouncer's check, app.ses.suppressed.SYNC_BACKOFF) and by its
# own clock, which may run a few seconds ahead of ours. A read showing it no later than
# the call's end plus this shows that Put, not a new bounce from elsewhere.
OWN_PUT_SKEW = timedelta(seconds=30)
_KNOWN_REASONS = frozenset({"BOUNCE", "COMPLAINT"})
_MAX_EMAIL = 320  # ses_mirror's columns


def start_date(state: SyncState | None, *, now: datetime, whole: bool) -> datetime | None:
    """None for a whole read (the first, a stale mirror, or ``whole`` asked); else the
    StartDate of an incremental one."""
    if whole or state is None or state.full_read_at is None or state.watermark is None:
        return None
    if now - state.full_read_at >= FULL_READ_EVERY:
        return None
    return state.watermark - OVERLAP


async def read_list(
    client: SESV2Client,
    *,
    since: datetime | None,
    pacing: Pacing,
    on_page: Callable[[int], None] | None = None,
) -> list[SesEntry]:
    """The region's entries (those updated since ``since``, when given), read in a worker
    thread; ``on_page`` is called on the event loop after each page."""
    loop = asyncio.get_running_loop()

    def page_read(count: int) -> None:
        if on_page is not None:
            loop.call_soon_threadsafe(on_page, count)

    return await asyncio.to_thread(
        suppressed.list_suppressed, client, start_date=since, on_page=page_read, pacing=pacing
    )


def mirror_rows(
    entries: Iterable[SesEntry], pushed: Mapping[str, MirrorRow] | None = None
) -> list[MirrorRow]:
    """The entries bouncer can take (an address, BOUNCE or COMPLAINT), filed by key; the
    plan reports the others (app.suppression.ses_plan's ``invalid``). ``pushed``: the
    mirror's rows of bouncer's own Puts by exact form (``mirror_row``)."""
    rows: list[MirrorRow] = []
    for entry in entries:
        if entry.reason not in _KNOWN_REASONS or len(entry.email) > _MAX_EMAIL:
            continue
        try:
            key = address_key(entry.email)
        except InvalidAddress:
            continue
        if len(key) > _MAX_EMAIL:
            continue
        rows.append(mirror_row(entry, key, (pushed or {}).get(entry.email)))
    return rows


def mirror_row(entry: SesEntry, key: str, known: MirrorRow | None) -> MirrorRow:
    """The row for an entry SES showed: ``known`` when that is the row of bouncer's own
    Put and the entry is that Put (same reason, dated no later than the call's end plus
    OWN_PUT_SKEW), so it stays dated as of bouncer's check before the Put; otherwise the
    entry as SES dates it (a later update in SES is a new bounce)."""
    if (
        known is not None
        and known.pushed_at is not None
        and known.reason == entry.reason
        and entry.last_update <= known.pushed_at + OWN_PUT_SKEW
    ):
        return known
    return MirrorRow(entry.email, key, entry.reason, entry.last_update)


def plan_entries(
    rows: Iterable[MirrorRow], fresh: Iterable[MirrorRow], read: Iterable[SesEntry]
) -> list[SesEntry]:
    """What the plan compares: the mirror's ``rows`` (bouncer's own Puts dated as of its
    check), and the entries of ``read`` that made no row of ``fresh`` (the plan reports
    them as unreadable)."""
    taken = {row.email for row in fresh}
    return [row.entry for row in rows] + [entry for entry in read if entry.email not in taken]


def merged(mirror: Sequence[MirrorRow], read: Sequence[MirrorRow]) -> list[MirrorRow]:
    """The mirror with an incremental read laid over it (a form read again replaces it)."""
    by_email = {row.email: row for row in mirror}
    by_email.update((row.email, row) for row in read)
    return list(by_email.values())
