"""SQL for the suppression list, its change history and the per-address soft-bounce state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses import domain_of
from app.db import insert_for
from app.models import Event, RecipientState, Suppression, SuppressionChange
from app.suppression import policy

Change = Literal["added", "updated", "unchanged"]

# SQLite caps bound parameters per statement (32,766 since 3.32); stay well below.
_CHUNK = 5000


@dataclass(frozen=True)
class Entry:
    """What to write for one address; ``display`` is kept from the first time it was seen."""

    email: str
    display: str
    reason: str
    source: str
    subtype: str | None = None
    diagnostic_code: str | None = None
    ses_message_id: str | None = None
    feedback_id: str | None = None
    note: str | None = None
    expires_at: datetime | None = None

    @property
    def domain(self) -> str:
        return domain_of(self.email)


def is_active_row(row: Suppression, *, now: datetime) -> bool:
    return row.expires_at is None or row.expires_at > now


async def lock_recipient(session: AsyncSession, email: str, *, now: datetime) -> RecipientState:
    """Create or touch the address's state row and hold its lock until commit.

    Two replicas handling events for one address then take turns, so counts and
    suppression updates never interleave (PostgreSQL row lock; SQLite's
    BEGIN IMMEDIATE already serialises writers).
    """
    insert = insert_for(session)
    await session.execute(
        insert(RecipientState)
        .values(email=email, soft_bounce_count=0, updated_at=now)
        .on_conflict_do_update(index_elements=["email"], set_={"updated_at": now})
    )
    state = await session.scalar(
        select(RecipientState)
        .where(RecipientState.email == email)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert state is not None  # noqa: S101  (just upserted)
    return state


async def soft_bounce_history(
    session: AsyncSession, email: str, *, since: datetime
) -> tuple[list[datetime], list[datetime]]:
    """(soft-bounce times, delivery times) for an address since ``since``."""
    rows = await session.execute(
        select(Event.verdict, Event.occurred_at).where(
            Event.email == email,
            Event.verdict.in_(("soft_bounce", "delivery")),
            Event.occurred_at > since,
        )
    )
    bounces: list[datetime] = []
    deliveries: list[datetime] = []
    for verdict, occurred_at in rows:
        (bounces if verdict == "soft_bounce" else deliveries).append(occurred_at)
    return bounces, deliveries


async def settle_soft_bounce(
    session: AsyncSession, entry: Entry | None, email: str, *, now: datetime
) -> Change | Literal["removed"]:
    """Make an address's soft-bounce entry what its events justify now.

    ``entry`` is the suppression the soft bounces call for, or None when no run of them
    reaches the limit any more (a delivery in between arrived late). Entries for any
    other reason are never touched here.
    """
    row = await session.get(Suppression, email, with_for_update=True)
    if row is not None and row.reason != "soft_bounce" and is_active_row(row, now=now):
        return "unchanged"
    if entry is None:
        if row is None or row.source != "sns" or not is_active_row(row, now=now):
            return "unchanged"
        await remove(
            session,
            email,
            actor="sns",
            note="a delivery came between the soft bounces: the run no longer reaches the limit",
            now=now,
        )
        return "removed"
    if row is not None and is_active_row(row, now=now) and row.expires_at == entry.expires_at:
        return "unchanged"
    return await put(session, entry, actor="sns", now=now, replace_active=True)


async def get(session: AsyncSession, email: str) -> Suppression | None:
    return await session.get(Suppression, email, populate_existing=True)


async def check(
    session: AsyncSession, emails: Sequence[str], *, now: datetime
) -> dict[str, Suppression]:
    """The active entries among ``emails`` (normalised), in as few queries as SQLite allows."""
    found: dict[str, Suppression] = {}
    unique = list(dict.fromkeys(emails))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        rows = await session.scalars(
            select(Suppression).where(
                Suppression.email.in_(chunk),
                or_(Suppression.expires_at.is_(None), Suppression.expires_at > now),
            )
        )
        found.update((row.email, row) for row in rows)
    return found


async def put(
    session: AsyncSession,
    entry: Entry,
    *,
    actor: str,
    now: datetime,
    replace_active: bool,
) -> Change:
    """Add or update one entry and record the change; "added" also when an expired
    entry comes back.

    ``replace_active=False`` (events from SES) keeps an active entry as it is unless
    the new one is stronger: permanent beats expiring, a later expiry beats an
    earlier one. ``True`` (an operator) always writes what was asked.
    """
    row = await session.get(Suppression, entry.email, with_for_update=True)
    if row is None:
        session.add(
            Suppression(
                email=entry.email,
                display=entry.display,
                domain=entry.domain,
                reason=entry.reason,
                subtype=entry.subtype,
                diagnostic_code=entry.diagnostic_code,
                source=entry.source,
                ses_message_id=entry.ses_message_id,
                feedback_id=entry.feedback_id,
                note=entry.note,
                created_at=now,
                updated_at=now,
                expires_at=entry.expires_at,
            )
        )
        _log(session, entry, action="added", actor=actor, now=now)
        return "added"

    if not replace_active and is_active_row(row, now=now) and not _is_stronger(entry, row):
        return "unchanged"
    was_active = is_active_row(row, now=now)
    row.reason = entry.reason
    row.subtype = entry.subtype
    row.diagnostic_code = entry.diagnostic_code
    row.source = entry.source
    row.ses_message_id = entry.ses_message_id
    row.feedback_id = entry.feedback_id
    row.expires_at = entry.expires_at
    if entry.note is not None or replace_active:
        row.note = entry.note
    row.updated_at = now
    if not was_active:
        # An expired entry coming back is a new suppression, dated now.
        row.created_at = now
    change: Change = "updated" if was_active else "added"
    _log(session, entry, action=change, actor=actor, now=now)
    return change


def _is_stronger(entry: Entry, row: Suppression) -> bool:
    if row.expires_at is not None:
        return entry.expires_at is None or entry.expires_at > row.expires_at
    if entry.expires_at is not None:
        return False
    rank = policy.REASON_RANK
    return rank.get(entry.reason, 0) > rank.get(row.reason, 0)


def _log(session: AsyncSession, entry: Entry, *, action: str, actor: str, now: datetime) -> None:
    session.add(
        SuppressionChange(
            email=entry.email,
            action=action,
            actor=actor,
            reason=entry.reason,
            expires_at=entry.expires_at,
            note=entry.note,
            at=now,
        )
    )


async def remove(
    session: AsyncSession, email: str, *, actor: str, note: str | None, now: datetime
) -> bool:
    """Delete the entry; the removal stays in the change history. False if absent."""
    result = await session.execute(delete(Suppression).where(Suppression.email == email))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return False
    session.add(
        SuppressionChange(
            email=email, action="removed", actor=actor, reason=None, note=note, at=now
        )
    )
    return True


async def changes(session: AsyncSession, email: str) -> Sequence[SuppressionChange]:
    query = (
        select(SuppressionChange)
        .where(SuppressionChange.email == email)
        .order_by(SuppressionChange.at, SuppressionChange.id)
    )
    return (await session.scalars(query)).all()
