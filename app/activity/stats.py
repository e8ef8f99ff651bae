"""Bounce and complaint rates over a window, against the levels at which SES acts.

SES reviews an account at a 5 % bounce rate or a 0.1 % complaint rate and may pause
its sending at 10 % or 0.5 %:
https://docs.aws.amazon.com/ses/latest/dg/faqs-enforcement.html
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import tally

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
    """The figures of the window ending at ``now``, in one statement (app.activity.tally)."""
    return of_tally(await tally.count(session, bounds(window, now=now)), window=window, now=now)


def bounds(window: str, *, now: datetime) -> tuple[datetime, datetime]:
    return now - WINDOWS[window], now


def rates(counts: tally.Counts, denominator: int) -> tuple[float | None, float | None]:
    """(bounce rate, complaint rate) over ``denominator``; None when it is 0."""
    if not denominator:
        return None, None
    return counts.hard_bounces / denominator, counts.complaints / denominator


def of_tally(counted: tally.Spans, *, window: str, now: datetime) -> Stats:
    """The window's figures from a tally holding its bounds (and perhaps others)."""
    since, until = bounds(window, now=now)
    counts = counted.between(since, until)
    hard, complaints = counts.hard_bounces, counts.complaints
    events = counts.deliveries + hard + counts.soft_bounces + complaints
    denominator, source, note = choose_denominator(sends=counts.sends, events=events)
    bounce_rate, complaint_rate = rates(counts, denominator)
    return Stats(
        window=window,
        since=since,
        until=until,
        sends=counts.sends,
        deliveries=counts.deliveries,
        hard_bounces=hard,
        soft_bounces=counts.soft_bounces,
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
