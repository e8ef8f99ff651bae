"""SQL for the send log: one row per attempt through the send wrapper, the rates' denominator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import change_feed
from app.db import storable, table_of
from app.models import Send
from app.vocabulary import SendOutcome

_ADD = insert(table_of(Send))  # Core, built once: on every send's path


async def record_send(
    session: AsyncSession,
    *,
    sender: str,
    sent_to: Sequence[str],
    suppressed: Sequence[tuple[str, str]],
    configuration_set: str | None,
    outcome: SendOutcome,
    now: datetime,
    ses_message_id: str | None = None,
    ses_code: str | None = None,
    actor: str | None = None,
) -> None:
    """Add the row, and a ``send.suppressed`` event per recipient dropped (SPEC §10);
    ``sent_to`` holds only the recipients SES accepted the message for."""
    await session.execute(
        _ADD,
        {
            "ses_message_id": storable(ses_message_id, limit=256),
            "sender": sender[:998],
            "sent_to": list(sent_to),
            "suppressed": [{"email": email, "reason": reason} for email, reason in suppressed],
            "recipient_count": len(sent_to),
            "configuration_set": storable(configuration_set, limit=256),
            "outcome": outcome,
            "ses_code": storable(ses_code, limit=64),
            "created_at": now,
        },
    )
    await change_feed.record_refused_sends(
        session, suppressed, actor=actor, ses_message_id=ses_message_id, now=now
    )


async def count_recipients_sent(session: AsyncSession, *, since: datetime, until: datetime) -> int:
    """Recipients SES accepted messages for in [since, until): the rates' denominator.

    Recipients, not messages: SES reports each bounce and complaint per recipient.
    """
    total = await session.scalar(
        select(func.coalesce(func.sum(Send.recipient_count), 0)).where(
            sent_between(since=since, until=until)
        )
    )
    return int(total or 0)


def sent_between(
    *, since: datetime | ColumnElement[datetime], until: datetime | ColumnElement[datetime]
) -> ColumnElement[bool]:
    """The sends ``count_recipients_sent`` counts: SES accepted them, in [since, until)
    (moments, or the parameters a statement built once takes them as)."""
    return and_(Send.outcome == SendOutcome.SENT, Send.created_at >= since, Send.created_at < until)
