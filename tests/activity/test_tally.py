"""tally.count: events by verdict and recipients sent between consecutive bounds, one
statement of counts, each over an index range (issue #18)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.activity import tally
from app.db import Database
from app.vocabulary import SendOutcome
from tests.activity.test_daily import add_events, add_send
from tests.query_plans import analyzed, plans_of

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=6)
T2 = T0 + timedelta(hours=12)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


class TestCount:
    async def test_each_span_holds_its_start_and_not_its_end(self, database: Database) -> None:
        async with database.session() as session:
            add_events(session, T0 - timedelta(microseconds=1), "hard_bounce")  # before
            add_events(session, T0, "hard_bounce")
            add_events(session, T1 - timedelta(microseconds=1), "delivery", 2)
            add_events(session, T1, "complaint")
            add_events(session, T1, "soft_bounce", 3)
            add_events(session, T2, "hard_bounce")  # after
            await add_send(session, T0, 4)
            await add_send(session, T1, 5)
            await add_send(session, T1, 7, SendOutcome.SES_ERROR)  # SES refused: not sent
        async with database.session() as session:
            counted = await tally.count(session, [T2, T0, T1, T1])  # any order, repeats
        assert counted.bounds == [T0, T1, T2]
        assert counted.spans == [
            tally.Counts(sends=4, deliveries=2, hard_bounces=1, soft_bounces=0, complaints=0),
            tally.Counts(sends=5, deliveries=0, hard_bounces=0, soft_bounces=3, complaints=1),
        ]
        assert counted.between(T0, T2) == tally.Counts(5 + 4, 2, 1, 3, 1)
        assert counted.between(T1, T1) == tally.NONE

    async def test_record_only_and_unsubscribe_count_nowhere(self, database: Database) -> None:
        async with database.session() as session:
            add_events(session, T0, "record_only", 3)
            add_events(session, T0, "unsubscribe")
        async with database.session() as session:
            counted = await tally.count(session, [T0, T2])
        assert counted.spans == [tally.NONE]

    async def test_a_moment_between_bounds_is_refused(self, database: Database) -> None:
        async with database.session() as session:
            counted = await tally.count(session, [T0, T2])
        with pytest.raises(ValueError, match="not one of the tally's bounds"):
            counted.between(T0, T1)

    async def test_one_bound_is_no_span(self, database: Database) -> None:
        async with database.session() as session:
            with pytest.raises(ValueError, match="two bounds"):
                await tally.count(session, [T0, T0])

    async def test_every_count_and_sum_reads_an_index_not_the_table(
        self, database: Database
    ) -> None:
        # What keeps the overview fast at a million events: a plan that reads the event or
        # send table itself (a dropped or reordered index) shows here, where no timing could.
        await analyzed(database, "event", "send")
        async with database.session() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            [plan] = await plans_of(session, lambda: tally.count(session, [T0, T1, T2]))
        steps = [line.strip().removeprefix("->").strip() for line in plan]
        on_event = [s for s in steps if re.search(r"\bevent\b", s)]
        on_send = [s for s in steps if re.search(r"\bsend\b", s)]
        assert len(on_event) == 2 * len(tally.COUNTED), plan
        assert len(on_send) == 2, plan
        if postgres:
            assert all(s.startswith("Index Only Scan using ix_event_verdict ") for s in on_event)
            assert all(s.startswith("Index Only Scan using ix_send_created_at ") for s in on_send)
        else:
            reads = "(verdict=? AND occurred_at>? AND occurred_at<?)"
            assert all(
                s == f"SEARCH event USING COVERING INDEX ix_event_verdict {reads}" for s in on_event
            ), plan
            reads = "(created_at>? AND created_at<?)"
            assert all(
                s == f"SEARCH send USING COVERING INDEX ix_send_created_at {reads}" for s in on_send
            ), plan
