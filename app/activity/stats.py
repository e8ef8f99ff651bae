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

from app.activity.send_log import count_recipients_sent
from app.models import Event
from app.vocabulary import Verdict

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
    events: int  # deliveries + bounces + complaints: the messages SES reported on
    denominator: int
    denominator_source: str  # sends | events | none
    note: str | None  # why the rates are not over the sends, when they are not
    bounce_rate: float | None
    complaint_rate: float | None
    bounce_standing: str
    complaint_standing: str


def choose_denominator(*, sends: int, events: int) -> tuple[int, str, str | None]:
    """(denominator, "sends" | "events" | "none", note) for the rates.

    SES divides by the messages sent. bouncer knows the sends made through it; SES
    reports a delivery or a bounce for every message (and a complaint for one delivered,
    whose Delivery event may not be subscribed to). With fewer sends than that, messages
    went out another way (the SES console, another application, SMTP), and dividing by
    the sends would report a rate above the account's real one, even a false "pause"
    (SPEC §4 Edges): divide by the events then, and say so.
    """
    if sends and sends >= events:
        return sends, "sends", None
    if not events:
        return 0, "none", None
    if not sends:
        note = (
            f"no sends recorded through bouncer in this window: the rates are over the "
            f"{events} deliveries, bounces and complaints SES reported"
        )
    else:
        note = (
            f"bouncer recorded {sends} sends but SES reported {events} deliveries, bounces "
            "and complaints in this window (messages sent another way): the rates are over "
            "those events"
        )
    return events, "events", note


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
    hard = int(counts.get(Verdict.HARD_BOUNCE, 0))
    soft = int(counts.get(Verdict.SOFT_BOUNCE, 0))
    complaints = int(counts.get(Verdict.COMPLAINT, 0))
    deliveries = int(counts.get(Verdict.DELIVERY, 0))
    events = deliveries + hard + soft + complaints
    denominator, source, note = choose_denominator(sends=sends, events=events)
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
        events=events,
        denominator=denominator,
        denominator_source=source,
        note=note,
        bounce_rate=bounce_rate,
        complaint_rate=complaint_rate,
        bounce_standing=BOUNCE.standing(bounce_rate),
        complaint_standing=COMPLAINT.standing(complaint_rate),
    )
