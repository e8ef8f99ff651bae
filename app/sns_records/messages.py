"""The sns_message table: every SNS message bouncer accepted, once per MessageId."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert, storable, table_of
from app.models import ReceivedSnsMessage
from app.sns.envelope import SnsMessage


@functools.cache
def _record_statement(dialect: str) -> Any:
    # Built once per dialect, values as parameters: on every notification's path.
    insert = dialect_insert(dialect)(table_of(ReceivedSnsMessage))
    return insert.on_conflict_do_nothing(index_elements=["message_id"])


async def record_message(session: AsyncSession, message: SnsMessage, *, now: datetime) -> bool:
    """Store the message once per MessageId; False when it was stored before."""
    result = await session.execute(
        _record_statement(session.get_bind().dialect.name), _values(message, now=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _values(message: SnsMessage, *, now: datetime) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "type": message.type,
        "topic_arn": message.topic_arn,
        "subject": storable(message.subject),
        "message": storable(message.message) or "",
        # "1" or "2" once verified; anything with SNS_VERIFY_SIGNATURES=false (emulators).
        "signature_version": storable(message.signature_version, limit=4),
        "sent_at": message.timestamp,
        "received_at": now,
    }


async def is_known_message(session: AsyncSession, message_id: str) -> bool:
    found = await session.scalar(
        select(ReceivedSnsMessage.message_id).where(ReceivedSnsMessage.message_id == message_id)
    )
    return found is not None


@functools.cache
def _record_many_statement(dialect: str) -> Any:
    return _record_statement(dialect).returning(table_of(ReceivedSnsMessage).c.message_id)


async def record_messages(
    session: AsyncSession, messages: Sequence[SnsMessage], *, now: datetime
) -> set[str]:
    """``record_message`` for many in one statement, in MessageId order (so two
    transactions storing the same messages wait in turn); the MessageIds new here."""
    if not messages:
        return set()
    ordered = sorted(messages, key=lambda message: message.message_id)
    result = await session.execute(
        _record_many_statement(session.get_bind().dialect.name),
        [_values(message, now=now) for message in ordered],
    )
    return set(result.scalars())
