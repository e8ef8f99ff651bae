"""review17: a removal in bouncer must end with the address mailable in SES too, and must
not be pulled back by the next pass, whatever the timing (SPEC §7, issue #17)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.db import Database
from app.ses import suppressed
from app.ses.failures import Backoff
from app.ses.suppressed import Pacing
from app.ses_sync import SesSync
from tests.conftest import SettableClock
from tests.ses_sync.conftest import T0
from tests.ses_sync.fake_ses import REGION, FakeSes
from tests.ses_sync.tables import add, entry, remove

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


async def test_a_removal_during_a_throttled_put_is_not_pulled_back(
    fake_ses: FakeSes, database: Database, clock: SettableClock
) -> None:
    # bouncer holds a bounce; a both pass puts it into SES. SES throttles the Put once
    # (TooManyRequestsException is what SES answers under load), and while the pass backs
    # off the operator removes the address ("mailbox fixed"). The Put then goes through:
    # SES dates the entry after the removal. The operator's removal must still win.
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

    clock.now = T0 + timedelta(minutes=5)
    await sync.run_pass()  # the next periodic pass

    # The removal stands in bouncer, and SES no longer blocks the address.
    assert await entry(database, "ann@example.com") is None
    assert "ann@example.com" not in fake_ses.entries


async def test_a_removal_right_after_a_put_survives_a_few_seconds_of_clock_skew(
    fake_ses: FakeSes, database: Database, clock: SettableClock
) -> None:
    # SES's clock runs 5 s ahead of the host's (an unsynced VM or container). bouncer
    # puts a bounce into SES; 2 s later (host time) the operator removes it. SES's
    # LastUpdateTime (its own clock) is then "after" the removal, and the next pass takes
    # bouncer's own Put for a new bounce.
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
