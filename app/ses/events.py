"""Read the SES JSON carried in an SNS ``Message`` (or a queue's body) into one SesEvent,
whatever the text holds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from app.vocabulary import EventType

Shape = Literal["notification", "event", "unknown"]

# Every type an event row can hold, AWS's spellings mapped to one.
TYPES = tuple(EventType)

# Configuration-set event publishing, field `eventType`:
# https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html
_EVENT_TYPES = {
    "Bounce": EventType.BOUNCE,
    "Complaint": EventType.COMPLAINT,
    "Delivery": EventType.DELIVERY,
    "Send": EventType.SEND,
    "Reject": EventType.REJECT,
    "Open": EventType.OPEN,
    "Click": EventType.CLICK,
    "Rendering Failure": EventType.RENDERING_FAILURE,  # AWS spells this one with a space
    "DeliveryDelay": EventType.DELIVERY_DELAY,
    "Subscription": EventType.SUBSCRIPTION,
}

# Identity notifications, field `notificationType`:
# https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
# SES posts {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "You have
# successfully subscribed your Amazon SNS topic ..."} when a topic is attached to an identity.
_NOTIFICATION_TYPES = {
    "Bounce": EventType.BOUNCE,
    "Complaint": EventType.COMPLAINT,
    "Delivery": EventType.DELIVERY,
    "AmazonSnsSubscriptionSucceeded": EventType.SETUP_NOTICE,
}

# SES publishes this plain text (not JSON) to the topic when an SNS event destination is
# added to a configuration set.
SETUP_NOTICE_TEXT = "Successfully validated SNS topic for Amazon SES event publishing."

# SES's events on EventBridge: `"source": "aws.ses"` and the SES event, as published to
# SNS, in `detail`. An EventBridge rule may target an SNS topic as well as a queue, so a
# signed SNS Message can hold this wrapper too (SES → EventBridge → SNS).
# https://docs.aws.amazon.com/ses/latest/dg/monitoring-eventbridge.html
# https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html
EVENTBRIDGE_KEYS = frozenset({"detail-type", "source", "detail"})
EVENTBRIDGE_SOURCE = "aws.ses"

# The object that carries each type's own details, named as in the contents pages above.
_DETAIL_KEY = {
    EventType.BOUNCE: "bounce",
    EventType.COMPLAINT: "complaint",
    EventType.DELIVERY: "delivery",
    EventType.SEND: "send",
    EventType.REJECT: "reject",
    EventType.OPEN: "open",
    EventType.CLICK: "click",
    EventType.RENDERING_FAILURE: "failure",
    EventType.DELIVERY_DELAY: "deliveryDelay",
    EventType.SUBSCRIPTION: "subscription",
}


@dataclass(frozen=True, slots=True)
class SesRecipient:
    email: str
    """The address exactly as SES wrote it (not normalized)."""
    status: str | None = None
    action: str | None = None
    diagnostic_code: str | None = None
    """The recipient's ``diagnosticCode``; for a type with none per recipient, the event's own
    explanation: ``delivery.smtpResponse``, ``reject.reason`` or ``failure.errorMessage``."""


@dataclass(frozen=True, slots=True)
class SesEvent:
    shape: Shape
    type: EventType
    _: KW_ONLY
    bounce_type: str | None = None
    bounce_subtype: str | None = None
    complaint_feedback_type: str | None = None
    complaint_subtype: str | None = None
    delay_type: str | None = None
    subscription_source: str | None = None
    unsubscribe_all: bool | None = None
    """``subscription.newTopicPreferences.unsubscribeAll``: the contact left every topic."""
    ses_message_id: str | None = None
    feedback_id: str | None = None
    occurred_at: datetime | None = None
    sent_at: datetime | None = None
    source: str | None = None
    recipients: tuple[SesRecipient, ...] = ()

    @property
    def subtype(self) -> str | None:
        """The one subtype string kept with the event and any suppression it causes."""
        if self.type == EventType.BOUNCE:
            return self.bounce_subtype
        if self.type == EventType.COMPLAINT:
            # complaintSubType is null or OnAccountSuppressionList (SES did not even send);
            # when set it says more than the ISP's feedback type.
            return self.complaint_subtype or self.complaint_feedback_type
        if self.type == EventType.DELIVERY_DELAY:
            return self.delay_type
        if self.type == EventType.SUBSCRIPTION:
            return self.subscription_source
        return None


def parse_ses_event(message: str) -> SesEvent:
    """Never raises: anything unreadable becomes type Unknown with whatever could be read."""
    if not isinstance(message, str):
        return SesEvent("unknown", EventType.UNKNOWN)
    if message.strip() == SETUP_NOTICE_TEXT:
        return SesEvent("event", EventType.SETUP_NOTICE)
    try:
        body = json.loads(message)
    except (ValueError, RecursionError):
        return SesEvent("unknown", EventType.UNKNOWN)
    if not isinstance(body, dict):
        return SesEvent("unknown", EventType.UNKNOWN)
    if is_eventbridge_event(body):
        # Only SES's own: another source's event names no SES message, whatever its
        # detail holds, and is recorded as Unknown.
        detail = body.get("detail")
        if body.get("source") != EVENTBRIDGE_SOURCE or not isinstance(detail, dict):
            return SesEvent("unknown", EventType.UNKNOWN)
        body = detail
    shape, kind = _kind(body)
    mail = _object(body, "mail")
    detail = _object(body, _DETAIL_KEY.get(kind, ""))
    sent_at = _timestamp(mail, "timestamp")
    bounce, complaint = kind == EventType.BOUNCE, kind == EventType.COMPLAINT
    subscription = kind == EventType.SUBSCRIPTION
    return SesEvent(
        shape,
        kind,
        bounce_type=_text(detail, "bounceType") if bounce else None,
        bounce_subtype=_text(detail, "bounceSubType") if bounce else None,
        complaint_feedback_type=_text(detail, "complaintFeedbackType") if complaint else None,
        complaint_subtype=_text(detail, "complaintSubType") if complaint else None,
        delay_type=_text(detail, "delayType") if kind == EventType.DELIVERY_DELAY else None,
        subscription_source=_text(detail, "source") if subscription else None,
        unsubscribe_all=_unsubscribe_all(detail) if subscription else None,
        ses_message_id=_text(mail, "messageId"),
        feedback_id=_text(detail, "feedbackId") if bounce or complaint else None,
        occurred_at=_timestamp(detail, "timestamp") or sent_at,
        sent_at=sent_at,
        source=_text(mail, "source"),
        recipients=_recipients(kind, detail, mail),
    )


def is_eventbridge_event(body: Mapping[str, Any]) -> bool:
    """Whether a JSON object has the shape of an EventBridge event (from any source)."""
    return body.keys() >= EVENTBRIDGE_KEYS


def _kind(body: dict[str, Any]) -> tuple[Shape, EventType]:
    event_type = body.get("eventType")
    if isinstance(event_type, str):
        return "event", _EVENT_TYPES.get(event_type, EventType.UNKNOWN)
    notification_type = body.get("notificationType")
    if isinstance(notification_type, str):
        return "notification", _NOTIFICATION_TYPES.get(notification_type, EventType.UNKNOWN)
    return "unknown", EventType.UNKNOWN


def _recipients(
    kind: EventType, detail: dict[str, Any], mail: dict[str, Any]
) -> tuple[SesRecipient, ...]:
    # These four types name the recipients they concern; mail.destination lists everyone the
    # message went to, and a bounce for one of three must not touch the other two. With the
    # list missing or malformed the event concerns nobody we can name.
    if kind == EventType.BOUNCE:
        return _recipient_objects(detail, "bouncedRecipients")
    if kind == EventType.COMPLAINT:
        return _recipient_objects(detail, "complainedRecipients")
    if kind == EventType.DELIVERY_DELAY:
        return _recipient_objects(detail, "delayedRecipients")
    if kind == EventType.DELIVERY:
        return _recipient_strings(detail, "recipients", _text(detail, "smtpResponse"))
    explanation = None
    if kind == EventType.REJECT:
        explanation = _text(detail, "reason")
    elif kind == EventType.RENDERING_FAILURE:
        explanation = _text(detail, "errorMessage")
    return _recipient_strings(mail, "destination", explanation)


def _recipient_objects(detail: dict[str, Any], key: str) -> tuple[SesRecipient, ...]:
    # Only emailAddress is always present; action, status and diagnosticCode come with a DSN.
    # https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html (bounced recipients)
    return tuple(
        SesRecipient(
            email=email,
            status=_text(item, "status"),
            action=_text(item, "action"),
            diagnostic_code=_text(item, "diagnosticCode"),
        )
        for item in _array(detail, key)
        if isinstance(item, dict) and (email := _text(item, "emailAddress")) is not None
    )


def _recipient_strings(
    container: dict[str, Any], key: str, diagnostic: str | None
) -> tuple[SesRecipient, ...]:
    return tuple(
        SesRecipient(email=item, diagnostic_code=diagnostic)
        for item in _array(container, key)
        if isinstance(item, str) and item.strip()
    )


def _unsubscribe_all(detail: dict[str, Any]) -> bool | None:
    # https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html
    # (subscription object): newTopicPreferences is the contact's state after the change.
    value = _object(detail, "newTopicPreferences").get("unsubscribeAll")
    return value if isinstance(value, bool) else None


def _object(container: dict[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def _array(container: dict[str, Any], key: str) -> list[Any]:
    value = container.get(key)
    return value if isinstance(value, list) else []


def _text(container: dict[str, Any], key: str) -> str | None:
    """A string field as SES wrote it (not stripped); missing, blank or not a string is None."""
    value = container.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _timestamp(container: dict[str, Any], key: str) -> datetime | None:
    text = _text(container, key)
    if text is None:
        return None
    try:
        # SES writes ISO 8601 in UTC with a Z ("2016-01-27T14:59:38.237Z"); a timestamp
        # without an offset is read as UTC too.
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
