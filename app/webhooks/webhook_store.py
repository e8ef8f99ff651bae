"""SQL for the webhook endpoints and their deliveries: adding and listing endpoints,
fanning the feed out into deliveries, claiming due ones, recording each try.

Several replicas share the work: an endpoint's fan-out and a due delivery are each taken
by one replica at a time (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer).
A claimed delivery's next_attempt_at moves past the try (a lease): a replica that dies
mid-try leaves it due again, so an event is delivered at least once, never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import change_feed
from app.db import storable, table_of
from app.models import ChangeEvent, Webhook, WebhookDelivery
from app.vocabulary import DeliveryStatus

_HOOK = table_of(Webhook)
_DELIVERY = table_of(WebhookDelivery)
_EVENT = table_of(ChangeEvent)
MAX_PAGE = 1000


async def add(
    session: AsyncSession,
    *,
    id: str,
    url: str,
    types: Sequence[str],
    secret: str,
    created_by: str,
    now: datetime,
) -> None:
    """Store the endpoint; it receives the events placed from now on."""
    await change_feed.place(session)
    await session.execute(
        insert(_HOOK).values(
            id=id,
            url=url,
            types=list(types),
            secret=secret,
            created_by=created_by,
            created_at=now,
            feed_position=await change_feed.end(session),
        )
    )


async def every(session: AsyncSession) -> Sequence[Row[Any]]:
    """Every endpoint, oldest first."""
    return (await session.execute(select(_HOOK).order_by(_HOOK.c.created_at, _HOOK.c.id))).all()


async def get(session: AsyncSession, webhook_id: str) -> Row[Any] | None:
    return (await session.execute(select(_HOOK).where(_HOOK.c.id == webhook_id))).first()


async def remove(session: AsyncSession, webhook_id: str) -> bool:
    """Delete the endpoint and its deliveries; False if there is none."""
    await session.execute(delete(_DELIVERY).where(_DELIVERY.c.webhook_id == webhook_id))
    result = await session.execute(delete(_HOOK).where(_HOOK.c.id == webhook_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def fan_out(session: AsyncSession, *, now: datetime, limit: int = 500) -> int:
    """Turn the events each endpoint has not yet been given into due deliveries (those of
    its types), moving its feed position on. How many deliveries were made."""
    hooks = (
        await session.execute(
            select(_HOOK.c.id, _HOOK.c.types, _HOOK.c.feed_position)
            .order_by(_HOOK.c.id)
            .with_for_update(skip_locked=True)
        )
    ).all()
    made = 0
    for hook in hooks:
        page = await change_feed.page(session, hook.feed_position, limit=limit)
        if not page.items:
            continue
        wanted = set(hook.types)
        rows = [
            {
                "webhook_id": hook.id,
                "event_id": event.id,
                "status": DeliveryStatus.PENDING,
                "attempt": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for event in page.items
            if event.type in wanted
        ]
        if rows:
            await session.execute(insert(_DELIVERY), rows)
        await session.execute(
            update(_HOOK).where(_HOOK.c.id == hook.id).values(feed_position=page.next)
        )
        made += len(rows)
    return made


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one try: what to send, where, and how to sign it."""

    delivery_id: int
    attempt: int  # this try's number, from 1
    first_due: datetime  # when the delivery was made: retries stop 24 h after
    webhook_id: str
    url: str
    secret: str
    event: Row[Any] | None  # None: the event was pruned (CHANGES_RETENTION_DAYS)

    def __repr__(self) -> str:  # never the secret, should a claim be logged
        return f"Claimed(delivery_id={self.delivery_id}, webhook_id={self.webhook_id!r})"


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[Claimed]:
    """Take up to ``limit`` due deliveries for a try each: their attempt counts the try,
    and they are not due again before ``lease_until`` unless recorded."""
    due = (
        select(_DELIVERY.c.id)
        .where(_DELIVERY.c.status == DeliveryStatus.PENDING, _DELIVERY.c.next_attempt_at <= now)
        .order_by(_DELIVERY.c.next_attempt_at, _DELIVERY.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list((await session.scalars(due)).all())
    if not ids:
        return []
    await session.execute(
        update(_DELIVERY)
        .where(_DELIVERY.c.id.in_(ids))
        .values(attempt=_DELIVERY.c.attempt + 1, next_attempt_at=lease_until)
    )
    rows = await session.execute(
        select(
            _DELIVERY.c.id,
            _DELIVERY.c.attempt,
            _DELIVERY.c.created_at,
            _HOOK.c.id.label("webhook_id"),
            _HOOK.c.url,
            _HOOK.c.secret,
            _EVENT.c.id.label("event_row"),
        )
        .join(_HOOK, _HOOK.c.id == _DELIVERY.c.webhook_id)
        .outerjoin(_EVENT, _EVENT.c.id == _DELIVERY.c.event_id)
        .where(_DELIVERY.c.id.in_(ids))
        .order_by(_DELIVERY.c.id)
    )
    claimed = rows.all()
    events = await change_feed.by_ids(session, [r.event_row for r in claimed if r.event_row])
    return [
        Claimed(
            r.id, r.attempt, r.created_at, r.webhook_id, r.url, r.secret, events.get(r.event_row)
        )
        for r in claimed
    ]


@dataclass(frozen=True)
class TryOutcome:
    """What one try came to."""

    delivered: bool
    status_code: int | None
    error: str | None
    # The next try, when not delivered; None: retries are over, the delivery failed.
    next_attempt_at: datetime | None


async def record(
    session: AsyncSession, claim: Claimed, outcome: TryOutcome, *, now: datetime
) -> bool:
    """Write the try's outcome, unless the delivery was claimed again since (its lease ran
    out and another replica tried it): False then, and nothing written."""
    if outcome.delivered:
        status = DeliveryStatus.DELIVERED
    elif outcome.next_attempt_at is None:
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
    result = await session.execute(
        update(_DELIVERY)
        .where(_DELIVERY.c.id == claim.delivery_id, _DELIVERY.c.attempt == claim.attempt)
        .values(
            status=status,
            status_code=outcome.status_code,
            error=storable(outcome.error, limit=1000),
            at=now,
            next_attempt_at=None if status != DeliveryStatus.PENDING else outcome.next_attempt_at,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    endpoint = update(_HOOK).where(_HOOK.c.id == claim.webhook_id)
    if status == DeliveryStatus.DELIVERED:
        await session.execute(
            endpoint.where(_HOOK.c.failing_since.is_not(None)).values(
                failing_since=None, last_error=None
            )
        )
    elif status == DeliveryStatus.FAILED:
        await session.execute(
            endpoint.where(_HOOK.c.failing_since.is_(None)).values(failing_since=now)
        )
        await session.execute(endpoint.values(last_error=storable(outcome.error, limit=1000)))
    return True


async def deliveries(
    session: AsyncSession, webhook_id: str, *, limit: int, before_id: int | None = None
) -> list[Row[Any]]:
    """The endpoint's deliveries, newest first, with their event's public id and type."""
    query = (
        select(
            _DELIVERY,
            _EVENT.c.uid.label("event_uid"),
            _EVENT.c.type.label("event_type"),
        )
        .outerjoin(_EVENT, _EVENT.c.id == _DELIVERY.c.event_id)
        .where(_DELIVERY.c.webhook_id == webhook_id)
        .order_by(_DELIVERY.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(_DELIVERY.c.id < before_id)
    return list((await session.execute(query)).all())


async def prune(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Drop at most ``limit`` of the finished deliveries made before ``before``
    (CHANGES_RETENTION_DAYS), oldest first: a bounded batch, never one long transaction."""
    oldest = (
        select(_DELIVERY.c.id)
        .where(_DELIVERY.c.created_at < before, _DELIVERY.c.status != DeliveryStatus.PENDING)
        .order_by(_DELIVERY.c.created_at)
        .limit(limit)
    )
    result = await session.execute(delete(_DELIVERY).where(_DELIVERY.c.id.in_(oldest)))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def any_endpoint(session: AsyncSession) -> bool:
    """Whether there is an endpoint at all: without one the deliverer has nothing to do."""
    return await session.scalar(select(_HOOK.c.id).limit(1)) is not None
