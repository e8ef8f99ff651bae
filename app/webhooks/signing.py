"""A delivery's request: the body ``{"type", "timestamp", "data"}`` and the Standard
Webhooks headers, signed by the standardwebhooks package (HMAC-SHA256 over
``id.timestamp.body``; https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

# What of an event a body's ``data`` holds, when it applies (SPEC §10).
DATA_FIELDS = (
    "email",
    "reason",
    "subtype",
    "source",
    "actor",
    "note",
    "expires_at",
    "ses_message_id",
    "feedback_id",
)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC, ending in ``Z``: as the feed (/v1/changes) writes its times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_data(event: Any) -> dict[str, Any]:
    """A body's ``data``: the event's fields that apply, its nulls left out."""
    data: dict[str, Any] = {}
    for name in DATA_FIELDS:
        value = getattr(event, name)
        if value is not None:
            data[name] = iso(value) if isinstance(value, datetime) else str(value)
    return data


def body_of(type_: str, at: datetime, data: dict[str, Any]) -> bytes:
    payload = {"type": type_, "timestamp": iso(at), "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secret: str, *, event_id: str, sent_at: datetime, body: bytes) -> dict[str, str]:
    """The headers of one try: ``webhook-id`` is the event's, the same on every retry, so a
    receiver dedupes on it; ``webhook-timestamp`` is the try's, which receivers check."""
    signature = Webhook(secret).sign(msg_id=event_id, timestamp=sent_at, data=body)
    return {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
