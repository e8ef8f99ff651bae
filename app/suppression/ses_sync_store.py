"""SQL for bouncer's side of the SES list sync: the entries a plan compares, the removals
it remembers, and the pulled entries and notes it writes (app.ses_sync decides which)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.suppression import bulk_store, tables
from app.suppression.bulk_store import NewEntry
from app.suppression.effects import ChangeLine, Current
from app.suppression.entry_rows import change_values
from app.suppression.ses_plan import Held
from app.vocabulary import ChangeAction, Reason

_SUPPRESSION = tables.SUPPRESSION
_CHANGE = tables.CHANGE
_ACTIVE = or_(_SUPPRESSION.c.expires_at.is_(None), _SUPPRESSION.c.expires_at > bindparam("now"))
# The reasons SES's list knows: every active entry with one of them is compared (it may
# be pushed, or be missing in SES); others only where SES holds the address.
SES_REASONS = (Reason.BOUNCE, Reason.COMPLAINT)
# Addresses a statement names at most: SQLite binds at most 32,766 values a statement.
_CHUNK = 2000


def _chunks(keys: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


async def held(
    session: AsyncSession, *, ses_keys: Collection[str], actor: str, now: datetime
) -> dict[str, Held]:
    """bouncer's active entries a plan compares with SES's ``ses_keys``: every bounce and
    complaint, and whatever else SES holds too; ``noted`` when the entry's history already
    has a line by ``actor`` (the sync in this region) since the entry was last added."""
    pushable = _ACTIVE_ENTRIES.where(_SUPPRESSION.c.reason.in_(SES_REASONS))
    found = _held(await session.execute(pushable, {"now": now}))
    found.update(await active(session, [key for key in ses_keys if key not in found], now=now))
    noted = await _noted(session, [key for key in ses_keys if key in found], actor=actor)
    return {email: replace(one, noted=email in noted) for email, one in found.items()}


_ACTIVE_ENTRIES = select(
    _SUPPRESSION.c.email, _SUPPRESSION.c.reason, _SUPPRESSION.c.expires_at.is_not(None)
).where(_ACTIVE)


def _held(rows: Iterable[Any]) -> dict[str, Held]:
    """(email, reason, has an expiry) rows, as Held by email."""
    return {email: Held(Reason(reason), expiring=expiring) for email, reason, expiring in rows}


async def active(session: AsyncSession, keys: Collection[str], *, now: datetime) -> dict[str, Held]:
    """The entry of each of ``keys`` that has an active one (``noted`` left False)."""
    found: dict[str, Held] = {}
    for chunk in _chunks(keys):
        query = _ACTIVE_ENTRIES.where(_SUPPRESSION.c.email.in_(chunk))
        found.update(_held(await session.execute(query, {"now": now})))
    return found


async def _noted(session: AsyncSession, keys: Collection[str], *, actor: str) -> set[str]:
    noted: set[str] = set()
    lines = _CHANGE.c
    for chunk in _chunks(keys):
        added = (
            select(lines.email, func.max(lines.at).label("since"))
            .where(lines.action == ChangeAction.ADDED, lines.email.in_(chunk))
            .group_by(lines.email)
            .subquery()
        )
        query = (
            select(lines.email)
            .distinct()
            .select_from(_CHANGE.outerjoin(added, added.c.email == lines.email))
            .where(
                lines.email.in_(chunk),
                lines.actor == actor,
                lines.action.in_((ChangeAction.ADDED, ChangeAction.NOTED)),
                or_(added.c.since.is_(None), lines.at >= added.c.since),
            )
        )
        noted.update(await session.scalars(query))
    return noted


async def removals(session: AsyncSession, keys: Collection[str]) -> dict[str, datetime]:
    """When each of ``keys`` (addresses with no active entry) was last removed."""
    found: dict[str, datetime] = {}
    lines = _CHANGE.c
    for chunk in _chunks(keys):
        query = (
            select(lines.email, func.max(lines.at))
            .where(lines.action == ChangeAction.REMOVED, lines.email.in_(chunk))
            .group_by(lines.email)
        )
        found.update(dict((await session.execute(query)).all()))
    return found


async def removed_since(
    session: AsyncSession, key: str, since: datetime, *, now: datetime
) -> datetime | None:
    """When ``key`` was last removed, if that was at or after ``since`` and it has no
    active entry ``now``; else None."""
    if await active(session, [key], now=now):
        return None
    removed_at = (await removals(session, [key])).get(key)
    return removed_at if removed_at is not None and removed_at >= since else None


async def locked(session: AsyncSession, keys: Sequence[str]) -> dict[str, Current]:
    """The entries of ``keys`` that exist (active or expired), locked until commit."""
    rows = await bulk_store.lock_existing(session, list(keys))
    return {key: Current(row.reason, row.source, row.expires_at) for key, row in rows.items()}


async def add_pulled(
    session: AsyncSession,
    new: Sequence[NewEntry],
    revived: Sequence[NewEntry],
    *,
    actor: str,
    now: datetime,
) -> int:
    """Insert ``new`` entries (addresses with none) and overwrite ``revived`` ones (whose
    entry had expired), each with its "added" line; created_at as each NewEntry says.
    How many were added: a new address that got an entry meanwhile keeps it."""
    await bulk_store.replace_entries(
        session, [(entry, ChangeAction.ADDED) for entry in revived], actor=actor, now=now
    )
    if revived:
        # replace_entries dates a revived entry now; a pulled one is SES's LastUpdateTime.
        params: list[dict[str, Any]] = [
            {"key": entry.email, "created": entry.created_at} for entry in revived
        ]
        await session.execute(_REDATE, params)
    if not new:
        return len(revived)
    # A new address has no row to lock: on PostgreSQL an SNS bounce for it may commit
    # between the batch's lock and this insert (SES lists an address as it notifies SNS),
    # so a conflict is skipped, not fatal to the batch. SQLite's writer holds the database
    # since BEGIN IMMEDIATE: there, none comes.
    upsert = insert_for(session)(_SUPPRESSION).on_conflict_do_nothing(index_elements=["email"])
    result = await session.execute(
        upsert.returning(_SUPPRESSION.c.email), [entry._asdict() for entry in new]
    )
    inserted = set(result.scalars())
    lines = [
        ChangeLine(entry.email, ChangeAction.ADDED, actor, reason=entry.reason, note=entry.note)
        for entry in new
        if entry.email in inserted
    ]
    await add_lines(session, lines, now=now)
    return len(revived) + len(lines)


_REDATE = (
    update(_SUPPRESSION)
    .where(_SUPPRESSION.c.email == bindparam("key"))
    .values(created_at=bindparam("created", type_=_SUPPRESSION.c.created_at.type))
)


async def add_lines(session: AsyncSession, lines: Sequence[ChangeLine], *, now: datetime) -> None:
    """History lines as given (``noted`` ones change no entry)."""
    if lines:
        await session.execute(insert(_CHANGE), [change_values(line, now=now) for line in lines])
