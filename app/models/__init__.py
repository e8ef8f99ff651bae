"""Every table bouncer keeps, in one place so Alembic has one import; the column type of
their stored words is in app.models.stored_words."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime
from app.models.changes import ChangeEvent, ChangeSweep, Webhook, WebhookDelivery
from app.models.ids import BigId
from app.models.stored_words import stored_word
from app.settings import REGION_LENGTH
from app.vocabulary import (
    ChangeAction,
    ConfirmedVia,
    EventType,
    Reason,
    SendOutcome,
    SnsMessageType,
    Source,
    SubscriptionStatus,
    Verdict,
)

__all__ = [
    "Base",
    "ChangeEvent",
    "ChangeSweep",
    "Event",
    "ReceivedSnsMessage",
    "RecipientState",
    "Send",
    "SesMirror",
    "SesOutbox",
    "SesSyncState",
    "Subscription",
    "Suppression",
    "SuppressionChange",
    "Webhook",
    "WebhookDelivery",
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


class ReceivedSnsMessage(Base):
    """Every SNS message accepted at /sns, once per MessageId (SNS delivers at least once).

    The stored row of an app.sns.envelope.SnsMessage (the parsed, checked message).
    """

    __tablename__ = "sns_message"

    message_id: Mapped[str] = mapped_column(String(SNS_MESSAGE_ID_LENGTH), primary_key=True)
    type: Mapped[SnsMessageType] = mapped_column(stored_word(SnsMessageType, "type", 32))
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
    status: Mapped[SubscriptionStatus] = mapped_column(
        stored_word(SubscriptionStatus, "status", 16)
    )
    token: Mapped[str | None] = mapped_column(Text)
    subscribe_url: Mapped[str | None] = mapped_column(Text)
    confirmed_via: Mapped[ConfirmedVia | None] = mapped_column(
        stored_word(ConfirmedVia, "confirmed_via", 8)
    )
    last_message_id: Mapped[str] = mapped_column(String(SNS_MESSAGE_ID_LENGTH))
    # Why the last confirmation failed, for the operator who retries it; None otherwise.
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Event(Base):
    """The event history: one row per SES event and recipient, whatever shape it came in."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # One effect per SES event: sha256 of (feedbackId, recipient) for bounces and
    # complaints, (SES message id, type, recipient) for the rest (SPEC §3).
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    sns_message_id: Mapped[str] = mapped_column(String(SNS_MESSAGE_ID_LENGTH))
    type: Mapped[EventType] = mapped_column(stored_word(EventType, "type", 32))
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
    # What the policy made of it.
    verdict: Mapped[Verdict] = mapped_column(stored_word(Verdict, "verdict", 16))
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
    reason: Mapped[Reason] = mapped_column(stored_word(Reason, "reason", 16))
    subtype: Mapped[str | None] = mapped_column(Text)
    diagnostic_code: Mapped[str | None] = mapped_column(Text)
    source: Mapped[Source] = mapped_column(stored_word(Source, "source", 8))
    ses_message_id: Mapped[str | None] = mapped_column(String(SES_MESSAGE_ID_LENGTH))
    feedback_id: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index(None, "created_at", "email"),
        Index(None, "reason", "created_at"),
        # The active entries of each reason, counted from the index alone (migration 0009).
        Index("ix_suppression_reason_expires_at", "reason", "expires_at"),
        # The expiry sweep's walk: entries whose expires_at just passed, in the sweep's
        # (expires_at, email) order, resumed past the last one reported (migration 0012).
        Index(None, "expires_at", "email"),
        Index(None, "domain"),
        # An address prefix (the list's q=) as a range of this index, whatever the
        # database's collation; PostgreSQL only (migration 0010, migrations/env.py).
        Index(
            "ix_suppression_email_prefix",
            "email",
            postgresql_ops={"email": "varchar_pattern_ops"},
            info={"dialect": "postgresql"},
        ).ddl_if(dialect="postgresql"),
    )


class SuppressionChange(Base):
    """Every change to a suppression entry: who, when, what and why; kept after removal."""

    __tablename__ = "suppression_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    action: Mapped[ChangeAction] = mapped_column(stored_word(ChangeAction, "action", 16))
    actor: Mapped[str] = mapped_column(String(64))  # sns, a token's name, import, cli
    reason: Mapped[Reason | None] = mapped_column(stored_word(Reason, "reason", 16))
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
    outcome: Mapped[SendOutcome] = mapped_column(stored_word(SendOutcome, "outcome", 16))
    ses_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index(None, "ses_message_id"),
        # The rates' sums of recipients sent, read from the index alone (migration 0011).
        Index(None, "created_at", "outcome", "recipient_count"),
    )


class SesMirror(Base):
    """SES's account-level suppression list as bouncer last read it (SPEC §7), per region
    and exact form: only entries bouncer can take (an address, BOUNCE or COMPLAINT)."""

    __tablename__ = "ses_mirror"

    region: Mapped[str] = mapped_column(String(REGION_LENGTH), primary_key=True)
    # Exactly as SES holds it: its management API matches case exactly.
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    # The address's key (app.addresses), as the suppression list is keyed.
    key: Mapped[str] = mapped_column(String(320))
    # SES's word (BOUNCE, COMPLAINT), not bouncer's: a plain column, no CHECK.
    reason: Mapped[str] = mapped_column(String(16))
    # SES's LastUpdateTime; for an entry bouncer's own Put made, the moment bouncer
    # checked the address before it (what the entry stands for).
    last_update: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set when bouncer's own Put made the entry: when the call ended (bouncer's clock).
    # SES dates the entry itself when the call lands, after throttled retries and by
    # its own clock: a read that shows it no later than this (give or take a skew) shows
    # bouncer's Put, never a new bounce after a removal.
    pushed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index(None, "region", "key"),)


class SesSyncState(Base):
    """Where the sync stands with one region's list."""

    __tablename__ = "ses_sync_state"

    region: Mapped[str] = mapped_column(String(REGION_LENGTH), primary_key=True)
    # The start of the last whole read of SES's list (the mirror then held all of it).
    full_read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The start of the last read, whole or incremental: the next incremental read asks
    # SES for the entries updated since (less an overlap) with StartDate.
    watermark: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pass_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Why the last pass failed in this region, None when it did not.
    last_error: Mapped[str | None] = mapped_column(Text)


class SesOutbox(Base):
    """Removals waiting to be deleted from a region's SES list, written in the same
    transaction as the removal, so a failed call is retried by the next pass (SPEC §7)."""

    __tablename__ = "ses_outbox"

    region: Mapped[str] = mapped_column(String(REGION_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    # The removal: SES entries updated after it are a new bounce, and are left alone.
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class SesSyncLease(Base):
    """Whose sync pass runs (SPEC §7: one at a time across replicas), renewed while it
    does. On PostgreSQL the pass also holds an advisory lock, which goes with its
    connection: should that connection drop mid-pass, the lease still keeps the other
    replicas off until the pass notices and stops."""

    __tablename__ = "ses_sync_lease"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    # By the database's clock, so that the replicas' own clocks do not matter.
    renewed_at: Mapped[datetime] = mapped_column(UtcDateTime)
