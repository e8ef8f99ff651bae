"""SES bodies (the SNS Message) in both shapes, built from AWS's documented examples."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.signing import SnsSigner, post_args

SES_DATA = Path(__file__).parent / "data" / "ses"


def sample(name: str) -> str:
    return (SES_DATA / f"{name}.json").read_text()


def ses_time(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _mail(recipients: list[str], message_id: str, at: str) -> dict[str, Any]:
    return {
        "timestamp": at,
        "source": "sender@example.com",
        "messageId": message_id,
        "destination": recipients,
    }


def bounce(
    recipients: list[str],
    *,
    bounce_type: str = "Permanent",
    subtype: str = "General",
    status: str | None = "5.1.1",
    feedback_id: str | None = None,
    message_id: str | None = None,
    at: datetime | None = None,
    shape: str = "notification",
) -> str:
    when = ses_time(at)
    body: dict[str, Any] = {
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": [
                {"emailAddress": r, **({"status": status} if status else {})} for r in recipients
            ],
            "timestamp": when,
            "feedbackId": feedback_id or f"fb-{uuid.uuid4()}",
        },
        "mail": _mail(recipients, message_id or f"msg-{uuid.uuid4()}", when),
    }
    body["notificationType" if shape == "notification" else "eventType"] = "Bounce"
    return json.dumps(body) + ("" if shape == "notification" else "\n")


def complaint(
    recipients: list[str],
    *,
    feedback_type: str | None = "abuse",
    feedback_id: str | None = None,
    shape: str = "notification",
    at: datetime | None = None,
    message_id: str | None = None,
) -> str:
    when = ses_time(at)
    detail: dict[str, Any] = {
        "complainedRecipients": [{"emailAddress": r} for r in recipients],
        "timestamp": when,
        "feedbackId": feedback_id or f"fb-{uuid.uuid4()}",
    }
    if feedback_type is not None:
        detail["complaintFeedbackType"] = feedback_type
    body: dict[str, Any] = {
        "complaint": detail,
        "mail": _mail(recipients, message_id or f"msg-{uuid.uuid4()}", when),
    }
    body["notificationType" if shape == "notification" else "eventType"] = "Complaint"
    return json.dumps(body)


def delivery(
    recipients: list[str], *, message_id: str | None = None, at: datetime | None = None
) -> str:
    when = ses_time(at)
    return json.dumps(
        {
            "notificationType": "Delivery",
            "delivery": {"timestamp": when, "recipients": recipients, "smtpResponse": "250 ok"},
            "mail": _mail(recipients, message_id or f"msg-{uuid.uuid4()}", when),
        }
    )


def bounce_storm(size: int, *, seed: int = 1234) -> list[str]:
    """``size`` SES bodies as a bounce storm brings them: hard and soft bounces (some
    addresses reaching the soft-bounce limit), complaints and deliveries, each sent again
    in the other SES shape (which SNS delivers under a new MessageId)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    # 200 addresses for the 1,000-notification batches, more for longer ones.
    addresses = max(200, size // 5)
    messages: list[str] = []
    for n in range((size + 1) // 2):
        email = f"user{n % addresses}@example.com"
        at = now - timedelta(minutes=rng.randrange(0, 600))
        kind = rng.choice(["hard", "soft", "soft", "complaint", "delivery"])
        if kind == "hard":
            fb = f"fb-hard-{n}"
            messages.append(bounce([email], feedback_id=fb, message_id=f"m{n}", at=at))
            messages.append(
                bounce([email], feedback_id=fb, message_id=f"m{n}", at=at, shape="event")
            )
        elif kind == "soft":
            fb = f"fb-soft-{n}"
            soft: dict[str, Any] = {"bounce_type": "Transient", "status": "4.2.2", "at": at}
            messages.append(bounce([email], feedback_id=fb, message_id=f"m{n}", **soft))
            messages.append(
                bounce([email], feedback_id=fb, message_id=f"m{n}", shape="event", **soft)
            )
        elif kind == "complaint":
            messages.append(complaint([email], feedback_id=f"fb-c-{n}"))
            messages.append(complaint([email], feedback_id=f"fb-c-{n}", shape="event"))
        else:
            messages.append(delivery([email], message_id=f"m{n}", at=at))
            messages.append(delivery([email], message_id=f"m{n}", at=at))
    return messages[:size]


async def post_ses(
    client: httpx.AsyncClient,
    signer: SnsSigner,
    message: str,
    *,
    topic_arn: str,
    message_id: str | None = None,
) -> httpx.Response:
    """POST ``message`` to /sns as SNS would: a signed Notification envelope."""
    envelope = signer.make_notification(message, topic_arn=topic_arn, message_id=message_id)
    body, headers = post_args(envelope)
    return await client.post("/sns", content=body, headers=headers)
