"""The change feed and the webhooks that deliver it (SPEC §10)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UtcDateTime
from app.models.ids import BigId
from app.models.stored_words import stored_word
from app.vocabulary import ChangeType, DeliveryStatus, Reason, Source

# An event's public id, "evt_" and 32 hex digits: the feed's "id" and the webhook-id.
EVENT_ID_LENGTH = 36


class ChangeEvent(Base):
    """One event of the change feed: written in the transaction of the change it reports.

    The list's changes come from the ``suppression_change_feed`` trigger on
    suppression_change (migration 0012): every writer of a history line, the bulk ones
    included, writes the event with it, and none can forget to. ``send.suppressed``
    events are written with the send's row (activity.send_log).
    """

    __tablename__ = "change_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The database's default (migration 0012): the trigger and the send log leave it out.
    # 128 random bits: unique without an index to keep up on every write (none looks an
    # event up by it), and unlike the id never repeated by a database started afresh, so
    # receivers that dedupe on it never drop a new event as seen.
    uid: Mapped[str] = mapped_column(String(EVENT_ID_LENGTH))
    # Its place in the feed, given by the sequencer (activity.change_feed) once its
    # transaction has committed; None until then. Not the id: ids are taken in insert
    # order but committed in any order.
    position: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[ChangeType] = mapped_column(stored_word(ChangeType, "type", 32))
    email: Mapped[str] = mapped_column(String(320))
    reason: Mapped[Reason | None] = mapped_column(stored_word(Reason, "reason", 16))
    subtype: Mapped[str | None] = mapped_column(Text)
    source: Mapped[Source | None] = mapped_column(stored_word(Source, "source", 8))
    actor: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ses_message_id: Mapped[str | None] = mapped_column(String(256))
    feedback_id: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_change_event_position", "position", unique=True),
        # The sequencer's work: the events without a position yet.
        Index(
            "ix_change_event_unplaced",
            "id",
            postgresql_where=position.is_(None),
            sqlite_where=position.is_(None),
        ),
    )


class Webhook(Base):
    """An endpoint the change feed is delivered to, with its own secret."""

    __tablename__ = "webhook"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # wh_ and 32 hex digits
    url: Mapped[str] = mapped_column(Text)
    types: Mapped[list[str]] = mapped_column(JSON)
    # whsec_ + base64: it signs every delivery, so it is kept as given; never logged.
    secret: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The feed position its deliveries have been made up to.
    feed_position: Mapped[int] = mapped_column(BigInteger)
    # Since a delivery ran out of retries; None again after a 2xx.
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One event to one endpoint: its attempts, their answer, and when the next is due."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[DeliveryStatus] = mapped_column(stored_word(DeliveryStatus, "status", 16))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The last attempt's end.
    at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Pending: when it is due. A claimed delivery's is pushed past the attempt (a lease),
    # so a replica that dies mid-attempt leaves it due again, not lost.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        Index(None, "webhook_id", "id"),
        Index(None, "created_at"),
    )


class ChangeSweep(Base):
    """How far the periodic expiry sweep has looked: the entries up to (done_until,
    done_email) in (expires_at, email) order have their ``suppression.expired`` event;
    done_email None: every entry whose expires_at is done_until or before."""

    __tablename__ = "change_sweep"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    done_until: Mapped[datetime] = mapped_column(UtcDateTime)
    # The last entry a full batch reported: the rest of its instant is still to do.
    done_email: Mapped[str | None] = mapped_column(String(320))
