"""Bounce and complaint rates over a window, against the levels at which SES acts.

SES reviews an account at a 5 % bounce rate or a 0.1 % complaint rate and may pause
its sending at 10 % or 0.5 %:
https://docs.aws.amazon.com/ses/latest/dg/faqs-enforcement.html
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event
from app.ses.sends import count_recipients_sent

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@dataclass(frozen=True)
class Level:
    review: float
    pause: float

    def standing(self, rate: float | None) -> str:
        if rate is None:
            return "unknown"
        if rate >= self.pause:
            return "pause"
        if rate >= self.review:
            return "review"
        if rate >= self.review / 2:
            return "warning"
        return "ok"


BOUNCE = Level(review=0.05, pause=0.10)
COMPLAINT = Level(review=0.001, pause=0.005)


@dataclass(frozen=True)
class Stats:
    window: str
    since: datetime
    until: datetime
    sends: int
    deliveries: int
    hard_bounces: int
    soft_bounces: int
    complaints: int
    denominator: int
    denominator_source: str  # sends | events | none
    bounce_rate: float | None
    complaint_rate: float | None
    bounce_standing: str
    complaint_standing: str


async def compute(session: AsyncSession, *, window: str, now: datetime) -> Stats:
    since = now - WINDOWS[window]
    counts = dict(
        (
            await session.execute(
                select(Event.verdict, func.count())
                .where(Event.occurred_at >= since, Event.occurred_at < now)
                .group_by(Event.verdict)
            )
        ).all()
    )
    sends = await count_recipients_sent(session, since=since, until=now)
    hard = int(counts.get("hard_bounce", 0))
    soft = int(counts.get("soft_bounce", 0))
    complaints = int(counts.get("complaint", 0))
    deliveries = int(counts.get("delivery", 0))
    # SES divides by messages sent. Without sends through bouncer, the events give an
    # estimate: every message sent ends in a delivery or a bounce.
    if sends:
        denominator, source = sends, "sends"
    elif deliveries + hard + soft:
        denominator, source = deliveries + hard + soft, "events"
    else:
        denominator, source = 0, "none"
    bounce_rate = hard / denominator if denominator else None
    complaint_rate = complaints / denominator if denominator else None
    return Stats(
        window=window,
        since=since,
        until=now,
        sends=sends,
        deliveries=deliveries,
        hard_bounces=hard,
        soft_bounces=soft,
        complaints=complaints,
        denominator=denominator,
        denominator_source=source,
        bounce_rate=bounce_rate,
        complaint_rate=complaint_rate,
        bounce_standing=BOUNCE.standing(bounce_rate),
        complaint_standing=COMPLAINT.standing(complaint_rate),
    )
