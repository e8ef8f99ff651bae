"""SQL for the suppression list, its change history and the per-address soft-bounce state."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Row, bindparam, delete, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses import domain_of
from app.db import dialect_insert, table_of
from app.errors import Unavailable
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


class HasExpiry(Protocol):
    @property
    def expires_at(self) -> datetime | None: ...


def is_active_row(row: HasExpiry, *, now: datetime) -> bool:
    return row.expires_at is None or row.expires_at > now


# The hot path (every SNS notification, every send) runs Core statements on the tables,
# built once, with values as parameters: the ORM's unit of work, identity map and
# per-call statement building cost more than the SQL itself (bench/README.md).
_SUPPRESSION = table_of(Suppression)
_STATE = table_of(RecipientState)
_CHANGE = table_of(SuppressionChange)

_CURRENT = (
    select(_SUPPRESSION.c.reason, _SUPPRESSION.c.source, _SUPPRESSION.c.expires_at)
    .where(_SUPPRESSION.c.email == bindparam("email"))
    .with_for_update()
)
_LOG = insert(_CHANGE)
_SAVE_STATE = (
    update(_STATE)
    .where(_STATE.c.email == bindparam("key"))
    .values(
        soft_bounce_count=bindparam("count"),
        last_soft_bounce_at=bindparam("last"),
        soft_reset_at=bindparam("reset"),
    )
)


@functools.cache
def _lock_statement(dialect: str) -> Any:
    upsert = dialect_insert(dialect)(_STATE)
    return upsert.on_conflict_do_update(
        index_elements=["email"], set_={"updated_at": upsert.excluded.updated_at}
    )


async def lock_recipient(session: AsyncSession, email: str, *, now: datetime) -> None:
    """Create or touch the address's state row and hold its lock until commit.

    Two replicas handling events for one address then take turns, so counts and
    suppression updates never interleave. On PostgreSQL, INSERT … ON CONFLICT DO UPDATE
    locks the row it updates (or inserts) until commit, so no SELECT … FOR UPDATE is
    needed; SQLite's BEGIN IMMEDIATE already serialises writers.
    """
    statement = _lock_statement(session.get_bind().dialect.name)
    await session.execute(statement, {"email": email, "soft_bounce_count": 0, "updated_at": now})


async def save_soft_bounce_state(
    session: AsyncSession,
    email: str,
    *,
    count: int,
    last_soft_bounce_at: datetime | None,
    soft_reset_at: datetime | None,
) -> None:
    """Store the address's soft-bounce count (its row is locked by lock_recipient)."""
    await session.execute(
        _SAVE_STATE,
        {"key": email, "count": count, "last": last_soft_bounce_at, "reset": soft_reset_at},
    )


async def soft_bounce_history(
    session: AsyncSession, email: str, *, since: datetime
) -> tuple[list[datetime], list[datetime]]:
    """(soft-bounce times, delivery times) for an address since ``since``."""
    rows = await session.execute(
        _HISTORY, {"email": email, "verdicts": ["soft_bounce", "delivery"], "since": since}
    )
    bounces: list[datetime] = []
    deliveries: list[datetime] = []
    for verdict, occurred_at in rows:
        (bounces if verdict == "soft_bounce" else deliveries).append(occurred_at)
    return bounces, deliveries


_EVENT = table_of(Event)
_HISTORY = select(_EVENT.c.verdict, _EVENT.c.occurred_at).where(
    _EVENT.c.email == bindparam("email"),
    _EVENT.c.verdict.in_(bindparam("verdicts", expanding=True)),
    _EVENT.c.occurred_at > bindparam("since"),
)


async def settle_soft_bounce(
    session: AsyncSession, entry: Entry | None, email: str, *, now: datetime
) -> Change | Literal["removed"]:
    """Make an address's soft-bounce entry what its events justify now.

    ``entry`` is the suppression the soft bounces call for, or None when no run of them
    reaches the limit any more (a delivery in between arrived late). Entries for any
    other reason are never touched here.
    """
    for _ in range(_ATTEMPTS):
        row = await _current(session, email)
        if row is not None and row.reason != "soft_bounce" and is_active_row(row, now=now):
            return "unchanged"
        if entry is None:
            if row is None or row.source != "sns" or not is_active_row(row, now=now):
                return "unchanged"
            await remove(
                session,
                email,
                actor="sns",
                note=_RUN_BROKEN,
                now=now,
            )
            return "removed"
        if row is not None and is_active_row(row, now=now) and row.expires_at == entry.expires_at:
            return "unchanged"
        if row is not None:
            return await _update(session, entry, row, actor="sns", now=now, replace_active=True)
        if await _insert(session, entry, actor="sns", now=now):
            return "added"
        # Another writer added this address first and committed: decide again on its row.
    raise _contended(email)


async def get(session: AsyncSession, email: str) -> Suppression | None:
    return await session.get(Suppression, email, populate_existing=True)


_CHECK = select(_SUPPRESSION.c.email, _SUPPRESSION.c.reason).where(
    _SUPPRESSION.c.email.in_(bindparam("emails", expanding=True)),
    or_(_SUPPRESSION.c.expires_at.is_(None), _SUPPRESSION.c.expires_at > bindparam("now")),
)


async def check(session: AsyncSession, emails: Sequence[str], *, now: datetime) -> dict[str, str]:
    """{address: reason} for the active entries among ``emails`` (normalised).

    Only the two columns the send path needs, in as few queries as SQLite allows.
    """
    found: dict[str, str] = {}
    unique = list(dict.fromkeys(emails))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        rows = await session.execute(_CHECK, {"emails": chunk, "now": now})
        found.update((email, reason) for email, reason in rows)
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
    for _ in range(_ATTEMPTS):
        # Insert first: in a bounce storm most addresses are new, and the conflict-
        # tolerant INSERT makes two writers adding one address take turns (the second
        # waits for the first to commit, then updates its row) instead of one failing.
        if await _insert(session, entry, actor=actor, now=now):
            return "added"
        row = await _current(session, entry.email)
        if row is not None:
            return await _update(
                session, entry, row, actor=actor, now=now, replace_active=replace_active
            )
        # Removed between the two statements: try again.
    raise _contended(entry.email)


_RUN_BROKEN = "a delivery came between the soft bounces: the run no longer reaches the limit"
# Rounds of insert-or-update before giving up on an address other writers keep changing.
_ATTEMPTS = 3


def _contended(email: str) -> Unavailable:
    return Unavailable(
        f"the suppression entry for {email} kept changing under concurrent writers; "
        "nothing was stored; retry"
    )


async def _current(session: AsyncSession, email: str) -> Row[Any, Any, Any] | None:
    """The address's entry (reason, source, expires_at), locked until commit."""
    return (await session.execute(_CURRENT, {"email": email})).first()


# The columns an entry and its change row are written with, in table order.
ENTRY_COLUMNS = tuple(_SUPPRESSION.c.keys())
LOG_COLUMNS = tuple(column.name for column in _CHANGE.c if column.name != "id")


@functools.cache
def _add_statement(dialect: str) -> Any:
    """INSERT the entry unless the address has one; on PostgreSQL with its change logged.

    Values are bound as ``v_<column>`` (and ``actor``). On PostgreSQL one statement does
    both writes, a round trip fewer for every new address in a bounce storm: the change
    row is selected from what the data-modifying CTE returned, so it exists exactly when
    the entry was inserted, and the statement's rowcount says which. SQLite has no
    INSERT in a CTE; there _insert logs the change itself.
    """
    columns = _SUPPRESSION.c
    values = {name: bindparam(f"v_{name}", type_=columns[name].type) for name in ENTRY_COLUMNS}
    add = dialect_insert(dialect)(_SUPPRESSION).values(values)
    add = add.on_conflict_do_nothing(index_elements=["email"])
    if dialect != "postgresql":
        return add
    returned = (columns.email, columns.reason, columns.expires_at, columns.note, columns.created_at)
    added = add.returning(*returned).cte("added")
    logged = select(
        added.c.email,
        literal("added"),
        bindparam("actor", type_=_CHANGE.c.actor.type),
        added.c.reason,
        added.c.expires_at,
        added.c.note,
        added.c.created_at,
    )
    return insert(_CHANGE).from_select(LOG_COLUMNS, logged)


async def _insert(session: AsyncSession, entry: Entry, *, actor: str, now: datetime) -> bool:
    """Add the entry if the address has none; False (nothing written) if it has one."""
    dialect = session.get_bind().dialect.name
    result = await session.execute(
        _add_statement(dialect),
        {
            "v_email": entry.email,
            "v_display": entry.display,
            "v_domain": entry.domain,
            "v_reason": entry.reason,
            "v_subtype": entry.subtype,
            "v_diagnostic_code": entry.diagnostic_code,
            "v_source": entry.source,
            "v_ses_message_id": entry.ses_message_id,
            "v_feedback_id": entry.feedback_id,
            "v_note": entry.note,
            "v_created_at": now,
            "v_updated_at": now,
            "v_expires_at": entry.expires_at,
            "actor": actor,
        },
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if dialect != "postgresql":
        await _log(session, entry, action="added", actor=actor, now=now)
    return True


async def _update(
    session: AsyncSession,
    entry: Entry,
    row: Row[Any, Any, Any],
    *,
    actor: str,
    now: datetime,
    replace_active: bool,
) -> Change:
    """Update the address's existing (locked) entry as ``put`` describes."""
    if not replace_active and is_active_row(row, now=now) and not _is_stronger(entry, row):
        return "unchanged"
    was_active = is_active_row(row, now=now)
    values: dict[str, Any] = {
        "reason": entry.reason,
        "subtype": entry.subtype,
        "diagnostic_code": entry.diagnostic_code,
        "source": entry.source,
        "ses_message_id": entry.ses_message_id,
        "feedback_id": entry.feedback_id,
        "expires_at": entry.expires_at,
        "updated_at": now,
    }
    if entry.note is not None or replace_active:
        values["note"] = entry.note
    if not was_active:
        # An expired entry coming back is a new suppression, dated now.
        values["created_at"] = now
    await session.execute(
        update(_SUPPRESSION).where(_SUPPRESSION.c.email == entry.email).values(values)
    )
    change: Change = "updated" if was_active else "added"
    await _log(session, entry, action=change, actor=actor, now=now)
    return change


def _is_stronger(entry: Entry, row: Row[Any, Any, Any]) -> bool:
    if row.expires_at is not None:
        return entry.expires_at is None or bool(entry.expires_at > row.expires_at)
    if entry.expires_at is not None:
        return False
    rank = policy.REASON_RANK
    return rank.get(entry.reason, 0) > rank.get(row.reason, 0)


async def _log(
    session: AsyncSession, entry: Entry, *, action: str, actor: str, now: datetime
) -> None:
    await session.execute(
        _LOG,
        {
            "email": entry.email,
            "action": action,
            "actor": actor,
            "reason": entry.reason,
            "expires_at": entry.expires_at,
            "note": entry.note,
            "at": now,
        },
    )


async def remove(
    session: AsyncSession, email: str, *, actor: str, note: str | None, now: datetime
) -> bool:
    """Delete the entry; the removal stays in the change history. False if absent."""
    result = await session.execute(delete(Suppression).where(Suppression.email == email))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return False
    await session.execute(
        _LOG,
        {
            "email": email,
            "action": "removed",
            "actor": actor,
            "reason": None,
            "expires_at": None,
            "note": note,
            "at": now,
        },
    )
    return True


async def changes(session: AsyncSession, email: str) -> Sequence[SuppressionChange]:
    query = (
        select(SuppressionChange)
        .where(SuppressionChange.email == email)
        .order_by(SuppressionChange.at, SuppressionChange.id)
    )
    return (await session.scalars(query)).all()
