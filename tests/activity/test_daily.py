"""daily.last_days: the console chart's figures, one UTC calendar day each, from one
statement of counts (app.activity.tally), on SQLite and PostgreSQL alike; daily.overview:
the same days and the rates' windows from one tally."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import daily, send_log, stats
from app.db import Database
from app.models import Event
from app.vocabulary import SendOutcome

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
FIRST = date(2026, 11, 2)  # 30 days, today included

_ids = itertools.count()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


def at(day: date, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day.isoformat()}T{clock}+00:00")


def add_events(session: AsyncSession, moment: datetime, verdict: str, count: int = 1) -> None:
    for _ in range(count):
        n = next(_ids)
        session.add(
            Event(
                dedupe_key=f"{n:064d}",
                sns_message_id=f"sns-{n}",
                type="Complaint" if verdict == "complaint" else "Bounce",
                email=f"r{n}@example.com",
                verdict=verdict,
                occurred_at=moment,
                received_at=NOW,
            )
        )


async def add_send(
    session: AsyncSession, moment: datetime, recipients: int, outcome: str = SendOutcome.SENT
) -> None:
    await send_log.record_send(
        session,
        sender="me@example.com",
        sent_to=[f"to{n}@example.com" for n in range(recipients)],
        suppressed=[],
        configuration_set=None,
        outcome=SendOutcome(outcome),
        now=moment,
    )


async def series(database: Database, *, now: datetime = NOW) -> dict[date, daily.DayFigures]:
    async with database.session() as session:
        days = await daily.last_days(session, now=now)
    return {d.day: d for d in days}


class TestDays:
    async def test_thirty_days_oldest_first_every_one_present_when_empty(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            days = await daily.last_days(session, now=NOW)
        assert [d.day for d in days] == [FIRST + timedelta(n) for n in range(30)]
        assert days[-1].day == TODAY
        for d in days:
            assert (d.sends, d.deliveries, d.hard_bounces, d.soft_bounces, d.complaints) == (
                0, 0, 0, 0, 0,
            )  # fmt: skip
            assert (d.denominator, d.denominator_source) == (0, "none")
            assert d.bounce_rate is d.complaint_rate is None

    async def test_a_day_ends_at_midnight_utc(self, database: Database) -> None:
        day = date(2026, 11, 20)
        async with database.session() as session:
            add_events(session, at(day, "23:59:59.999999"), "hard_bounce")
            add_events(session, at(day, "23:59:59"), "delivery", 3)
            add_events(session, at(day + timedelta(1), "00:00:00"), "complaint")
            add_events(session, at(day + timedelta(1), "00:00:00"), "delivery")
            await add_send(session, at(day, "23:59:59"), 4)
            await add_send(session, at(day + timedelta(1), "00:00:00"), 2)
        days = await series(database)
        before, after = days[day], days[day + timedelta(1)]
        assert (before.sends, before.deliveries, before.hard_bounces, before.complaints) == (
            4, 3, 1, 0,
        )  # fmt: skip
        assert (after.sends, after.deliveries, after.hard_bounces, after.complaints) == (
            2, 1, 0, 1,
        )  # fmt: skip
        assert before.bounce_rate == pytest.approx(1 / 4)
        assert after.complaint_rate == pytest.approx(1 / 2)
        assert days[day - timedelta(1)].denominator_source == "none"

    async def test_the_window_is_whole_days_from_the_first_to_today(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            add_events(session, at(FIRST, "00:00:00"), "hard_bounce")
            add_events(session, at(FIRST - timedelta(1), "23:59:59.999999"), "hard_bounce", 5)
            # Later today than "now": still today (SES's clock is not bouncer's).
            add_events(session, at(TODAY, "23:59:59.999999"), "soft_bounce")
            add_events(session, at(TODAY + timedelta(1), "00:00:00"), "soft_bounce", 5)
            await add_send(session, at(FIRST - timedelta(1), "23:59:59"), 7)
            await add_send(session, at(TODAY + timedelta(1), "00:00:00"), 7)
        days = await series(database)
        assert len(days) == 30
        assert (days[FIRST].hard_bounces, days[FIRST].sends) == (1, 0)
        assert (days[TODAY].soft_bounces, days[TODAY].sends) == (1, 0)
        assert sum(d.hard_bounces + d.soft_bounces + d.sends for d in days.values()) == 2

    async def test_sends_count_recipients_sent_as_the_rates_do(self, database: Database) -> None:
        day = date(2026, 11, 25)
        async with database.session() as session:
            await add_send(session, at(day, "08:00:00"), 3)
            await add_send(session, at(day, "09:00:00"), 2)
            await add_send(session, at(day, "10:00:00"), 4, SendOutcome.SES_ERROR)
            await add_send(session, at(day, "11:00:00"), 0, SendOutcome.ALL_SUPPRESSED)
            add_events(session, at(day, "12:00:00"), "hard_bounce")
            counted = await send_log.count_recipients_sent(
                session, since=at(day, "00:00:00"), until=at(day + timedelta(1), "00:00:00")
            )
        figures = (await series(database))[day]
        assert figures.sends == counted == 5
        assert (figures.denominator, figures.denominator_source) == (5, "sends")
        assert figures.bounce_rate == pytest.approx(0.2)
        assert figures.complaint_rate == 0

    async def test_a_day_with_fewer_sends_than_events_is_over_the_events(
        self, database: Database
    ) -> None:
        day = date(2026, 11, 10)
        async with database.session() as session:
            await add_send(session, at(day, "06:00:00"), 2)
            add_events(session, at(day, "07:00:00"), "delivery", 6)
            add_events(session, at(day, "07:00:00"), "hard_bounce", 2)
            add_events(session, at(day, "07:00:00"), "soft_bounce", 1)
            add_events(session, at(day, "07:00:00"), "complaint", 1)
            add_events(session, at(day, "07:00:00"), "record_only", 4)
        figures = (await series(database))[day]
        assert (figures.sends, figures.deliveries, figures.soft_bounces) == (2, 6, 1)
        assert (figures.denominator, figures.denominator_source) == (10, "events")
        assert figures.bounce_rate == pytest.approx(0.2)
        assert figures.complaint_rate == pytest.approx(0.1)

    async def test_events_without_sends_are_their_own_denominator(self, database: Database) -> None:
        day = date(2026, 11, 30)
        async with database.session() as session:
            add_events(session, at(day, "01:00:00"), "delivery", 19)
            add_events(session, at(day, "02:00:00"), "hard_bounce")
        figures = (await series(database))[day]
        assert (figures.denominator, figures.denominator_source) == (20, "events")
        assert figures.bounce_rate == pytest.approx(0.05)

    async def test_one_statement_whatever_the_data(self, database: Database) -> None:
        async with database.session() as session:
            for n in range(30):
                add_events(session, at(FIRST + timedelta(n), "12:00:00"), "delivery")
                await add_send(session, at(FIRST + timedelta(n), "12:00:00"), 1)
        statements: list[str] = []

        def seen(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
        try:
            days = await series(database)
        finally:
            event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
        assert all(d.sends == d.deliveries == 1 for d in days.values())
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1, statements


@pytest.mark.postgres
class TestPostgresTimeZone:
    async def test_the_sessions_time_zone_does_not_move_a_day(self, database: Database) -> None:
        day = date(2026, 11, 20)
        async with database.session() as session:
            add_events(session, at(day, "23:30:00"), "hard_bounce")
            add_events(session, at(day + timedelta(1), "00:30:00"), "complaint")
        async with database.session() as session:
            # 14 hours ahead of UTC: both events would fall on the next local day.
            await session.execute(text("SET TIME ZONE 'Pacific/Kiritimati'"))
            days = {d.day: d for d in await daily.last_days(session, now=NOW)}
        assert (days[day].hard_bounces, days[day].complaints) == (1, 0)
        assert (days[day + timedelta(1)].hard_bounces, days[day + timedelta(1)].complaints) == (
            0, 1,
        )  # fmt: skip


class TestOverview:
    async def test_the_windows_are_what_stats_computes_and_the_days_what_last_days_gives(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            add_events(session, NOW - timedelta(hours=1), "hard_bounce")  # every window
            add_events(session, NOW - timedelta(hours=23), "delivery", 5)
            add_events(session, NOW - timedelta(hours=24, microseconds=1), "complaint")  # 7 d, 30 d
            add_events(session, NOW - timedelta(days=6), "soft_bounce", 2)
            add_events(session, NOW - timedelta(days=7, microseconds=1), "hard_bounce")
            # In the 30 days before now, but before the first day of the charts.
            add_events(session, at(FIRST - timedelta(1), "12:00:00"), "delivery", 3)
            add_events(session, NOW - timedelta(days=30, microseconds=1), "complaint")  # none
            add_events(session, NOW + timedelta(hours=1), "hard_bounce", 4)  # today only
            add_events(session, NOW - timedelta(days=2), "record_only", 9)
            await add_send(session, NOW - timedelta(hours=2), 10)
            await add_send(session, NOW - timedelta(days=3), 20)
            await add_send(session, at(FIRST - timedelta(1), "12:00:00"), 40)
        async with database.session() as session:
            windows, days = await daily.overview(session, now=NOW)
            alone = [await stats.compute(session, window=w, now=NOW) for w in stats.WINDOWS]
            last = await daily.last_days(session, now=NOW)
        assert windows == alone
        assert days == last
        by_name = {w.window: w for w in windows}
        figures = [
            (w.sends, w.deliveries, w.hard_bounces, w.soft_bounces, w.complaints)
            for w in (by_name["24h"], by_name["7d"], by_name["30d"])
        ]
        assert figures == [(10, 5, 1, 0, 0), (30, 5, 1, 2, 1), (70, 8, 2, 2, 1)]
        assert (days[-1].day, days[-1].hard_bounces) == (TODAY, 1 + 4)
        assert sum(d.sends for d in days) == 30
