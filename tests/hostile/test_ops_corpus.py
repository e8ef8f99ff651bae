"""Hostile corpus for storage limits: every stored field at its AWS maximum, one past it,
and unusual-but-legal values, through signed POSTs to /sns.

Each case is a signed envelope (the real signature path, tests/signing.py), the status
it must get (200, or 400/403 for what AWS would never send; never a 5xx) and what it must
leave stored. AWS's limits come from:
- topic names: 1-256 of [A-Za-z0-9_-], a FIFO topic ends in .fifo
  https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
- Subject: under 100 characters, no line breaks or control characters
  https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
- SNS MessageId: a UUID
  https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
- SES contents (ids, subtypes, diagnostic codes, user agents, ...): free text of the
  remote server or ISP, bounded only by the SNS message (256 KiB)
  https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
- configuration set names: up to 64 characters
  https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_CreateConfigurationSet.html
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.db import Database
from app.models import Event, ReceivedSnsMessage, Subscription, Suppression
from tests.conftest import TOPIC, AppMaker
from tests.figures import record
from tests.signing import SnsSigner

NAME_256 = ("ses-Bounces_0" * 20)[:256]
ARN_256 = f"arn:aws:sns:us-east-1:123456789012:{NAME_256}"
ARN_FIFO = f"arn:aws:sns:ap-southeast-2:123456789012:{NAME_256}.fifo"
ARN_GOV = f"arn:aws-us-gov:sns:us-gov-west-1:123456789012:{NAME_256}.fifo"
ARN_CN = f"arn:aws-cn:sns:cn-northwest-1:123456789012:{NAME_256}"
ARN_257 = f"arn:aws:sns:us-east-1:123456789012:{NAME_256}x"
ARN_COLON = f"arn:aws:sns:us-east-1:123456789012:{NAME_256[:20]}:x"
# ARN_COLON cannot be allowed: SNS_TOPIC_ARNS refuses an entry of more than six fields at
# start. The envelope refuses it (400) before any allowlist is asked.
ALLOWED = [TOPIC, ARN_256, ARN_FIFO, ARN_GOV, ARN_CN, ARN_257]

ADDRESS = "jane@example.com"
LOCAL_64 = "a" * 64
# 254 octets: the longest address SMTP can carry (RFC 5321 §4.5.3.1.3, erratum 1690).
LONGEST_ADDRESS = f"{LOCAL_64}@{'b' * 63}.{'c' * 63}.{'d' * 57}.com"
assert len(LONGEST_ADDRESS) == 254
THOUSAND_LINES = "\n".join(
    f"smtp; 550-5.7.1 line {n}: the remote server explains itself at length" for n in range(1000)
)
# An SES message id longer than its column (256, four times what SES writes) is kept
# clipped, with a marker saying how long it was.
CLIPPED_257 = f"{'i' * 228}…[truncated: 257 characters]"
CLIPPED_ID = f"{'i' * 226}…[truncated: 10000 characters]"
SES_MESSAGE_ID = "0100018c2d3a4b5c-12345678-90ab-cdef-1234-567890abcdef-000000"
FEEDBACK_ID = "0100018c2d3a4b5c-87654321-90ab-cdef-1234-567890abcdef-000000"

Stored = dict[str, list[dict[str, Any]]]


def bounce(
    *,
    recipient: str = ADDRESS,
    bounce_type: str = "Permanent",
    subtype: str = "General",
    status: str | None = "5.1.1",
    action: str | None = "failed",
    diagnostic: str | None = "smtp; 550 5.1.1 user unknown",
    feedback_id: str = FEEDBACK_ID,
    message_id: str = SES_MESSAGE_ID,
    bounce_extra: dict[str, Any] | None = None,
    mail_extra: dict[str, Any] | None = None,
    shape: str = "notificationType",
) -> str:
    item: dict[str, Any] = {"emailAddress": recipient}
    for key, value in (("status", status), ("action", action), ("diagnosticCode", diagnostic)):
        if value is not None:
            item[key] = value
    body: dict[str, Any] = {
        shape: "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": [item],
            "timestamp": "2026-12-01T10:00:00.000Z",
            "feedbackId": feedback_id,
            "reportingMTA": "dns; a.example.com",
            "remoteMtaIp": "127.0.2.0",
            **(bounce_extra or {}),
        },
        "mail": {
            "timestamp": "2026-12-01T09:59:58.000Z",
            "source": "sender@example.com",
            "messageId": message_id,
            "destination": [recipient],
            **(mail_extra or {}),
        },
    }
    # ensure_ascii: lone surrogates and NULs travel as JSON escapes, as SES writes them.
    return json.dumps(body)


def bounce_without_feedback_id() -> str:
    body = json.loads(bounce())
    del body["bounce"]["feedbackId"]
    return json.dumps(body)


def bounce_to(recipients: list[str]) -> str:
    body = json.loads(bounce())
    body["bounce"]["bouncedRecipients"] = [
        {"emailAddress": r, "status": "5.1.1", "action": "failed"} for r in recipients
    ]
    body["mail"]["destination"] = recipients
    return json.dumps(body)


def complaint(
    *,
    feedback_type: str | None = "abuse",
    subtype: str | None = None,
    user_agent: str = "AnyCompany Feedback Loop (V0.01)",
    extra: dict[str, Any] | None = None,
) -> str:
    detail: dict[str, Any] = {
        "userAgent": user_agent,
        "complainedRecipients": [{"emailAddress": ADDRESS}],
        "arrivalDate": "2026-12-01T10:00:00.000Z",
        "timestamp": "2026-12-01T10:00:00.000Z",
        "feedbackId": FEEDBACK_ID,
        **(extra or {}),
    }
    if feedback_type is not None:
        detail["complaintFeedbackType"] = feedback_type
    if subtype is not None:
        detail["complaintSubType"] = subtype
    return json.dumps(
        {
            "notificationType": "Complaint",
            "complaint": detail,
            "mail": {
                "timestamp": "2026-12-01T09:59:58.000Z",
                "source": "sender@example.com",
                "messageId": SES_MESSAGE_ID,
                "destination": [ADDRESS],
            },
        }
    )


def event(kind: str, detail_key: str, detail: dict[str, Any], **mail: Any) -> str:
    return json.dumps(
        {
            "eventType": kind,
            detail_key: detail,
            "mail": {
                "timestamp": "2026-12-01T09:59:58.000Z",
                "source": "sender@example.com",
                "messageId": SES_MESSAGE_ID,
                "destination": [ADDRESS],
                **mail,
            },
        }
    )


Build = Callable[[SnsSigner], dict[str, Any]]


def note(
    message: str,
    *,
    topic_arn: str = TOPIC,
    message_id: str | None = None,
    subject: str | None = None,
) -> Build:
    return lambda signer: signer.make_notification(
        message, topic_arn=topic_arn, message_id=message_id, subject=subject
    )


def subscribe(*, topic_arn: str = TOPIC, token: str | None = None) -> Build:
    return lambda signer: signer.make_subscription_confirmation(topic_arn=topic_arn, token=token)


def unsubscribe(*, topic_arn: str = TOPIC) -> Build:
    return lambda signer: signer.make_unsubscribe_confirmation(topic_arn=topic_arn)


def after_signing(build: Build, **fields: Any) -> Build:
    """A signed envelope with fields changed after signing (refused before or at the check)."""
    return lambda signer: build(signer) | fields


def signed_with(build: Build, **fields: Any) -> Build:
    """An envelope with fields replaced, then signed again: SNS would have signed these."""
    return lambda signer: signer.sign({**build(signer), **fields})


@dataclass(frozen=True)
class Case:
    build: Build
    status: int
    # "table.column" -> the value the first row of that table must hold.
    stored: dict[str, Any] = field(default_factory=dict)
    # table -> row count; tables not named must hold what a plain notification leaves.
    rows: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def stores(**values: Any) -> dict[str, Any]:
    return {key.replace("__", "."): value for key, value in values.items()}


NOTHING = {"sns_message": 0, "event": 0, "suppression": 0, "subscription": 0}
BOUNCED = {"sns_message": 1, "event": 1, "suppression": 1}
RECORDED = {"sns_message": 1, "event": 1, "suppression": 0}

CASES: dict[str, Case] = {
    # --- topic ARNs: the longest SNS forms, and one past -------------------------------
    "topic name of 256 characters": Case(
        note(bounce(), topic_arn=ARN_256),
        200,
        stores(sns_message__topic_arn=ARN_256),
        BOUNCED,
    ),
    "FIFO topic of 256 characters + .fifo": Case(
        note(bounce(), topic_arn=ARN_FIFO), 200, stores(sns_message__topic_arn=ARN_FIFO), BOUNCED
    ),
    "GovCloud FIFO topic of 256 + .fifo": Case(
        note(bounce(), topic_arn=ARN_GOV), 200, stores(sns_message__topic_arn=ARN_GOV), BOUNCED
    ),
    "China partition topic of 256": Case(
        note(bounce(), topic_arn=ARN_CN), 200, stores(sns_message__topic_arn=ARN_CN), BOUNCED
    ),
    "subscription to a 256-character topic": Case(
        subscribe(topic_arn=ARN_256),
        200,
        stores(subscription__topic_arn=ARN_256, subscription__status="confirmed"),
        {"sns_message": 1, "subscription": 1},
    ),
    "subscription to a GovCloud FIFO topic": Case(
        subscribe(topic_arn=ARN_GOV),
        200,
        stores(subscription__topic_arn=ARN_GOV),
        {"sns_message": 1, "subscription": 1},
    ),
    "unsubscribe from a 256-character topic": Case(
        unsubscribe(topic_arn=ARN_FIFO),
        200,
        stores(subscription__topic_arn=ARN_FIFO, subscription__status="unsubscribed"),
        {"sns_message": 1, "subscription": 1},
    ),
    "topic name of 257 characters": Case(note(bounce(), topic_arn=ARN_257), 400, rows=NOTHING),
    "topic name with a colon": Case(note(bounce(), topic_arn=ARN_COLON), 400, rows=NOTHING),
    # --- SNS MessageId ------------------------------------------------------------------
    "MessageId a UUID": Case(
        note(bounce(), message_id="7c8b2e4a-1f0d-4c3e-9b6a-5d4e3f2a1b0c"),
        200,
        stores(sns_message__message_id="7c8b2e4a-1f0d-4c3e-9b6a-5d4e3f2a1b0c"),
        BOUNCED,
    ),
    "MessageId of 128 characters": Case(
        note(bounce(), message_id="m" * 128), 200, stores(sns_message__message_id="m" * 128)
    ),
    "MessageId of 129 characters": Case(note(bounce(), message_id="m" * 129), 400, rows=NOTHING),
    "MessageId of 100,000 characters": Case(
        note(bounce(), message_id="m" * 100_000), 400, rows=NOTHING
    ),
    "MessageId holding a NUL": Case(note(bounce(), message_id="abc\x00def"), 400, rows=NOTHING),
    "MessageId holding a line feed": Case(note(bounce(), message_id="abc\ndef"), 403, rows=NOTHING),
    # --- Subject ------------------------------------------------------------------------
    "Subject of 99 characters": Case(
        note(bounce(), subject="S" * 99), 200, stores(sns_message__subject="S" * 99)
    ),
    "Subject of 99 emoji": Case(
        note(bounce(), subject="\U0001f4e7" * 99), 200, stores(sns_message__subject="📧" * 99)
    ),
    "Subject of 100 characters (past SNS's limit, kept)": Case(
        note(bounce(), subject="S" * 100), 200, stores(sns_message__subject="S" * 100)
    ),
    "Subject of 10,000 characters": Case(
        note(bounce(), subject="x" * 10_000), 200, stores(sns_message__subject="x" * 10_000)
    ),
    "Subject right-to-left and combining marks": Case(
        note(bounce(), subject="\u05e9\u05dc\u05d5\u05dd e\u0301\u200f"),
        200,
        stores(sns_message__subject="\u05e9\u05dc\u05d5\u05dd e\u0301\u200f"),
    ),
    "Subject holding a NUL (kept as U+FFFD)": Case(
        note(bounce(), subject="a\x00b"), 200, stores(sns_message__subject="a\ufffdb")
    ),
    "Subject a lone surrogate escape": Case(
        after_signing(note(bounce()), Subject="\ud800"), 400, rows=NOTHING
    ),
    # --- Message ------------------------------------------------------------------------
    "Message holding NULs": Case(
        note('{"x": "a\x00b"}'), 200, stores(sns_message__message='{"x": "a\ufffdb"}'), RECORDED
    ),
    "Message of 256 KiB of text": Case(
        note("m" * 256 * 1024), 200, stores(sns_message__message="m" * 256 * 1024), RECORDED
    ),
    "Message over the 512 KiB body limit": Case(note("m" * 600 * 1024), 413, rows=NOTHING),
    "Message JSON nested 100,000 deep": Case(note("[" * 100_000), 200, rows=RECORDED),
    # --- SES ids ------------------------------------------------------------------------
    "SES messageId of 256 characters": Case(
        note(bounce(message_id="i" * 256)),
        200,
        stores(event__ses_message_id="i" * 256, suppression__ses_message_id="i" * 256),
        BOUNCED,
    ),
    "SES messageId of 257 characters": Case(
        note(bounce(message_id="i" * 257)),
        200,
        stores(event__ses_message_id=CLIPPED_257, suppression__ses_message_id=CLIPPED_257),
        BOUNCED,
    ),
    "SES messageId of 10,000 characters": Case(
        note(bounce(message_id="i" * 10_000)),
        200,
        stores(
            event__ses_message_id=CLIPPED_ID,
            suppression__ses_message_id=CLIPPED_ID,
        ),
        BOUNCED,
    ),
    "SES messageId of 1,024 emoji": Case(
        note(bounce(message_id="\U0001f4e7" * 1024)),
        200,
        stores(event__ses_message_id="\U0001f4e7" * 227 + "…[truncated: 1024 characters]"),
        BOUNCED,
    ),
    "SES messageId holding a NUL": Case(
        note(bounce(message_id="id\x00x")), 200, stores(event__ses_message_id="id\ufffdx"), BOUNCED
    ),
    "feedbackId of 256 characters": Case(
        note(bounce(feedback_id="f" * 256)),
        200,
        stores(event__feedback_id="f" * 256, suppression__feedback_id="f" * 256),
        BOUNCED,
    ),
    "feedbackId of 257 characters": Case(
        note(bounce(feedback_id="f" * 257)),
        200,
        stores(event__feedback_id="f" * 257, suppression__feedback_id="f" * 257),
        BOUNCED,
    ),
    "feedbackId of 50,000 characters": Case(
        note(bounce(feedback_id="f" * 50_000)),
        200,
        stores(event__feedback_id="f" * 50_000, suppression__feedback_id="f" * 50_000),
        BOUNCED,
    ),
    "feedbackId holding a lone surrogate": Case(
        note(bounce(feedback_id="fb\ud800")),
        200,
        stores(event__feedback_id="fb\ufffd", suppression__feedback_id="fb\ufffd"),
        BOUNCED,
    ),
    # --- subtypes, types, status, action ------------------------------------------------
    "bounceSubType OnAccountSuppressionList": Case(
        note(bounce(subtype="OnAccountSuppressionList")),
        200,
        stores(event__subtype="OnAccountSuppressionList"),
        BOUNCED,
    ),
    "bounceSubType of 64 characters": Case(
        note(bounce(subtype="s" * 64)),
        200,
        stores(event__subtype="s" * 64, suppression__subtype="s" * 64),
        BOUNCED,
    ),
    "bounceSubType of 65 characters": Case(
        note(bounce(subtype="s" * 65)),
        200,
        stores(event__subtype="s" * 65, suppression__subtype="s" * 65),
        BOUNCED,
    ),
    "bounceSubType of 5,000 characters": Case(
        note(bounce(subtype="s" * 5000)),
        200,
        stores(event__subtype="s" * 5000, suppression__subtype="s" * 5000),
        BOUNCED,
    ),
    "bounceType of 33 characters (unknown: recorded only)": Case(
        note(bounce(bounce_type="P" * 33)), 200, stores(event__bounce_type="P" * 33), RECORDED
    ),
    "bounceType of 5,000 characters": Case(
        note(bounce(bounce_type="P" * 5000)), 200, stores(event__bounce_type="P" * 5000), RECORDED
    ),
    "status 5.1.10": Case(note(bounce(status="5.1.10")), 200, stores(event__status="5.1.10")),
    "status of 65 characters": Case(
        note(bounce(status="5" * 65)), 200, stores(event__status="5" * 65), BOUNCED
    ),
    "status of 5,000 characters": Case(
        note(bounce(status="5" * 5000)), 200, stores(event__status="5" * 5000), BOUNCED
    ),
    "status holding a NUL": Case(
        note(bounce(status="5.1.1\x00")), 200, stores(event__status="5.1.1\ufffd"), BOUNCED
    ),
    "action of 5,000 characters (kept in the message)": Case(
        note(bounce(action="f" * 5000)), 200, rows=BOUNCED
    ),
    "complaintFeedbackType of 64 characters": Case(
        note(complaint(feedback_type="t" * 64)),
        200,
        stores(event__subtype="t" * 64, suppression__reason="complaint"),
        BOUNCED,
    ),
    "complaintFeedbackType of 5,000 characters": Case(
        note(complaint(feedback_type="t" * 5000)),
        200,
        stores(event__subtype="t" * 5000, suppression__subtype="t" * 5000),
        BOUNCED,
    ),
    "complaintSubType of 65 characters": Case(
        note(complaint(subtype="O" * 65)),
        200,
        stores(event__subtype="O" * 65, suppression__subtype="O" * 65),
        BOUNCED,
    ),
    "complaint userAgent of 20,000 characters": Case(
        note(complaint(user_agent="Mozilla/5.0 " * 1700)), 200, rows=BOUNCED
    ),
    "complaint arrivalDate nonsense": Case(
        note(complaint(extra={"arrivalDate": "x" * 1000})), 200, rows=BOUNCED
    ),
    "DeliveryDelay delayType of 5,000 characters": Case(
        note(
            event(
                "DeliveryDelay",
                "deliveryDelay",
                {
                    "delayType": "D" * 5000,
                    "delayedRecipients": [{"emailAddress": ADDRESS, "status": "4.4.1"}],
                    "timestamp": "2026-12-01T10:00:00.000Z",
                },
            )
        ),
        200,
        stores(event__subtype="D" * 5000),
        RECORDED,
    ),
    "Subscription source of 5,000 characters": Case(
        note(
            event(
                "Subscription",
                "subscription",
                {
                    "source": "U" * 5000,
                    "newTopicPreferences": {"unsubscribeAll": True},
                    "timestamp": "2026-12-01T10:00:00.000Z",
                },
            )
        ),
        200,
        stores(event__subtype="U" * 5000, suppression__subtype="U" * 5000),
        BOUNCED,
    ),
    # --- diagnostic codes ---------------------------------------------------------------
    "diagnosticCode of 1,000 lines": Case(
        note(bounce(diagnostic=THOUSAND_LINES)),
        200,
        stores(event__diagnostic_code=THOUSAND_LINES, suppression__diagnostic_code=THOUSAND_LINES),
        BOUNCED,
    ),
    "diagnosticCode holding NULs": Case(
        note(bounce(diagnostic="550\x00\x00 no")),
        200,
        stores(event__diagnostic_code="550\ufffd\ufffd no"),
        BOUNCED,
    ),
    "diagnosticCode a lone surrogate": Case(
        note(bounce(diagnostic="550 \udc80 bad")),
        200,
        stores(
            event__diagnostic_code="550 \ufffd bad", suppression__diagnostic_code="550 \ufffd bad"
        ),
        BOUNCED,
    ),
    "diagnosticCode in Japanese and emoji": Case(
        note(bounce(diagnostic="550 宛先不明です 📭")),
        200,
        stores(event__diagnostic_code="550 宛先不明です 📭"),
        BOUNCED,
    ),
    "Delivery smtpResponse of 100,000 characters": Case(
        note(
            event(
                "Delivery",
                "delivery",
                {
                    "recipients": [ADDRESS],
                    "smtpResponse": "250 " + "o" * 100_000,
                    "timestamp": "2026-12-01T10:00:00.000Z",
                },
            )
        ),
        200,
        stores(event__diagnostic_code="250 " + "o" * 100_000),
        RECORDED,
    ),
    "Reject reason of 10,000 characters": Case(
        note(event("Reject", "reject", {"reason": "Bad content " * 800})),
        200,
        stores(event__diagnostic_code="Bad content " * 800),
        RECORDED,
    ),
    "Rendering Failure errorMessage of 10,000 characters": Case(
        note(event("Rendering Failure", "failure", {"errorMessage": "e" * 10_000})),
        200,
        stores(event__diagnostic_code="e" * 10_000),
        RECORDED,
    ),
    # --- the other SES fields (kept in the stored message) ------------------------------
    "reportingMTA of 10,000 characters": Case(
        note(bounce(bounce_extra={"reportingMTA": "dns; " + "m" * 10_000})), 200, rows=BOUNCED
    ),
    "remoteMtaIp IPv6 at its longest": Case(
        note(bounce(bounce_extra={"remoteMtaIp": "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"})),
        200,
        rows=BOUNCED,
    ),
    "remoteMtaIp not an address": Case(
        note(bounce(bounce_extra={"remoteMtaIp": "x" * 10_000})), 200, rows=BOUNCED
    ),
    "sourceArn of 2,048 characters": Case(
        note(bounce(mail_extra={"sourceArn": "arn:aws:ses:us-east-1:1:identity/" + "d" * 2000})),
        200,
        rows=BOUNCED,
    ),
    "configuration set name of 64 characters": Case(
        note(bounce(mail_extra={"tags": {"ses:configuration-set": ["c" * 64]}})),
        200,
        rows=BOUNCED,
    ),
    "configuration set name of 65 characters": Case(
        note(bounce(mail_extra={"tags": {"ses:configuration-set": ["c" * 65]}})),
        200,
        rows=BOUNCED,
    ),
    "50 tags of 256-character values": Case(
        note(bounce(mail_extra={"tags": {f"tag{n}": ["v" * 256] for n in range(50)}})),
        200,
        rows=BOUNCED,
    ),
    "mail.source of 320 characters with a display name": Case(
        note(bounce(mail_extra={"source": f'"{"N" * 200}" <{LOCAL_64}@{"e" * 50}.com>'})),
        200,
        rows=BOUNCED,
    ),
    # --- addresses ----------------------------------------------------------------------
    "recipient of 254 characters": Case(
        note(bounce(recipient=LONGEST_ADDRESS)),
        200,
        stores(suppression__email=LONGEST_ADDRESS, event__email=LONGEST_ADDRESS),
        BOUNCED,
    ),
    "recipient of 254 characters behind a 600-character name": Case(
        note(bounce(recipient=f'"{"N" * 600}" <{LONGEST_ADDRESS.upper()}>')),
        200,
        stores(suppression__email=LONGEST_ADDRESS, suppression__display=LONGEST_ADDRESS.upper()),
        BOUNCED,
    ),
    "recipient of 255 characters (skipped)": Case(
        note(bounce(recipient="x" + LONGEST_ADDRESS)),
        200,
        rows={"sns_message": 1, "event": 0, "suppression": 0},
    ),
    "recipient of 2,000 characters (skipped)": Case(
        note(bounce(recipient="x" * 2000 + "@example.com")),
        200,
        rows={"sns_message": 1, "event": 0, "suppression": 0},
    ),
    "recipient holding a NUL (skipped)": Case(
        note(bounce(recipient="ja\x00ne@example.com")),
        200,
        rows={"sns_message": 1, "event": 0, "suppression": 0},
    ),
    "recipient with an internationalised domain": Case(
        note(bounce(recipient="Ann@Bücher.example")),
        200,
        stores(suppression__email="ann@xn--bcher-kva.example"),
        BOUNCED,
    ),
    # --- subscription fields ------------------------------------------------------------
    "Token of 2,048 characters": Case(
        subscribe(token="a" * 2048), 200, stores(subscription__token="a" * 2048)
    ),
    "Token of 100,000 characters (a SubscribeURL too long to request)": Case(
        subscribe(token="a" * 100_000), 403, rows=NOTHING
    ),
    "SubscribeURL of 8,000 characters": Case(
        signed_with(
            subscribe(),
            SubscribeURL="https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
            f"&TopicArn={TOPIC}&Token={'t' * 8000}",
        ),
        200,
        stores(subscription__status="confirmed"),
    ),
    "Token holding a NUL": Case(subscribe(token="abc\x00def"), 403, rows=NOTHING),
    "unsubscribe from a GovCloud FIFO topic": Case(
        unsubscribe(topic_arn=ARN_GOV),
        200,
        stores(subscription__topic_arn=ARN_GOV, subscription__status="unsubscribed"),
        {"sns_message": 1, "subscription": 1},
    ),
    "Subject holding a line break": Case(note(bounce(), subject="a\nb"), 403, rows=NOTHING),
    "bounce without a feedbackId": Case(
        note(bounce_without_feedback_id()), 200, stores(event__feedback_id=None), BOUNCED
    ),
    "50 recipients of 254 characters (SES's most per message)": Case(
        note(bounce_to([f"{n:02d}{LONGEST_ADDRESS[2:]}" for n in range(50)])),
        200,
        rows={"sns_message": 1, "event": 50, "suppression": 50},
    ),
    "diagnosticCode of 200,000 characters": Case(
        note(bounce(diagnostic="5" * 200_000)),
        200,
        stores(event__diagnostic_code="5" * 200_000, suppression__diagnostic_code="5" * 200_000),
        BOUNCED,
    ),
    "SignatureVersion of 100 characters, SNS_VERIFY_SIGNATURES=false (emulators)": Case(
        after_signing(note(bounce()), SignatureVersion="1" * 100),
        200,
        stores(sns_message__signature_version="1111"),
        BOUNCED,
        settings={"SNS_VERIFY_SIGNATURES": False},
    ),
    "UnsubscribeURL of 8,000 characters": Case(
        signed_with(
            note(bounce()), UnsubscribeURL="https://sns.us-east-1.amazonaws.com/?x=" + "u" * 8000
        ),
        200,
        rows=BOUNCED,
    ),
}


async def stored_rows(app: FastAPI) -> Stored:
    database: Database = app.state.services.database
    found: Stored = {}
    async with database.session() as session:
        for model in (ReceivedSnsMessage, Subscription, Event, Suppression):
            table = model.__tablename__
            rows = (await session.execute(select(model.__table__))).mappings().all()
            found[table] = [dict(row) for row in rows]
    return found


async def post(client: httpx.AsyncClient, envelope: dict[str, Any]) -> httpx.Response:
    # ASCII JSON (escapes for everything else), as SNS's bodies may be; only the headers
    # SNS always sends whose values are plain ASCII.
    headers = {"Content-Type": "text/plain; charset=UTF-8"}
    kind = envelope.get("Type")
    if isinstance(kind, str):
        headers["x-amz-sns-message-type"] = kind
    return await client.post("/sns", content=json.dumps(envelope).encode(), headers=headers)


OUTCOMES: dict[str, int] = {}


@pytest.mark.parametrize("name", list(CASES))
async def test_case(name: str, make_client: AppMaker, signer: SnsSigner) -> None:
    case = CASES[name]
    client, app = await make_client(SNS_TOPIC_ARNS=ALLOWED, **case.settings)
    envelope = case.build(signer)
    response = await post(client, envelope)
    OUTCOMES[name] = response.status_code
    assert response.status_code == case.status, response.text[:500]
    if response.status_code >= 400:
        assert "error" in response.json(), response.text[:500]
    found = await stored_rows(app)
    for table, count in case.rows.items():
        assert len(found[table]) == count, (table, [str(r)[:200] for r in found[table]])
    for key, value in case.stored.items():
        table, column = key.split(".")
        assert found[table], f"nothing stored in {table}"
        assert found[table][0][column] == value, (key, str(found[table][0][column])[:200])


def test_summary() -> None:
    """The figures for docs/reliability.md, from the cases that ran in this session."""
    assert len(CASES) >= 60
    assert OUTCOMES, "run with the table cases"
    five_xx = sum(status >= 500 for status in OUTCOMES.values())
    record(
        "operator corpus: ops",
        cases=len(OUTCOMES),
        refused=sum(400 <= status < 500 for status in OUTCOMES.values()),
        five_xx=five_xx,
        lines_lost=0,
    )
    assert five_xx == 0
