"""The values policy decides with: an address's state, and the one write it calls for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.addresses import domain_of
from app.vocabulary import ChangeAction, Verdict


@dataclass(frozen=True, slots=True)
class Entry:
    """An address's entry as a write leaves it; ``display`` is kept from the first time."""

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


@dataclass(frozen=True, slots=True)
class Current:
    """The address's entry as stored, active or expired: what the decisions look at."""

    reason: str
    source: str
    expires_at: datetime | None

    def is_active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True)
class State:
    """What is known of an address before an event: its entry, and for a verdict that
    counts (COUNTED) its soft-bounce and delivery times since Rules.horizon."""

    entry: Current | None = None
    soft_bounces: tuple[datetime, ...] = ()
    deliveries: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class ChangeLine:
    """One line of the address's change history."""

    email: str
    action: ChangeAction
    actor: str
    reason: str | None = None
    expires_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Insert:
    """Add the entry; the address had none (a conflicting writer makes it decide again)."""

    entry: Entry
    line: ChangeLine


@dataclass(frozen=True, slots=True)
class Update:
    """Overwrite the address's entry with ``entry``, except the note when ``keep_note``;
    ``redate`` sets created_at to now (an expired entry coming back is a new one)."""

    entry: Entry
    line: ChangeLine
    redate: bool
    keep_note: bool


@dataclass(frozen=True, slots=True)
class Lift:
    """Remove the address's entry; the removal stays in its history."""

    line: ChangeLine


Write = Insert | Update | Lift
EntryOutcome = Literal["added", "updated", "removed", "unchanged"]


def change_of(write: Write | None) -> EntryOutcome:
    """What the write does to the list, as callers report it."""
    if write is None:
        return "unchanged"
    return _CHANGES[write.line.action]


_CHANGES: dict[ChangeAction, EntryOutcome] = {
    ChangeAction.ADDED: "added",
    ChangeAction.UPDATED: "updated",
    ChangeAction.REMOVED: "removed",
}


@dataclass(frozen=True, slots=True)
class SoftBounceCount:
    """The address's soft-bounce state to save (recipient_state)."""

    count: int
    last_soft_bounce_at: datetime | None
    soft_reset_at: datetime | None


@dataclass(frozen=True, slots=True)
class Effects:
    """What one SES event does to one recipient."""

    verdict: Verdict
    write: Write | None = None
    soft_bounces: SoftBounceCount | None = None

    @property
    def log(self) -> tuple[ChangeLine, ...]:
        return () if self.write is None else (self.write.line,)
