"""The suppression list as ops see it: look up, check, add and remove entries
(app.suppression.listing pages through them).

The API, the CLI and the console all call these, so each rule lives once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import event_log as event_history
from app.addresses import InvalidAddress, address_key, parse_address, plain_keys
from app.errors import InvalidInput
from app.models import Event, Suppression, SuppressionChange
from app.suppression import entry_store, policy, ses_outbox_store
from app.vocabulary import ChangeAction

MAX_CHECK = 10_000


@dataclass(frozen=True)
class Change:
    """One change to an address's entry, as the history shows it."""

    action: str  # added | updated | removed | noted
    actor: str  # sns, a token's name, import, cli, sync:<region>
    reason: str | None
    expires_at: datetime | None
    note: str | None
    at: datetime
    # The change log keeps no source of its own: known for the change that made the
    # current entry what it is (the entry's source), None for the others.
    source: str | None


@dataclass(frozen=True)
class EntryDetail:
    email: str  # normalised
    entry: Suppression | None  # the active entry, None when the address is not suppressed
    events: Sequence[Event]
    changes: Sequence[Change]


def parse_email(raw: str, *, field: str = "email") -> tuple[str, str]:
    """(normalised, display) or InvalidInput naming the field."""
    try:
        address = parse_address(raw)
    except InvalidAddress as err:
        raise InvalidInput(str(err), field=field) from err
    return address.normalized, address.display


async def lookup(session: AsyncSession, raw: str, *, now: datetime) -> EntryDetail:
    """The address's active entry with its events (entry None when it is not suppressed),
    and its whole change history either way.

    SPEC §4 Edges: a removed entry stays explainable, so the history comes with the answer
    "not suppressed" too.
    """
    email, _ = parse_email(raw)
    row = await entry_store.get(session, email)
    changes = _with_sources(await entry_store.changes(session, email), row)
    if row is None or not entry_store.is_active_row(row, now=now):
        return EntryDetail(email, None, (), changes)
    return EntryDetail(email, row, await event_history.for_email(session, email), changes)


async def history(session: AsyncSession, email: str) -> list[Change]:
    """Every change to an address's entry, oldest first, removals included; [] for an
    address never on the list. ``email`` in any form (InvalidInput when it is none)."""
    key, _ = parse_email(email)
    entry = await entry_store.get(session, key)
    return _with_sources(await entry_store.changes(session, key), entry)


_NOT_WRITES = (ChangeAction.NOTED, ChangeAction.EXPIRED)


def _with_sources(rows: Sequence[SuppressionChange], entry: Suppression | None) -> list[Change]:
    changes = [
        Change(row.action, row.actor, row.reason, row.expires_at, row.note, row.at, None)
        for row in rows
    ]
    # Every write to an entry logs a change, so while the entry exists its source is
    # the one its last added/updated change wrote ("noted" and "expired" lines write
    # nothing to the entry).
    writes = [i for i, change in enumerate(changes) if change.action not in _NOT_WRITES]
    if entry is not None and writes and changes[writes[-1]].action != ChangeAction.REMOVED:
        last = changes[writes[-1]]
        changes[writes[-1]] = Change(
            last.action, last.actor, last.reason, last.expires_at, last.note, last.at, entry.source
        )
    return changes


@dataclass(frozen=True)
class Invalid:
    email: str  # as given
    error: str


@dataclass(frozen=True)
class CheckResult:
    suppressed: dict[str, str]  # {address as given: reason}
    allowed: list[str]  # as given
    invalid: list[Invalid]


async def check_each(session: AsyncSession, raws: Sequence[str], *, now: datetime) -> CheckResult:
    """Every valid address answered, every invalid one listed with what is wrong with it.

    SPEC §4 Edges: one malformed address in a bulk check must not hide the answer for
    the other 9,999.
    """
    if len(raws) > MAX_CHECK:
        raise InvalidInput(
            f"at most {MAX_CHECK} addresses per call; split the list", field="emails"
        )
    given: Sequence[str] = raws
    invalid: list[Invalid] = []
    keys = plain_keys(raws)
    if keys is None:
        given, keys = [], []
        for raw in raws:
            try:
                keys.append(address_key(raw))
                given.append(raw)
            except InvalidAddress as err:
                invalid.append(Invalid(raw, str(err)))
    found = await entry_store.check(session, keys, now=now)
    suppressed = {raw: found[key] for raw, key in zip(given, keys, strict=True) if key in found}
    allowed = [raw for raw, key in zip(given, keys, strict=True) if key not in found]
    return CheckResult(suppressed, allowed, invalid)


async def count_by_reason(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Active entries by reason, those with none left out (the overview, the /metrics gauges).

    One statement of counts: for each reason, the entries that never expire and those
    that expire after ``now``, each a range of ix_suppression_reason_expires_at read
    without the table. Grouping the active rows instead read every one of them (issue #18).
    """

    def counted(*conditions: ColumnElement[bool]) -> ScalarSelect[int]:
        return select(func.count()).select_from(Suppression).where(*conditions).scalar_subquery()

    row = (
        await session.execute(
            select(
                *(
                    counted(Suppression.reason == reason, Suppression.expires_at.is_(None))
                    + counted(Suppression.reason == reason, Suppression.expires_at > now)
                    for reason in policy.REASONS
                )
            )
        )
    ).one()
    return {reason: int(n) for reason, n in zip(policy.REASONS, row, strict=True) if n}


def entry_problem(
    reason: str, expires_at: datetime | None, *, now: datetime
) -> tuple[str, str] | None:
    """(field, what is wrong) with an entry an operator or a file asks for, or None."""
    if reason not in policy.REASONS:
        return "reason", f"unknown reason {reason!r}: use one of {', '.join(policy.REASONS)}"
    if expires_at is not None and expires_at <= now:
        return "expires_at", "expires_at is in the past"
    return None


async def add(
    session: AsyncSession,
    raw: str,
    *,
    reason: str,
    note: str | None,
    expires_at: datetime | None,
    actor: str,
    source: str,
    now: datetime,
) -> tuple[Suppression, bool]:
    """Add or update an entry as an operator asked; True when it is new (or was expired)."""
    email, display = parse_email(raw)
    if problem := entry_problem(reason, expires_at, now=now):
        field, message = problem
        raise InvalidInput(message, field=field)
    entry = policy.Entry(
        email=email,
        display=display,
        reason=reason,
        source=source,
        note=note,
        expires_at=expires_at,
    )
    change = await entry_store.put(session, entry, actor=actor, now=now, replace_active=True)
    await session.flush()
    row = await entry_store.get(session, email)
    assert row is not None  # noqa: S101  (just written)
    return row, change == "added"


async def remove(
    session: AsyncSession,
    raw: str,
    *,
    actor: str,
    note: str | None,
    now: datetime,
    ses_regions: Sequence[str] = (),
) -> bool:
    """Remove the address's entry; False when it had none. With ``ses_regions``
    (SES_SYNC=both), the removal also waits in the outbox to be deleted from each
    region's SES list, written in this same transaction (SPEC §7)."""
    email, _ = parse_email(raw)
    removed = await entry_store.remove(session, email, actor=actor, note=note, now=now)
    if removed:
        await ses_outbox_store.enqueue(session, email, regions=ses_regions, removed_at=now)
    return removed
