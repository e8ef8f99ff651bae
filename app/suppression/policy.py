"""SPEC §3's table as pure functions: what one SES event does to one recipient's suppression."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.ses.events import SesEvent, SesRecipient

REASONS = ("bounce", "soft_bounce", "complaint", "unsubscribe", "manual")
# Only these reasons honour expires_at; SPEC §3 keeps the others "until removed".

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


class Verdict(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    DELIVERY = "delivery"
    RECORD_ONLY = "record_only"


@dataclass(frozen=True, slots=True)
class Rules:
    soft_bounce_limit: int = 3
    soft_bounce_window_days: int = 14
    soft_bounce_suppress_days: int = 7

    def __post_init__(self) -> None:
        for name in ("soft_bounce_limit", "soft_bounce_window_days", "soft_bounce_suppress_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.upper()} must be at least 1")


def classify(event: SesEvent, recipient: SesRecipient) -> Verdict:
    if event.type == "Bounce":
        return _classify_bounce(event, recipient)
    if event.type == "Complaint":
        # ARF feedback types are case-insensitive tokens (RFC 5965 §3.1); not-spam is a
        # recipient saying the message was wanted. No feedback report at all is a complaint.
        feedback = (event.complaint_feedback_type or "").strip().lower()
        return Verdict.RECORD_ONLY if feedback == "not-spam" else Verdict.COMPLAINT
    if event.type == "Subscription":
        return _classify_subscription(event)
    if event.type == "Delivery":
        return Verdict.DELIVERY
    return Verdict.RECORD_ONLY


# The verdicts that suppress at once and until removed, and the reason they record.
# Soft bounces suppress only as a run (soft_bounce_run); the rest never do.
PERMANENT_REASON = {
    Verdict.HARD_BOUNCE: "bounce",
    Verdict.COMPLAINT: "complaint",
    Verdict.UNSUBSCRIBE: "unsubscribe",
}


def _classify_bounce(event: SesEvent, recipient: SesRecipient) -> Verdict:
    # https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html (bounce types)
    if event.bounce_type == "Permanent":
        return Verdict.HARD_BOUNCE
    if event.bounce_type != "Transient":
        return Verdict.RECORD_ONLY  # Undetermined, or a type AWS has not documented
    if _status_code(recipient.status) in _NO_SUCH_MAILBOX:
        return Verdict.HARD_BOUNCE
    if event.bounce_subtype in _MESSAGE_AT_FAULT:
        return Verdict.RECORD_ONLY
    return Verdict.SOFT_BOUNCE


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
        if last >= 0 and delivered[last] > start:
            start = delivered[last]
        count = bisect_right(times, end) - bisect_right(times, start)
        if count >= rules.soft_bounce_limit:
            run = SoftBounceRun(end, end + timedelta(days=rules.soft_bounce_suppress_days))
    if delivered and times and delivered[-1] > times[-1]:
        count = 0  # delivered since the last soft bounce
    return count, run
