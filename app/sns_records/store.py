"""SQL for accepted SNS messages and the subscriptions they belong to."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert, insert_for, storable, table_of
from app.models import ReceivedSnsMessage, Subscription
from app.sns.envelope import SnsMessage
from app.vocabulary import ConfirmedVia, SubscriptionStatus


@functools.cache
def _record_statement(dialect: str) -> Any:
    # Built once per dialect, values as parameters: on every notification's path.
    insert = dialect_insert(dialect)(table_of(ReceivedSnsMessage))
    return insert.on_conflict_do_nothing(index_elements=["message_id"])


async def record_message(session: AsyncSession, message: SnsMessage, *, now: datetime) -> bool:
    """Store the message once per MessageId; False when it was stored before."""
    result = await session.execute(
        _record_statement(session.get_bind().dialect.name),
        {
            "message_id": message.message_id,
            "type": message.type,
            "topic_arn": message.topic_arn,
            "subject": storable(message.subject),
            "message": storable(message.message) or "",
            # "1" or "2" once verified; anything with SNS_VERIFY_SIGNATURES=false (emulators).
            "signature_version": storable(message.signature_version, limit=4),
            "sent_at": message.timestamp,
            "received_at": now,
        },
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def is_known_message(session: AsyncSession, message_id: str) -> bool:
    found = await session.scalar(
        select(ReceivedSnsMessage.message_id).where(ReceivedSnsMessage.message_id == message_id)
    )
    return found is not None


# An error message quotes at most a short answer; keep a list of subscriptions readable.
LAST_ERROR_LENGTH = 1000


async def save_subscription(
    session: AsyncSession,
    message: SnsMessage,
    *,
    status: str,
    now: datetime,
    confirmed_via: str | None = None,
) -> None:
    """Insert or update the topic's subscription row from a (un)subscribe message."""
    insert = insert_for(session)
    values = {
        "status": status,
        "token": storable(message.token),
        "subscribe_url": storable(message.subscribe_url),
        "confirmed_via": confirmed_via,
        "last_message_id": message.message_id,
        "last_error": None,
        "updated_at": now,
    }
    statement = insert(Subscription).values(topic_arn=message.topic_arn, created_at=now, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["topic_arn"], set_=values)
    )


async def mark_failed(
    session: AsyncSession, message: SnsMessage, *, error: str, now: datetime
) -> None:
    """Record that confirming the topic's subscription failed, with what an operator needs
    to retry it; a confirmed subscription stays confirmed (a second confirmation that fails
    leaves the one that works)."""
    insert = insert_for(session)
    values = {
        "status": "failed",
        "token": storable(message.token),
        "subscribe_url": storable(message.subscribe_url),
        "confirmed_via": None,
        "last_message_id": message.message_id,
        "last_error": storable(error, limit=LAST_ERROR_LENGTH),
        "updated_at": now,
    }
    statement = insert(Subscription).values(topic_arn=message.topic_arn, created_at=now, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["topic_arn"],
            set_=values,
            where=Subscription.status != "confirmed",
        )
    )


async def mark_confirmed(session: AsyncSession, topic_arn: str, *, via: str, now: datetime) -> None:
    subscription = await session.get(Subscription, topic_arn, with_for_update=True)
    if subscription is not None:
        subscription.status = SubscriptionStatus.CONFIRMED
        subscription.confirmed_via = ConfirmedVia(via)
        subscription.last_error = None
        subscription.updated_at = now


async def get_subscription(session: AsyncSession, topic_arn: str) -> Subscription | None:
    return await session.get(Subscription, topic_arn)


async def list_subscriptions(session: AsyncSession) -> Sequence[Subscription]:
    result = await session.scalars(select(Subscription).order_by(Subscription.topic_arn))
    return result.all()
