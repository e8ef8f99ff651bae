"""The last 30 days day by day (UTC calendar days): sends, deliveries, bounces, complaints
and the rates, for the console's charts (SPEC §9)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import stats, tally

DAYS = 30


@dataclass(frozen=True)
class DayFigures:
    day: date
    sends: int
    deliveries: int
    hard_bounces: int
    soft_bounces: int
    complaints: int
    denominator: int
    denominator_source: str  # sends | events | none, as stats.choose_denominator says
    bounce_rate: float | None
    complaint_rate: float | None


async def last_days(session: AsyncSession, *, now: datetime, days: int = DAYS) -> list[DayFigures]:
    """Every day of the ``days`` ending today, oldest first, a day without events included,
    in one statement (app.activity.tally). Each day's rates are over its own denominator,
    chosen as ``stats.compute`` chooses it."""
    counted = await tally.count(session, day_bounds(now=now, days=days))
    return of_tally(counted, now=now, days=days)


async def overview(
    session: AsyncSession, *, now: datetime
) -> tuple[list[stats.Stats], list[DayFigures]]:
    """Every window of ``stats.WINDOWS`` (in its order) and the last ``DAYS`` days, from one
    tally: the windows' spans and the days' share the events between them, counted once."""
    bounds = [*day_bounds(now=now, days=DAYS)]
    for window in stats.WINDOWS:
        bounds += stats.bounds(window, now=now)
    counted = await tally.count(session, bounds)
    windows = [stats.of_tally(counted, window=window, now=now) for window in stats.WINDOWS]
    return windows, of_tally(counted, now=now, days=DAYS)


def day_bounds(*, now: datetime, days: int) -> list[datetime]:
    """Midnight UTC starting each of the ``days`` ending today, and the one ending today.

    The whole of today, later than ``now`` included: SES's clock is not bouncer's.
    """
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    return [
        datetime.combine(first + timedelta(days=n), time(), tzinfo=UTC) for n in range(days + 1)
    ]


def of_tally(counted: tally.Spans, *, now: datetime, days: int) -> list[DayFigures]:
    """The days' figures from a tally holding their bounds (and perhaps others)."""
    midnights = day_bounds(now=now, days=days)
    return [
        _figures(start.date(), counted.between(start, end))
        for start, end in itertools.pairwise(midnights)
    ]


def _figures(day: date, counts: tally.Counts) -> DayFigures:
    hard, complaints = counts.hard_bounces, counts.complaints
    denominator, source, _ = stats.choose_denominator(
        sends=counts.sends, events=counts.deliveries + hard + counts.soft_bounces + complaints
    )
    bounce_rate, complaint_rate = stats.rates(counts, denominator)
    return DayFigures(
        day=day,
        sends=counts.sends,
        deliveries=counts.deliveries,
        hard_bounces=hard,
        soft_bounces=counts.soft_bounces,
        complaints=complaints,
        denominator=denominator,
        denominator_source=source,
        bounce_rate=bounce_rate,
        complaint_rate=complaint_rate,
    )
