"""Builders for the policy's table tests: events, addresses, states, entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.addresses import Address, parse_address
from app.ses.events import SesEvent, SesRecipient
from app.suppression import effects, policy
from app.vocabulary import EventType

NOW = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
SOONER = NOW + timedelta(days=1)
PAST = NOW - timedelta(days=1)
EMAIL = "ann@example.com"
ADDRESS: Address = parse_address('"Ann" <Ann@Example.COM>')
RULES = policy.Rules()


def make_recipient(
    *, status: str | None = None, action: str | None = None, code: str | None = "smtp; 550"
) -> SesRecipient:
    return SesRecipient("Ann@Example.COM", status=status, action=action, diagnostic_code=code)


def make_event(
    kind: str,
    recipient: SesRecipient | None = None,
    *,
    bounce_type: str | None = None,
    subtype: str | None = None,
    feedback_type: str | None = None,
    unsubscribe_all: bool | None = None,
) -> SesEvent:
    return SesEvent(
        "notification",
        EventType(kind),
        bounce_type=bounce_type,
        bounce_subtype=subtype if kind == "Bounce" else None,
        complaint_feedback_type=feedback_type,
        unsubscribe_all=unsubscribe_all,
        ses_message_id="msg-1",
        feedback_id="fb-1" if kind in ("Bounce", "Complaint") else None,
        occurred_at=NOW,
        recipients=(recipient or make_recipient(),),
    )


def make_bounce(bounce_type: str, subtype: str = "General", **recipient: str | None) -> SesEvent:
    return make_event(
        "Bounce", make_recipient(**recipient), bounce_type=bounce_type, subtype=subtype
    )


def current(
    reason: str = "bounce", source: str = "sns", expires_at: datetime | None = None
) -> effects.Current:
    return effects.Current(reason, source, expires_at)


def entry(
    reason: str = "bounce",
    *,
    expires_at: datetime | None = None,
    source: str = "sns",
    note: str | None = None,
) -> effects.Entry:
    return effects.Entry(
        email=EMAIL, display=EMAIL, reason=reason, source=source, note=note, expires_at=expires_at
    )


def soft_bounces(*hours_ago: float) -> tuple[datetime, ...]:
    return tuple(NOW - timedelta(hours=h) for h in hours_ago)


def decide(event: SesEvent, state: effects.State | None = None, **rules: int) -> effects.Effects:
    return policy.decide(
        event,
        event.recipients[0],
        ADDRESS,
        state or effects.State(),
        rules=policy.Rules(**rules) if rules else RULES,
        now=NOW,
    )


def kind_of(write: effects.Write | None) -> str | None:
    """The write's class name, lower case ("insert", "update", "lift"), or None."""
    return None if write is None else type(write).__name__.lower()
