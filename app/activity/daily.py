"""The last 30 days day by day (UTC calendar days): sends, deliveries, bounces, complaints
and the rates, for the console's charts (SPEC §9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import send_log, stats
from app.models import Event, Send
from app.vocabulary import Verdict

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
    """Every day of the ``days`` ending today, oldest first, a day without events included.

    Two grouped queries (events by day and verdict, sends by day), whatever ``days`` is.
    Each day's rates are over its own denominator, chosen as ``stats.compute`` chooses it.
    """
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=UTC)
    until = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    dialect = session.get_bind().dialect.name

    event_day = _utc_day(Event.occurred_at, dialect)
    verdicts: dict[tuple[date, str], int] = {}
    for day, verdict, count in await session.execute(
        select(event_day, Event.verdict, func.count())
        .where(Event.occurred_at >= since, Event.occurred_at < until)
        .group_by(event_day, Event.verdict)
    ):
        verdicts[date.fromisoformat(day), verdict] = int(count)

    send_day = _utc_day(Send.created_at, dialect)
    sends: dict[date, int] = {}
    for day, total in await session.execute(
        select(send_day, func.sum(Send.recipient_count))
        .where(send_log.sent_between(since=since, until=until))
        .group_by(send_day)
    ):
        sends[date.fromisoformat(day)] = int(total or 0)

    return [_figures(first + timedelta(days=n), sends, verdicts) for n in range(days)]


def _figures(
    day: date, sends: dict[date, int], verdicts: dict[tuple[date, str], int]
) -> DayFigures:
    hard = verdicts.get((day, Verdict.HARD_BOUNCE), 0)
    soft = verdicts.get((day, Verdict.SOFT_BOUNCE), 0)
    complaints = verdicts.get((day, Verdict.COMPLAINT), 0)
    deliveries = verdicts.get((day, Verdict.DELIVERY), 0)
    sent = sends.get(day, 0)
    denominator, source, _ = stats.choose_denominator(
        sends=sent, events=deliveries + hard + soft + complaints
    )
    return DayFigures(
        day=day,
        sends=sent,
        deliveries=deliveries,
        hard_bounces=hard,
        soft_bounces=soft,
        complaints=complaints,
        denominator=denominator,
        denominator_source=source,
        bounce_rate=hard / denominator if denominator else None,
        complaint_rate=complaints / denominator if denominator else None,
    )


def _utc_day(column: Any, dialect_name: str) -> Any:
    """The UTC calendar day of a timestamp column, as ``YYYY-MM-DD`` text.

    SQLite holds UtcDateTime as UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff`` (app/db.py), whose
    date() is the UTC day. PostgreSQL holds a timestamptz, whose day depends on the
    session's TimeZone unless it is first turned into UTC wall time.
    """
    if dialect_name == "postgresql":
        day = func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    else:
        day = func.date(column)
    return day.label("utc_day")
