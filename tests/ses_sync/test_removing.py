"""SesSync.delete_removed: a removal just committed (SES_SYNC=both) deleted from SES's list
at once, best effort, the outbox its fallback (app.ses_sync.removing)."""

from __future__ import annotations

from datetime import timedelta

from app.db import Database
from tests.conftest import SettableClock
from tests.ses_sync.conftest import SECOND_REGION, T0, MakeSync
from tests.ses_sync.fake_ses import REGION, FakeSes
from tests.ses_sync.tables import add, remove, snapshot

SES_TIME = T0 - timedelta(days=3)
REMOVED = T0 + timedelta(minutes=1)


async def outbox(database: Database) -> list[tuple[str, str]]:
    return [row[:2] for row in (await snapshot(database, "ses_outbox"))["ses_outbox"]]


class TestDeleteRemoved:
    async def test_every_form_the_mirror_knows_goes_and_the_outbox_row_with_them(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        for form in ("Ann@Example.com", "ann@example.com"):
            fake_ses.hold(form, "BOUNCE", SES_TIME)
        fake_ses.hold("bob@example.com", "BOUNCE", SES_TIME)
        sync = make_sync(mode="both")
        await sync.run_pass()
        clock.now = REMOVED
        assert await remove(database, "ann@example.com", now=REMOVED, regions=(REGION,))
        [report] = await sync.delete_removed("ANN@example.com")
        assert (report.region, report.deleted, report.failed, report.error) == (REGION, 2, 0, None)
        assert list(fake_ses.entries) == ["bob@example.com"]
        assert await outbox(database) == []
        mirror = (await snapshot(database, "ses_mirror"))["ses_mirror"]
        assert [row[1] for row in mirror] == ["bob@example.com"]

    async def test_a_form_the_mirror_does_not_know_is_tried_and_the_row_stays_for_the_pass(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        # SES listed the address after the last read (the bounce that suppressed it).
        await add(database, "ann@example.com", "bounce", now=SES_TIME)
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        clock.now = REMOVED
        assert await remove(database, "ann@example.com", now=REMOVED, regions=(REGION,))
        [report] = await make_sync(mode="both").delete_removed("ann@example.com")
        assert report.deleted == 1
        assert fake_ses.entries == {}
        assert await outbox(database) == [(REGION, "ann@example.com")]  # the pass settles it

    async def test_suppressed_again_before_it_ran_nothing_is_deleted(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        sync = make_sync(mode="both")
        await sync.run_pass()
        clock.now = REMOVED
        assert await remove(database, "ann@example.com", now=REMOVED, regions=(REGION,))
        await add(database, "ann@example.com", "complaint", now=REMOVED + timedelta(seconds=1))
        [report] = await sync.delete_removed("ann@example.com")
        assert (report.deleted, report.error) == (0, None)
        assert "ann@example.com" in fake_ses.entries
        assert "GetSuppressedDestination" not in fake_ses.operations()

    async def test_an_entry_ses_updated_after_the_removal_stays(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        sync = make_sync(mode="both")
        await sync.run_pass()
        clock.now = REMOVED
        assert await remove(database, "ann@example.com", now=REMOVED, regions=(REGION,))
        fake_ses.hold("ann@example.com", "BOUNCE", REMOVED + timedelta(seconds=30))  # a bounce
        [report] = await sync.delete_removed("ann@example.com")
        assert report.deleted == 0
        assert "ann@example.com" in fake_ses.entries
        assert await outbox(database) == []  # nothing left to delete: the next pass pulls it

    async def test_only_the_regions_it_waits_for_are_called(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database
    ) -> None:
        # No fake answers for eu-west-1: calling it would fail the report.
        await add(database, "ann@example.com", "bounce", now=SES_TIME)
        assert await remove(database, "ann@example.com", now=REMOVED, regions=(REGION,))
        sync = make_sync(mode="both", regions=(REGION, SECOND_REGION))
        assert [r.region for r in await sync.delete_removed("ann@example.com")] == [REGION]
        assert await sync.delete_removed("nobody@example.com") == []

    async def test_ses_failing_counts_an_attempt_and_keeps_the_row(
        self,
        make_sync: MakeSync,
        fake_ses: FakeSes,
        database: Database,
        clock: SettableClock,
        delays: list[float],
    ) -> None:
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        sync = make_sync(mode="both")
        await sync.run_pass()
        clock.now = REMOVED
        assert await remove(database, "ann@example.com", now=REMOVED, regions=(REGION,))
        fake_ses.fail("GetSuppressedDestination", code="InternalFailure", status=500, times=9)
        [report] = await sync.delete_removed("ann@example.com")
        assert report.failed == 1
        assert report.error is not None
        assert "GetSuppressedDestination" in report.error
        assert len(delays) == 2  # a short back-off: the pass retries what it leaves
        [row] = (await snapshot(database, "ses_outbox"))["ses_outbox"]
        assert row[3] == 1  # an attempt counted
        assert "ann@example.com" in fake_ses.entries
