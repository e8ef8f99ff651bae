"""SPEC §3 as pure functions: what one SES event, or one operator, does to one address's entry."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.addresses import Address
from app.ses.events import SesEvent, SesRecipient
from app.suppression import ses_notes
from app.suppression.effects import (
    ChangeLine,
    Current,
    Effects,
    Entry,
    Insert,
    Lift,
    SoftBounceCount,
    State,
    Update,
    Write,
    change_of,
)
from app.vocabulary import ChangeAction, EventType, Reason, Source, Verdict

__all__ = ["Current", "Effects", "Entry", "State", "Verdict", "change_of"]  # read via policy

REASONS = tuple(Reason)

# Enhanced status codes (RFC 3463) saying the mailbox or its domain does not exist:
# 5.1.1 bad mailbox, 5.1.2 bad system, 5.1.3 bad mailbox syntax, 5.1.10 null MX (RFC 7505),
# 5.4.4 unable to route. Compared as numbers so that 5.1.10 is never mistaken for 5.1.1.
_NO_SUCH_MAILBOX = frozenset({(5, 1, 1), (5, 1, 2), (5, 1, 3), (5, 1, 10), (5, 4, 4)})
# The DSN Status field is the bare code (RFC 3464 §2.3.4); some relays prefix a type the way
# diagnosticCode does ("smtp; 5.1.1"). Nothing else may surround it.
_STATUS = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9-]*\s*;\s*)?([245])\.([0-9]{1,3})\.([0-9]{1,3})", re.ASCII
)

# Transient subtypes that blame the message, not the address:
# https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html (bounce types)
_MESSAGE_AT_FAULT = frozenset({"MessageTooLarge", "ContentRejected", "AttachmentRejected"})

# A DSN's Action field (RFC 3464 §2.3.3, case-insensitive): only "failed" is a failure.
# "delayed" is a soft bounce (the relay still tries); the others say the mail went on.
_DELAYED = "delayed"
_NOT_FAILED = frozenset({"delivered", "relayed", "expanded"})


@dataclass(frozen=True, slots=True)
class Rules:
    soft_bounce_limit: int = 3
    soft_bounce_window_days: int = 14
    soft_bounce_suppress_days: int = 7

    def __post_init__(self) -> None:
        for name in ("soft_bounce_limit", "soft_bounce_window_days", "soft_bounce_suppress_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.upper()} must be at least 1")

    def horizon(self, now: datetime) -> datetime:
        """Older events cannot make a soft-bounce suppression that would still be in force."""
        return now - timedelta(days=self.soft_bounce_window_days + self.soft_bounce_suppress_days)


def classify(event: SesEvent, recipient: SesRecipient) -> Verdict:
    if event.type == EventType.BOUNCE:
        return _classify_bounce(event, recipient)
    if event.type == EventType.COMPLAINT:
        # ARF feedback types are case-insensitive tokens (RFC 5965 §3.1); not-spam is a
        # recipient saying the message was wanted. No feedback report at all is a complaint.
        feedback = event.complaint_feedback_type
        if feedback is not None and feedback.strip().lower() == "not-spam":
            return Verdict.RECORD_ONLY
        return Verdict.COMPLAINT
    if event.type == EventType.SUBSCRIPTION:
        return _classify_subscription(event)
    if event.type == EventType.DELIVERY:
        return Verdict.DELIVERY
    return Verdict.RECORD_ONLY


# The verdicts that suppress at once and until removed, and the reason they record.
# Soft bounces suppress only as a run (soft_bounce_run); the rest never do.
PERMANENT_REASON: dict[Verdict, str] = {
    Verdict.HARD_BOUNCE: Reason.BOUNCE,
    Verdict.COMPLAINT: Reason.COMPLAINT,
    Verdict.UNSUBSCRIBE: Reason.UNSUBSCRIBE,
}
# The verdicts that recount the address's soft bounces from its history.
COUNTED = frozenset({Verdict.SOFT_BOUNCE, Verdict.DELIVERY})
# The verdicts that read or change an address's state.
STATEFUL = COUNTED | frozenset(PERMANENT_REASON)


def _classify_bounce(event: SesEvent, recipient: SesRecipient) -> Verdict:
    # https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html (bounce types)
    if event.bounce_type == "Permanent":
        action = _action(recipient)
        if action in _NOT_FAILED:
            return Verdict.RECORD_ONLY
        if action == _DELAYED:  # SPEC §3: not failed yet, so Transient General
            return _classify_transient(recipient, message_at_fault=False)
        return Verdict.HARD_BOUNCE
    if event.bounce_type == "Transient":
        at_fault = event.bounce_subtype in _MESSAGE_AT_FAULT
        return _classify_transient(recipient, message_at_fault=at_fault)
    return Verdict.RECORD_ONLY  # Undetermined, or a type AWS has not documented


def _classify_transient(recipient: SesRecipient, *, message_at_fault: bool) -> Verdict:
    if _status_code(recipient.status) in _NO_SUCH_MAILBOX:
        return Verdict.HARD_BOUNCE
    return Verdict.RECORD_ONLY if message_at_fault else Verdict.SOFT_BOUNCE


def _action(recipient: SesRecipient) -> str | None:
    return recipient.action.strip().lower() if recipient.action is not None else None


def _classify_subscription(event: SesEvent) -> Verdict:
    # The suppression list blocks all mail, so only leaving the whole contact list counts.
    # A single-topic OptOut is recorded only: SES itself skips contacts opted out of the topic
    # a message names (ListManagementOptions), and a transactional mail must still go out.
    # https://docs.aws.amazon.com/ses/latest/dg/sending-email-subscription-management.html
    if event.unsubscribe_all is not True:
        return Verdict.RECORD_ONLY
    # The subscription object names no address; the contact is the message's recipient.
    # With several we cannot tell who left, and suppressing the others would be wrong.
    if len(event.recipients) != 1:
        return Verdict.RECORD_ONLY
    return Verdict.UNSUBSCRIBE


def _status_code(status: str | None) -> tuple[int, int, int] | None:
    if status is None:
        return None
    match = _STATUS.fullmatch(status.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


# The reason an entry shows when several apply: an operator's word first, then the
# strongest signal from the recipient. Ranking (not arrival order) decides, so the
# same events in any order leave the same list.
REASON_RANK = {"manual": 4, "complaint": 3, "bounce": 2, "unsubscribe": 1, "soft_bounce": 0}


@dataclass(frozen=True, slots=True)
class SoftBounceRun:
    """The latest window in which ``soft_bounce_limit`` soft bounces came, none delivered."""

    anchor: datetime
    expires_at: datetime


def soft_bounce_run(
    bounces: Sequence[datetime], deliveries: Sequence[datetime], *, rules: Rules
) -> tuple[int, SoftBounceRun | None]:
    """(soft bounces that count now, the latest run that reached the limit, if any).

    A window ends at each soft bounce and reaches back ``soft_bounce_window_days``, or to
    the last delivery before it, whichever is later (a delivery clears the count). The
    answer depends only on the set of events, never on the order SNS delivered them.
    """
    times = sorted(bounces)
    delivered = sorted(deliveries)
    window = timedelta(days=rules.soft_bounce_window_days)
    run: SoftBounceRun | None = None
    count = 0
    for end in times:
        start = end - window
        last = bisect_left(delivered, end) - 1
        if last >= 0:
            start = max(start, delivered[last])
        count = bisect_right(times, end) - bisect_right(times, start)
        if count >= rules.soft_bounce_limit:
            run = SoftBounceRun(end, end + timedelta(days=rules.soft_bounce_suppress_days))
    if delivered and times and delivered[-1] > times[-1]:
        count = 0  # delivered since the last soft bounce
    return count, run


def decide(
    event: SesEvent,
    recipient: SesRecipient,
    address: Address,
    state: State,
    *,
    rules: Rules,
    now: datetime,
) -> Effects:
    verdict = classify(event, recipient)
    if verdict in PERMANENT_REASON:
        entry = _entry(event, recipient, address, PERMANENT_REASON[verdict], None)
        return Effects(verdict, write_entry(entry, state.entry, actor=Source.SNS, now=now))
    if verdict not in COUNTED:
        return Effects(verdict)
    count, run = soft_bounce_run(state.soft_bounces, state.deliveries, rules=rules)
    saved = SoftBounceCount(
        count, max(state.soft_bounces, default=None), max(state.deliveries, default=None)
    )
    wanted = None
    if run is not None and run.expires_at > now:
        wanted = _entry(event, recipient, address, Reason.SOFT_BOUNCE, run.expires_at)
    return Effects(
        verdict, settle_soft_bounce(wanted, state.entry, address.normalized, now=now), saved
    )


def _entry(
    event: SesEvent,
    recipient: SesRecipient,
    address: Address,
    reason: str,
    expires_at: datetime | None,
) -> Entry:
    subtype = event.subtype
    if event.bounce_type == "Permanent" and _action(recipient) == _DELAYED:
        subtype = "General"  # the entry says what bouncer took it for (SPEC §3)
    return Entry(
        email=address.normalized,
        display=address.display,
        reason=reason,
        source=Source.SNS,
        subtype=subtype,
        diagnostic_code=recipient.diagnostic_code,
        ses_message_id=event.ses_message_id,
        feedback_id=event.feedback_id,
        note=ses_notes.cause(event.bounce_type, subtype),  # SES's own list blocked it
        expires_at=expires_at,
    )


_RUN_BROKEN = "a delivery came between the soft bounces: the run no longer reaches the limit"


def settle_soft_bounce(
    wanted: Entry | None, current: Current | None, email: str, *, now: datetime
) -> Write | None:
    """Make the address's soft-bounce entry what its events justify now.

    ``wanted`` is the suppression the soft bounces call for, or None when no run of them
    reaches the limit any more (a delivery in between arrived late). An active entry of
    any other reason is never touched; only an active soft-bounce entry SNS made is lifted.
    """
    if current is not None and current.reason != Reason.SOFT_BOUNCE and current.is_active(now):
        return None
    if wanted is None:
        if current is None or current.source != Source.SNS or not current.is_active(now):
            return None
        return Lift(ChangeLine(email, ChangeAction.REMOVED, Source.SNS, note=_RUN_BROKEN))
    if current is not None and current.is_active(now) and current.expires_at == wanted.expires_at:
        return None
    # The soft-bounce entry is recomputed from the whole run, so it replaces its note too.
    return _write(wanted, current, actor=Source.SNS, now=now, by_operator=True)


def write_entry(
    entry: Entry,
    current: Current | None,
    *,
    actor: str,
    now: datetime,
    by_operator: bool = False,
) -> Write | None:
    """Add or update one entry; "added" also when an expired entry comes back.

    An SES event (``by_operator=False``) keeps an active entry as it is unless the new one
    is stronger (is_stronger). An operator always writes what was asked.
    """
    if by_operator or current is None or not current.is_active(now) or is_stronger(entry, current):
        return _write(entry, current, actor=actor, now=now, by_operator=by_operator)
    return None


def is_stronger(entry: Entry, current: Current) -> bool:
    """Permanent beats expiring, a later expiry beats an earlier one, then REASON_RANK."""
    if current.expires_at is not None:
        return entry.expires_at is None or entry.expires_at > current.expires_at
    if entry.expires_at is not None:
        return False
    return REASON_RANK.get(entry.reason, 0) > REASON_RANK.get(current.reason, 0)


def _write(
    entry: Entry, current: Current | None, *, actor: str, now: datetime, by_operator: bool
) -> Write:
    active = current is not None and current.is_active(now)
    action = ChangeAction.UPDATED if active else ChangeAction.ADDED
    line = ChangeLine(entry.email, action, actor, entry.reason, entry.expires_at, entry.note)
    if current is None:
        return Insert(entry, line)
    # An SES event has no note to give, so it leaves the operator's.
    keep_note = entry.note is None and not by_operator
    return Update(entry, line, redate=not active, keep_note=keep_note)
