"""SQL for the event history: record each SES event once, page through it."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.array_insert import columns_of, unnest_insert
from app.db import dialect_insert, storable, table_of
from app.models import SES_MESSAGE_ID_LENGTH, Event
from app.ses.events import SesEvent
from app.vocabulary import Verdict

# Bounces and complaints carry a feedbackId that both SES shapes share (SPEC §3).
_FEEDBACK_KEYED = frozenset({"Bounce", "Complaint"})


def dedupe_key(event: SesEvent, email: str | None, *, sns_message_id: str) -> str:
    """The identity of one SES event for one recipient, the same in both shapes."""
    if event.type in _FEEDBACK_KEYED and event.feedback_id:
        parts = ["feedback", event.feedback_id, email or ""]
    elif event.ses_message_id:
        parts = ["message", event.ses_message_id, event.type, email or ""]
    else:
        # Nothing from SES identifies it (setup notices, foreign messages): the SNS
        # MessageId is all there is, and SNS de-duplication already covers it.
        parts = ["sns", sns_message_id, email or ""]
    # surrogatepass: SES text may carry a lone surrogate escape, which has no UTF-8 form;
    # the key still tells it apart from every other value.
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class EventRecord:
    """One row to record, already normalised."""

    dedupe_key: str
    email: str | None
    email_display: str | None
    status: str | None
    diagnostic_code: str | None
    verdict: str


_EVENT = table_of(Event)


@functools.cache
def _record_statement(dialect: str) -> Any:
    insert = dialect_insert(dialect)(_EVENT)
    return insert.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(
        _EVENT.c.dedupe_key
    )


async def record(
    session: AsyncSession,
    event: SesEvent,
    rows: Sequence[EventRecord],
    *,
    sns_message_id: str,
    now: datetime,
) -> set[str]:
    """Insert the rows not recorded before, in one statement; their dedupe keys.

    Rows go in the order given (callers sort them by address), so two transactions
    inserting the same keys wait on each other in the same order, never in a cycle.
    """
    return await record_many(session, [(event, sns_message_id, row) for row in rows], now=now)


async def record_many(
    session: AsyncSession,
    rows: Sequence[tuple[SesEvent, str, EventRecord]],
    *,
    now: datetime,
) -> set[str]:
    """``record`` for rows of many events (each with its SNS MessageId): one statement."""
    if not rows:
        return set()
    shared: dict[int, dict[str, Any]] = {}
    values = []
    for event, sns_message_id, row in rows:
        common = shared.get(id(event))
        if common is None:
            common = shared[id(event)] = _shared_values(event, sns_message_id, now=now)
        values.append(
            {
                **common,
                "dedupe_key": row.dedupe_key,
                "email": row.email,
                "email_display": row.email_display,
                "status": storable(row.status),
                "diagnostic_code": storable(row.diagnostic_code),
                "verdict": row.verdict,
            }
        )
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(values) > 1:
        result = await session.execute(_UNNEST_RECORD, columns_of(values, _RECORDED))
    else:
        result = await session.execute(_record_statement(dialect), values)
    return set(result.scalars())


_RECORDED = (
    "dedupe_key", "sns_message_id", "type", "subtype", "bounce_type", "ses_message_id",
    "feedback_id", "email", "email_display", "status", "diagnostic_code", "verdict",
    "occurred_at", "received_at",
)  # fmt: skip
_UNNEST_RECORD = unnest_insert(_EVENT, _RECORDED, conflict="dedupe_key", returning="dedupe_key")


def _shared_values(event: SesEvent, sns_message_id: str, *, now: datetime) -> dict[str, Any]:
    return {
        "sns_message_id": sns_message_id,
        "type": event.type,
        "subtype": storable(event.subtype),
        "bounce_type": storable(event.bounce_type),
        "ses_message_id": storable(event.ses_message_id, limit=SES_MESSAGE_ID_LENGTH),
        "feedback_id": storable(event.feedback_id),
        "occurred_at": event.occurred_at or now,
        "received_at": now,
    }


@dataclass(frozen=True)
class EventPage:
    items: Sequence[Event]
    next_id: int | None


async def page(
    session: AsyncSession,
    *,
    email: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> EventPage:
    """Newest first, keyset-paginated by id (stable while new events arrive)."""
    query = select(Event).order_by(Event.id.desc()).limit(limit + 1)
    if email is not None:
        query = query.where(Event.email == email)
    if type is not None:
        query = query.where(Event.type == type)
    if since is not None:
        query = query.where(Event.occurred_at >= since)
    if until is not None:
        query = query.where(Event.occurred_at < until)
    if before_id is not None:
        query = query.where(Event.id < before_id)
    rows = list((await session.scalars(query)).all())
    next_id = rows[limit - 1].id if len(rows) > limit else None
    return EventPage(rows[:limit], next_id)


async def for_email(session: AsyncSession, email: str, *, limit: int = 50) -> Sequence[Event]:
    query = select(Event).where(Event.email == email).order_by(Event.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def soft_bounce_history(
    session: AsyncSession, email: str, *, since: datetime
) -> tuple[tuple[datetime, ...], tuple[datetime, ...]]:
    """(soft-bounce times, delivery times) for an address since ``since``."""
    return (await soft_bounce_histories(session, [email], since=since))[email]


_HISTORIES = select(_EVENT.c.email, _EVENT.c.verdict, _EVENT.c.occurred_at).where(
    _EVENT.c.email.in_(bindparam("emails", expanding=True)),
    _EVENT.c.verdict.in_(bindparam("verdicts", expanding=True)),
    _EVENT.c.occurred_at > bindparam("since"),
)


async def soft_bounce_histories(
    session: AsyncSession, emails: Sequence[str], *, since: datetime
) -> dict[str, tuple[tuple[datetime, ...], tuple[datetime, ...]]]:
    """``soft_bounce_history`` of each address, in one query (at most a few hundred)."""
    bounces: dict[str, list[datetime]] = {email: [] for email in emails}
    deliveries: dict[str, list[datetime]] = {email: [] for email in emails}
    if emails:
        rows = await session.execute(
            _HISTORIES,
            {
                "emails": list(emails),
                "verdicts": [Verdict.SOFT_BOUNCE, Verdict.DELIVERY],
                "since": since,
            },
        )
        for row in rows:
            (bounces if row.verdict == Verdict.SOFT_BOUNCE else deliveries)[row.email].append(
                row.occurred_at
            )
    return {email: (tuple(bounces[email]), tuple(deliveries[email])) for email in emails}


async def types_by_message(
    session: AsyncSession, ses_message_ids: Sequence[str]
) -> dict[str, set[str]]:
    """The event types recorded for each of these SES message ids (``bouncer aws doctor
    --simulate`` waits on them); ids with none are left out."""
    found: dict[str, set[str]] = {}
    if not ses_message_ids:
        return found
    rows = await session.execute(
        select(Event.ses_message_id, Event.type).where(
            Event.ses_message_id.in_(list(ses_message_ids))
        )
    )
    for message_id, event_type in rows:
        if message_id is not None:
            found.setdefault(message_id, set()).add(str(event_type))
    return found
