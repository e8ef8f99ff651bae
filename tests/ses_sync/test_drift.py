"""Drift (SPEC §7): counted and sampled per region, read through, cached 60 s; and a dry
run, which reads and plans but writes nothing."""

from __future__ import annotations

from datetime import timedelta

from app.db import Database
from app.ses_sync import Direction
from tests.conftest import SettableClock
from tests.ses_sync.conftest import T0, MakeSync
from tests.ses_sync.fake_ses import FakeSes
from tests.ses_sync.tables import add, snapshot

SES_TIME = T0 - timedelta(days=3)
EARLIER = T0 - timedelta(days=1)


async def two_sided(database: Database, fake_ses: FakeSes) -> None:
    """One address only bouncer holds, one only SES, one both with different reasons."""
    await add(database, "mine@example.com", "bounce", now=EARLIER)
    await add(database, "shared@example.com", "complaint", now=EARLIER)
    await add(database, "manual@example.com", "manual", now=EARLIER)  # never SES's business
    fake_ses.hold("Theirs@Example.com", "BOUNCE", SES_TIME)
    fake_ses.hold("shared@example.com", "BOUNCE", SES_TIME)


class TestDrift:
    async def test_counts_and_samples_then_zero_after_a_both_pass(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        await two_sided(database, fake_ses)
        sync = make_sync(mode="both")
        before = await snapshot(database)
        [drift] = await sync.drift()
        assert await snapshot(database) == before  # a drift writes nothing
        assert drift.as_dict() == {
            "region": "us-east-1",
            "only_in_bouncer": 1,
            "only_in_ses": 1,
            "reason_differs": 1,
            "samples": [
                {
                    "email": "mine@example.com",
                    "kind": "only_in_bouncer",
                    "bouncer_reason": "bounce",
                    "ses_reason": None,
                },
                {
                    "email": "theirs@example.com",
                    "kind": "only_in_ses",
                    "bouncer_reason": None,
                    "ses_reason": "bounce",
                },
                {
                    "email": "shared@example.com",
                    "kind": "reason_differs",
                    "bouncer_reason": "complaint",
                    "ses_reason": "bounce",
                },
            ],
            "checked_at": "2026-12-08T12:00:00Z",
        }

        clock.now += timedelta(seconds=10)
        await sync.run_pass()
        [after] = await sync.drift()  # the pass dropped the cached drift
        assert (after.drift.only_in_bouncer, after.drift.only_in_ses) == (0, 0)
        assert after.drift.reason_differs == 1  # neither side's reason is overwritten
        assert after.checked_at == clock.now

    async def test_read_through_and_cached_for_60_seconds(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        await two_sided(database, fake_ses)
        sync = make_sync()
        first = await sync.drift()
        clock.now += timedelta(seconds=59)
        assert await sync.drift() == first
        assert fake_ses.operations() == ["ListSuppressedDestinations"]
        clock.now += timedelta(seconds=1)
        fake_ses.hold("new@example.com", "COMPLAINT", T0)
        [fresh] = await sync.drift()
        assert fresh.drift.only_in_ses == 2
        assert fake_ses.operations() == ["ListSuppressedDestinations"] * 2
        # A drift asked: the next pass reads SES's list whole (no StartDate).
        await sync.run_pass()
        await sync.run_pass()
        lists = [call.query for call in fake_ses.calls]
        assert ["StartDate" in query for query in lists] == [False, False, False, True]


class TestDryRun:
    async def test_reads_and_plans_and_writes_nothing(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        await two_sided(database, fake_ses)
        await add(database, "noted@example.com", "manual", now=EARLIER)
        fake_ses.hold("noted@example.com", "BOUNCE", SES_TIME)
        sync = make_sync(mode="pull")
        before = await snapshot(database)
        report = await sync.run_pass(direction=Direction.BOTH, dry_run=True)
        assert await snapshot(database) == before
        assert set(fake_ses.operations()) == {"ListSuppressedDestinations"}
        assert report.dry_run
        [region] = report.regions
        assert (region.pulled, region.pushed, region.deleted, region.noted) == (1, 1, 0, 2)
        assert region.plan is not None
        assert [item.email for item in region.plan.pull] == ["theirs@example.com"]
        assert [item.email for item in region.plan.put] == ["mine@example.com"]

        # And the pass that follows does what the dry run said.
        done = await sync.run_pass(direction=Direction.BOTH)
        assert (done.regions[0].pulled, done.regions[0].pushed, done.regions[0].noted) == (1, 1, 2)
