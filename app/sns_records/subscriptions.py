"""The subscription table: one row per SNS topic seen at /sns, and how confirming it went."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for, storable
from app.models import Subscription
from app.sns.confirmation import Confirmation
from app.sns.envelope import SnsMessage
from app.vocabulary import ConfirmedVia, SubscriptionStatus

# An error message quotes at most a short answer; keep a list of subscriptions readable.
LAST_ERROR_LENGTH = 1000


async def save_subscription(
    session: AsyncSession,
    message: SnsMessage,
    *,
    status: SubscriptionStatus,
    now: datetime,
    confirmed_via: ConfirmedVia | None = None,
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
    session: AsyncSession,
    confirmation: Confirmation,
    *,
    message_id: str,
    error: str,
    now: datetime,
) -> None:
    """Record that confirming the topic's subscription failed, with what an operator needs
    to retry it; a confirmed subscription stays confirmed (a second confirmation that fails
    leaves the one that works)."""
    insert = insert_for(session)
    values = {
        "status": SubscriptionStatus.FAILED,
        "token": storable(confirmation.token),
        "subscribe_url": storable(confirmation.subscribe_url),
        "confirmed_via": None,
        "last_message_id": message_id,
        "last_error": storable(error, limit=LAST_ERROR_LENGTH),
        "updated_at": now,
    }
    statement = insert(Subscription).values(
        topic_arn=confirmation.topic_arn, created_at=now, **values
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["topic_arn"],
            set_=values,
            where=Subscription.status != SubscriptionStatus.CONFIRMED,
        )
    )


async def mark_confirmed(
    session: AsyncSession, topic_arn: str, *, via: ConfirmedVia, now: datetime
) -> None:
    subscription = await session.get(Subscription, topic_arn, with_for_update=True)
    if subscription is not None:
        subscription.status = SubscriptionStatus.CONFIRMED
        subscription.confirmed_via = via
        subscription.last_error = None
        subscription.updated_at = now


async def get_subscription(session: AsyncSession, topic_arn: str) -> Subscription | None:
    return await session.get(Subscription, topic_arn)


async def list_subscriptions(session: AsyncSession) -> Sequence[Subscription]:
    result = await session.scalars(select(Subscription).order_by(Subscription.topic_arn))
    return result.all()
