"""bouncer's own Put is never read as a new bounce after a removal (SPEC §7: "a removal is
remembered: not pulled back unless SES updated it after the removal").

SES dates the entry a Put makes when the call lands, by its own clock: after throttled
retries (up to ~47 s after bouncer's check) and a few seconds off bouncer's clock. The
mirror keeps such an entry dated as of bouncer's check, with the call's end beside it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.db import Database
from app.ses import suppressed
from app.ses.failures import Backoff
from app.ses.suppressed import Pacing, SesEntry
from app.ses_sync import SesSync, reading
from app.suppression.ses_mirror_store import MirrorRow
from tests.conftest import SettableClock
from tests.ses_sync.conftest import T0
from tests.ses_sync.fake_ses import REGION, FakeSes
from tests.ses_sync.tables import add, entry, remove, snapshot

EARLIER = T0 - timedelta(days=1)


def _sync(database: Database, fake: FakeSes, clock: SettableClock, sleep: object) -> SesSync:
    return SesSync(
        database=database,
        regions=[REGION],
        mode="both",
        client_factory=lambda region: suppressed.make_client(region, endpoint_url=fake.url),
        clock=clock,
        pacing=Pacing(backoff=Backoff(retries=3, base=0.5, cap=4.0), sleep=sleep),  # type: ignore[arg-type]
        lock_poll_seconds=0.05,
    )


class TestARemovalAroundBouncersOwnPut:
    async def test_a_removal_during_a_throttled_put_is_not_pulled_back(
        self, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        # A both pass puts a bounce into SES; SES throttles the Put once, and while the
        # pass backs off the operator removes the address ("mailbox fixed"). The Put then
        # goes through: SES dates the entry after the removal. The removal must still win.
        fake_ses.clock = clock  # SES and bouncer agree on the time: no skew at all
        await add(database, "ann@example.com", "bounce", now=EARLIER)
        fake_ses.fail("PutSuppressedDestination", times=1)
        loop = asyncio.get_running_loop()

        def back_off(_: float) -> None:  # runs in the pass's worker thread
            clock.now = T0 + timedelta(seconds=1)
            removing = remove(database, "ann@example.com", now=clock.now, regions=(REGION,))
            assert asyncio.run_coroutine_threadsafe(removing, loop).result(10)
            clock.now = T0 + timedelta(seconds=2)  # the back-off ends, the Put goes through

        clock.now = T0
        sync = _sync(database, fake_ses, clock, back_off)
        await sync.run_pass()
        assert "ann@example.com" in fake_ses.entries  # the Put landed after the removal
        # The pass saw the removal after its Put: it waits in the outbox (again).
        [waiting] = (await snapshot(database, "ses_outbox"))["ses_outbox"]
        assert waiting[:3] == (REGION, "ann@example.com", T0 + timedelta(seconds=1))
        [mirrored] = (await snapshot(database, "ses_mirror"))["ses_mirror"]
        assert mirrored[4:] == (T0, T0 + timedelta(seconds=2))  # as of the check; the end

        clock.now = T0 + timedelta(minutes=5)
        report = await sync.run_pass()  # the next periodic pass

        # The removal stands in bouncer, and SES no longer blocks the address.
        assert (report.regions[0].pulled, report.regions[0].deleted) == (0, 1)
        assert await entry(database, "ann@example.com") is None
        assert "ann@example.com" not in fake_ses.entries
        assert (await snapshot(database, "ses_outbox"))["ses_outbox"] == []

    async def test_a_removal_right_after_a_put_survives_a_few_seconds_of_clock_skew(
        self, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        # SES's clock runs 5 s ahead of the host's (an unsynced VM or container). bouncer
        # puts a bounce into SES; 2 s later (host time) the operator removes it. SES's
        # LastUpdateTime (its own clock) is then "after" the removal.
        fake_ses.clock = lambda: clock.now + timedelta(seconds=5)
        await add(database, "ann@example.com", "bounce", now=EARLIER)
        sync = _sync(database, fake_ses, clock, lambda _: None)
        clock.now = T0
        assert (await sync.run_pass()).regions[0].pushed == 1
        clock.now = T0 + timedelta(seconds=2)
        assert await remove(database, "ann@example.com", now=clock.now, regions=(REGION,))

        clock.now = T0 + timedelta(minutes=5)
        await sync.run_pass()

        assert await entry(database, "ann@example.com") is None
        assert "ann@example.com" not in fake_ses.entries

    async def test_drift_does_not_count_the_put_as_only_in_ses_either(
        self, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        fake_ses.clock = lambda: clock.now + timedelta(seconds=5)
        await add(database, "ann@example.com", "bounce", now=EARLIER)
        sync = _sync(database, fake_ses, clock, lambda _: None)
        clock.now = T0
        await sync.run_pass()
        clock.now = T0 + timedelta(seconds=2)
        await remove(database, "ann@example.com", now=clock.now)  # SES_SYNC=pull: no outbox
        [drift] = await sync.drift()
        assert (drift.drift.only_in_bouncer, drift.drift.only_in_ses) == (0, 0)


AT = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
PUT = MirrorRow("a@x.org", "a@x.org", "BOUNCE", AT, pushed_at=AT + timedelta(seconds=40))


class TestMirrorRow:
    def test_the_put_as_ses_dates_it_stays_as_of_bouncers_check(self) -> None:
        landed = SesEntry("a@x.org", "BOUNCE", AT + timedelta(seconds=45))  # a clock 5 s ahead
        assert reading.mirror_row(landed, "a@x.org", PUT) == PUT

    def test_a_later_update_in_ses_is_ses_own(self) -> None:
        later = SesEntry("a@x.org", "BOUNCE", AT + timedelta(minutes=5))
        assert reading.mirror_row(later, "a@x.org", PUT) == MirrorRow(
            "a@x.org", "a@x.org", "BOUNCE", later.last_update
        )

    def test_another_reason_is_not_the_put(self) -> None:
        changed = SesEntry("a@x.org", "COMPLAINT", AT)
        assert reading.mirror_row(changed, "a@x.org", PUT).pushed_at is None

    def test_a_form_ses_read_is_as_ses_dates_it(self) -> None:
        read = MirrorRow("a@x.org", "a@x.org", "BOUNCE", AT)
        seen = SesEntry("a@x.org", "BOUNCE", AT + timedelta(seconds=1))
        assert reading.mirror_row(seen, "a@x.org", read).last_update == seen.last_update
