"""Every table bouncer keeps, in one place so Alembic has one import."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime

__all__ = [
    "Base",
    "Event",
    "RecipientState",
    "Send",
    "SnsMessage",
    "Subscription",
    "Suppression",
    "SuppressionChange",
]


# Column widths, each several times the longest value AWS writes (see README, "Limits").
# An SNS MessageId is a UUID (36); sns.envelope refuses a longer one than this.
SNS_MESSAGE_ID_LENGTH = 128
# arn:aws-us-gov:sns:us-gov-west-1:<12 digits>:<256-character name>.fifo is 309 characters;
# sns.envelope refuses a longer TopicArn than this.
TOPIC_ARN_LENGTH = 1024
# SES message ids are about 60 characters; a longer one (not SES's) is clipped with a
# marker (db.storable). Bounded, unlike the free text around it, because it is indexed.
SES_MESSAGE_ID_LENGTH = 256


class SnsMessage(Base):
    """Every SNS message accepted at /sns, once per MessageId (SNS delivers at least once)."""

    __tablename__ = "sns_message"

    message_id: Mapped[str] = mapped_column(String(SNS_MESSAGE_ID_LENGTH), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    topic_arn: Mapped[str] = mapped_column(String(TOPIC_ARN_LENGTH))
    subject: Mapped[str | None] = mapped_column(Text)
    # The Message exactly as signed: for SES, the event JSON.
    message: Mapped[str] = mapped_column(Text)
    signature_version: Mapped[str] = mapped_column(String(4))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index(None, "received_at"),)


class Subscription(Base):
    """The SNS subscriptions seen at /sns, one row per topic."""

    __tablename__ = "subscription"

    topic_arn: Mapped[str] = mapped_column(String(TOPIC_ARN_LENGTH), primary_key=True)
    # pending | confirmed | unsubscribed | failed (confirming it failed: see last_error)
    status: Mapped[str] = mapped_column(String(16))
    token: Mapped[str | None] = mapped_column(Text)
    subscribe_url: Mapped[str | None] = mapped_column(Text)
    confirmed_via: Mapped[str | None] = mapped_column(String(8))  # api | url
    last_message_id: Mapped[str] = mapped_column(String(SNS_MESSAGE_ID_LENGTH))
    # Why the last confirmation failed, for the operator who retries it; None otherwise.
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    """The event history: one row per SES event and recipient, whatever shape it came in."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # One effect per SES event: sha256 of (feedbackId, recipient) for bounces and
    # complaints, (SES message id, type, recipient) for the rest (SPEC §3).
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    sns_message_id: Mapped[str] = mapped_column(String(SNS_MESSAGE_ID_LENGTH))
    type: Mapped[str] = mapped_column(String(32))
    # What SES copies from the remote server or the ISP is free text, stored whole (the
    # SNS message bounds it at 256 KiB): subtypes, feedback ids, DSN status, diagnostics.
    subtype: Mapped[str | None] = mapped_column(Text)
    bounce_type: Mapped[str | None] = mapped_column(Text)
    ses_message_id: Mapped[str | None] = mapped_column(String(SES_MESSAGE_ID_LENGTH))
    feedback_id: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(320))
    email_display: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str | None] = mapped_column(Text)
    diagnostic_code: Mapped[str | None] = mapped_column(Text)
    # What the policy made of it: hard_bounce, soft_bounce, complaint, unsubscribe,
    # delivery or record_only.
    verdict: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index(None, "email", "occurred_at"),
        Index(None, "ses_message_id"),
        Index(None, "occurred_at"),
        Index(None, "verdict", "occurred_at"),
    )


class RecipientState(Base):
    """Per-address soft-bounce state; its row is also the lock that serialises one address."""

    __tablename__ = "recipient_state"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    soft_bounce_count: Mapped[int] = mapped_column(Integer, default=0)
    last_soft_bounce_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Soft bounces at or before this instant (the last delivery) no longer count.
    soft_reset_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Suppression(Base):
    """The suppression list: one row per normalised address."""

    __tablename__ = "suppression"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    display: Mapped[str] = mapped_column(String(320))
    domain: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(16))
    subtype: Mapped[str | None] = mapped_column(Text)
    diagnostic_code: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8))  # sns | api | cli | import | sync
    ses_message_id: Mapped[str | None] = mapped_column(String(SES_MESSAGE_ID_LENGTH))
    feedback_id: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index(None, "created_at", "email"),
        Index(None, "reason", "created_at"),
        Index(None, "domain"),
    )


class SuppressionChange(Base):
    """Every change to a suppression entry: who, when, what and why; kept after removal."""

    __tablename__ = "suppression_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(16))  # added | updated | removed
    actor: Mapped[str] = mapped_column(String(64))  # sns, a token's name, import, cli
    reason: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index(None, "email", "at"),)


class Send(Base):
    """Every send through the wrapper: the denominator of the bounce and complaint rates."""

    __tablename__ = "send"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ses_message_id: Mapped[str | None] = mapped_column(String(SES_MESSAGE_ID_LENGTH))
    sender: Mapped[str] = mapped_column(String(998))
    sent_to: Mapped[list[str]] = mapped_column(JSON)
    suppressed: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    recipient_count: Mapped[int] = mapped_column(Integer)
    configuration_set: Mapped[str | None] = mapped_column(String(256))
    outcome: Mapped[str] = mapped_column(String(16))  # sent | all_suppressed | ses_error
    ses_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index(None, "ses_message_id"), Index(None, "created_at"))
