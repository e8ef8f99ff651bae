"""bouncer's list against SES's account-level list, for one region: two sets in, a plan out.

Pure (SPEC §7): no database, no SES call. The sync pass reads bouncer's side (its store)
and SES's (app.ses.suppressed.list_suppressed), calls ``reconcile``, and carries out the
plan: ``pull`` and ``note`` in bouncer, ``put`` and ``delete`` in SES (through the
outbox). What it must record for the next plan to come out empty (the fixpoint that
tests/ses_sync/test_plan.py checks):

- a pulled entry, and a pushed one, counts as noted (``Held.noted``): its history already
  says SES holds it;
- a pulled entry ends the address's remembered removal (removals are passed only for
  addresses with no active entry).

Addresses are keyed as app.addresses keys them (case-insensitive, punycode); SES's own
entries keep their exact form, since its management API matches case exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.addresses import InvalidAddress, parse_address
from app.ses.suppressed import SesEntry, SesReason
from app.suppression import ses_drift
from app.suppression.ses_drift import Drift, DriftKind, DriftSample
from app.vocabulary import Reason

# SES's list knows only these two and never expires an entry, so manual, unsubscribe and
# soft_bounce entries stay bouncer's own (SPEC §7), and so does any entry that expires.
_FROM_SES: dict[str, Reason] = {"BOUNCE": Reason.BOUNCE, "COMPLAINT": Reason.COMPLAINT}
_TO_SES: dict[Reason, SesReason] = {Reason.BOUNCE: "BOUNCE", Reason.COMPLAINT: "COMPLAINT"}


class Direction(StrEnum):
    """Which way a pass carries entries (``bouncer ses sync --direction``)."""

    PULL = "pull"  # SES's list into bouncer
    PUSH = "push"  # bouncer's bounces, complaints and removals into SES
    BOTH = "both"

    @property
    def pulls(self) -> bool:
        return self is not Direction.PUSH

    @property
    def pushes(self) -> bool:
        return self is not Direction.PULL


@dataclass(frozen=True)
class Held:
    """One active entry of bouncer's list."""

    reason: Reason
    noted: bool = False
    """Its history already says SES (this region) holds it: the note is written once."""
    expiring: bool = False
    """It has an ``expires_at``: never pushed, since SES's list would keep it for ever."""

    @property
    def for_ses(self) -> SesReason | None:
        """The reason it goes into SES's list with, or None: it stays bouncer's own."""
        return None if self.expiring else _TO_SES.get(self.reason)


@dataclass(frozen=True)
class ToPull:
    """An SES entry to add to bouncer: source ``sync``, created at SES's LastUpdateTime."""

    email: str  # the key (app.addresses)
    display: str  # the form SES holds
    reason: Reason
    created_at: datetime


@dataclass(frozen=True)
class ToNote:
    """An address bouncer holds that SES holds too: its history says so, once."""

    email: str  # the key
    ses_emails: tuple[str, ...]  # every form SES holds, exactly
    ses_reason: Reason
    last_update: datetime


@dataclass(frozen=True)
class ToPut:
    """A bounce or complaint of bouncer's for SES (PutSuppressedDestination).

    ``email`` is the key, lowercase and punycode: SES applies its list case-insensitively
    when sending, and an ASCII domain is the form SES sends to."""

    email: str
    reason: SesReason


@dataclass(frozen=True)
class ToDelete:
    """One form SES holds of an address removed in bouncer (DeleteSuppressedDestination)."""

    email: str  # exactly as SES holds it
    key: str
    removed_at: datetime


@dataclass(frozen=True)
class Unreadable:
    """An SES entry bouncer cannot take: not an address, or a reason it does not know."""

    email: str
    problem: str


@dataclass(frozen=True)
class Plan:
    """What one pass does, each tuple sorted by address so two plans compare equal."""

    direction: Direction
    pull: tuple[ToPull, ...]
    note: tuple[ToNote, ...]
    put: tuple[ToPut, ...]
    delete: tuple[ToDelete, ...]
    invalid: tuple[Unreadable, ...]
    drift: Drift

    @property
    def is_empty(self) -> bool:
        """Nothing to change on either side (drift and invalid entries aside)."""
        return not (self.pull or self.note or self.put or self.delete)


def reconcile(
    bouncer: Mapping[str, Held],
    ses: Iterable[SesEntry],
    *,
    removals: Mapping[str, datetime],
    direction: Direction,
) -> Plan:
    """The plan for one region.

    ``bouncer``: active entries by key. ``ses``: SES's entries, as listed (several forms
    of one address may be there). ``removals``: when each address with no active entry was
    last removed in bouncer; an SES entry of such an address not updated since is not
    pulled back (a later LastUpdateTime is a new bounce, and is), and in a pushing pass
    it is deleted from SES. A removal given for an address with an active entry is
    ignored: the entry wins.
    """
    by_key, invalid = _group(ses)
    planner = _Planner(direction)
    for key, forms in sorted(by_key.items()):
        held = bouncer.get(key)
        if held is not None:
            planner.held_by_both(key, held, forms)
        else:
            planner.held_by_ses(key, forms, removals.get(key))
    for key, held in sorted(bouncer.items()):
        if key not in by_key:
            planner.held_by_bouncer(key, held)
    return Plan(
        direction=direction,
        pull=tuple(planner.pull),
        note=tuple(planner.note),
        put=tuple(planner.put),
        delete=tuple(planner.delete),
        invalid=tuple(invalid),
        drift=ses_drift.summed(planner.drift),
    )


@dataclass(frozen=True)
class _Form:
    """One exact form SES holds of an address."""

    entry: SesEntry
    reason: Reason
    display: str  # the addr-spec as SES holds it

    @property
    def order(self) -> tuple[datetime, str]:
        """Latest last: the freshest word SES has on the address (then by form)."""
        return self.entry.last_update, self.entry.email


@dataclass
class _Planner:
    direction: Direction
    pull: list[ToPull] = field(default_factory=list)
    note: list[ToNote] = field(default_factory=list)
    put: list[ToPut] = field(default_factory=list)
    delete: list[ToDelete] = field(default_factory=list)
    drift: dict[DriftKind, list[DriftSample]] = field(default_factory=lambda: defaultdict(list))

    def held_by_both(self, key: str, held: Held, forms: list[_Form]) -> None:
        latest = max(forms, key=lambda form: form.order)
        if self.direction.pulls and not held.noted:
            emails = tuple(sorted(form.entry.email for form in forms))
            self.note.append(ToNote(key, emails, latest.reason, latest.entry.last_update))
        if held.reason not in {form.reason for form in forms}:
            self._differs(DriftKind.REASON_DIFFERS, key, held.reason, latest.reason)

    def held_by_ses(self, key: str, forms: list[_Form], removed_at: datetime | None) -> None:
        fresh = [f for f in forms if removed_at is None or f.entry.last_update > removed_at]
        if fresh:
            latest = max(fresh, key=lambda form: form.order)
            self._differs(DriftKind.ONLY_IN_SES, key, None, latest.reason)
            if self.direction.pulls:
                created_at = latest.entry.last_update
                self.pull.append(ToPull(key, latest.display, latest.reason, created_at))
        if removed_at is not None and self.direction.pushes:
            self.delete += [
                ToDelete(form.entry.email, key, removed_at)
                for form in sorted(forms, key=lambda form: form.entry.email)
                if form.entry.last_update <= removed_at
            ]

    def held_by_bouncer(self, key: str, held: Held) -> None:
        ses_reason = held.for_ses
        if ses_reason is None:
            return  # manual, unsubscribe, soft_bounce, expiring: bouncer's own
        self._differs(DriftKind.ONLY_IN_BOUNCER, key, held.reason, None)
        if self.direction.pushes:
            self.put.append(ToPut(key, ses_reason))

    def _differs(
        self, kind: DriftKind, key: str, bouncer: Reason | None, ses: Reason | None
    ) -> None:
        self.drift[kind].append(DriftSample(key, kind, bouncer, ses))


def _group(ses: Iterable[SesEntry]) -> tuple[dict[str, list[_Form]], list[Unreadable]]:
    """SES's entries by key, one per exact form (the latest, should a listing repeat one;
    whatever the listing's order), and those bouncer cannot take."""
    exact: dict[str, SesEntry] = {}
    for entry in ses:
        seen = exact.get(entry.email)
        if seen is None or (entry.last_update, entry.reason) > (seen.last_update, seen.reason):
            exact[entry.email] = entry
    by_key: dict[str, list[_Form]] = defaultdict(list)
    invalid: list[Unreadable] = []
    for email, entry in sorted(exact.items()):
        reason = _FROM_SES.get(entry.reason)
        if reason is None:
            problem = f"SES's reason {entry.reason!r} is neither BOUNCE nor COMPLAINT"
            invalid.append(Unreadable(email, problem))
            continue
        try:
            address = parse_address(email)
        except InvalidAddress as err:
            invalid.append(Unreadable(email, str(err)))
            continue
        by_key[address.normalized].append(_Form(entry, reason, address.display))
    return by_key, invalid
