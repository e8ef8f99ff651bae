"""SES_SYNC=both: bouncer's bounces and complaints go into SES, removals come out of it
(SPEC §7), through the outbox, retried until done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from app.db import Database
from app.errors import SesListUnavailable
from app.ses_sync import Direction
from app.suppression import entries
from app.vocabulary import Source
from tests.conftest import SettableClock
from tests.databases import run_isolated
from tests.ses_sync.conftest import SECOND_REGION, T0, MakeSync
from tests.ses_sync.fake_ses import REGION, Call, FakeEntry, FakeSes, running_fake_ses
from tests.ses_sync.tables import add, entry, history, remove, snapshot

SES_TIME = T0 - timedelta(days=3)
EARLIER = T0 - timedelta(days=1)


class TestPut:
    async def test_bounces_and_complaints_are_pushed_whatever_their_source(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database
    ) -> None:
        await add(database, "Hard@Example.com", "bounce", now=EARLIER, source=Source.SNS)
        await add(database, "angry@example.com", "complaint", now=EARLIER, source=Source.IMPORT)
        await add(database, "ops@example.com", "bounce", now=EARLIER, source=Source.API)
        await add(database, "manual@example.com", "manual", now=EARLIER)
        await add(database, "gone@example.com", "unsubscribe", now=EARLIER)
        await add(
            database, "soft@example.com", "soft_bounce", now=EARLIER, expires_at=T0 + timedelta(1)
        )
        report = await make_sync(mode="both").run_pass()

        assert report.direction is Direction.BOTH
        assert report.regions[0].pushed == 3
        assert {email: e.reason for email, e in fake_ses.entries.items()} == {
            # The key: lowercase, as SES sends to it (SES's list ignores case at send time).
            "hard@example.com": "BOUNCE",
            "angry@example.com": "COMPLAINT",
            "ops@example.com": "BOUNCE",
        }
        mirror = (await snapshot(database, "ses_mirror"))["ses_mirror"]
        assert {(row[1], row[3]) for row in mirror} == {
            ("hard@example.com", "BOUNCE"),
            ("angry@example.com", "COMPLAINT"),
            ("ops@example.com", "BOUNCE"),
        }

    async def test_a_second_pass_puts_nothing_again(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        await add(database, "hard@example.com", "bounce", now=EARLIER)
        fake_ses.hold("Other@Example.com", "COMPLAINT", SES_TIME)
        sync = make_sync(mode="both")
        first = await sync.run_pass()
        assert (first.regions[0].pushed, first.regions[0].pulled) == (1, 1)
        before = await snapshot(database, "suppression", "suppression_change", "ses_outbox")
        clock.now = T0 + timedelta(minutes=5)
        second = await sync.run_pass()
        assert second.regions[0].as_dict() | {"region": ""} == {
            "region": "",
            "pulled": 0,
            "pushed": 0,
            "deleted": 0,
            "failed": 0,
            "noted": 0,
            "error": None,
        }
        assert await snapshot(database, "suppression", "suppression_change", "ses_outbox") == before
        assert fake_ses.operations().count("PutSuppressedDestination") == 1

    async def test_an_entry_that_expires_is_never_pushed_whatever_its_reason(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        # SES's list never expires an entry: a bounce an operator gave an expires_at
        # ("fixed by tomorrow") would stay blocked in SES, and come back from it for good.
        fake_ses.clock = clock
        tomorrow = T0 + timedelta(days=1)
        await add(database, "ann@example.com", "bounce", now=EARLIER, expires_at=tomorrow)
        await add(database, "cat@example.com", "complaint", now=EARLIER, expires_at=tomorrow)
        sync = make_sync(mode="both")
        first = await sync.run_pass()
        assert first.regions[0].pushed == 0
        assert first.regions[0].plan is not None
        assert first.regions[0].plan.drift.only_in_bouncer == 0  # counted like manual

        clock.now = T0 + timedelta(days=2)  # expired in bouncer: mailable again
        await sync.run_pass()
        found = await entry(database, "ann@example.com")
        assert found is not None
        assert found.expires_at is not None  # expired, not made permanent
        assert fake_ses.entries == {}
        assert "PutSuppressedDestination" not in fake_ses.operations()

    async def test_a_refused_address_fails_alone(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database
    ) -> None:
        await add(database, "a@example.com", "bounce", now=EARLIER)
        await add(database, "b@example.com", "bounce", now=EARLIER)
        fake_ses.fail(
            "PutSuppressedDestination", code="BadRequestException", status=400, email=None
        )
        report = await make_sync(mode="both").run_pass()
        assert (report.regions[0].pushed, report.regions[0].failed) == (1, 1)
        assert report.regions[0].error is None
        assert list(fake_ses.entries) == ["b@example.com"]

    async def test_pull_never_touches_ses(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database
    ) -> None:
        await add(database, "hard@example.com", "bounce", now=EARLIER)
        await remove(database, "hard@example.com", now=T0 - timedelta(hours=1), regions=(REGION,))
        await add(database, "other@example.com", "bounce", now=EARLIER)
        report = await make_sync(mode="both").run_pass(direction=Direction.PULL)
        assert report.regions[0].pushed == 0
        assert set(fake_ses.operations()) == {"ListSuppressedDestinations"}
        assert len((await snapshot(database, "ses_outbox"))["ses_outbox"]) == 1


class TestRemoval:
    async def test_the_outbox_row_is_written_and_rolled_back_with_the_removal(
        self, database: Database
    ) -> None:
        await add(database, "ann@example.com", "bounce", now=EARLIER)

        async def remove_then_fail() -> None:
            async with database.session() as session:
                assert await entries.remove(
                    session, "Ann@Example.com", actor="ops", note=None, now=T0,
                    ses_regions=[REGION, SECOND_REGION],
                )  # fmt: skip
                raise RuntimeError("the unit of work fails after the removal")

        with pytest.raises(RuntimeError):
            await remove_then_fail()
        assert await entry(database, "ann@example.com") is not None
        assert (await snapshot(database, "ses_outbox"))["ses_outbox"] == []

        assert await remove(database, "ann@example.com", now=T0, regions=(REGION, SECOND_REGION))
        assert (await snapshot(database, "ses_outbox"))["ses_outbox"] == [
            (SECOND_REGION, "ann@example.com", T0, 0, None),
            (REGION, "ann@example.com", T0, 0, None),
        ]
        # Nothing on the list: nothing to remove, nothing waits.
        assert not await remove(database, "bob@example.com", now=T0, regions=(REGION,))
        assert len((await snapshot(database, "ses_outbox"))["ses_outbox"]) == 2

    async def test_the_next_pass_deletes_every_case_variant_ses_holds(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        for form in ("Ann@Example.com", "ann@example.com", "ANN@EXAMPLE.COM"):
            fake_ses.hold(form, "BOUNCE", SES_TIME)
        fake_ses.hold("bob@example.com", "BOUNCE", SES_TIME)
        sync = make_sync(mode="both")
        await sync.run_pass()
        assert await remove(database, "ann@example.com", now=T0 + timedelta(minutes=1))
        # No outbox row (removed while SES_SYNC was pull): the removal is remembered all
        # the same, and a pushing pass deletes it.
        clock.now = T0 + timedelta(minutes=5)
        report = await sync.run_pass()
        assert report.regions[0].deleted == 3
        assert list(fake_ses.entries) == ["bob@example.com"]
        deleted = [c.email for c in fake_ses.calls if c.operation == "DeleteSuppressedDestination"]
        assert deleted == ["ANN@EXAMPLE.COM", "Ann@Example.com", "ann@example.com"]
        mirror = (await snapshot(database, "ses_mirror"))["ses_mirror"]
        assert [row[1] for row in mirror] == ["bob@example.com"]
        # Not pulled back, nothing left to do.
        clock.now = T0 + timedelta(minutes=10)
        again = await sync.run_pass()
        assert again.regions[0].plan is not None
        assert again.regions[0].plan.is_empty
        assert await entry(database, "ann@example.com") is None

    async def test_a_delete_that_fails_waits_in_the_outbox_for_the_next_pass(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        fake_ses.hold("Ann@Example.com", "BOUNCE", SES_TIME)
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        sync = make_sync(mode="both")
        await sync.run_pass()
        await remove(database, "ann@example.com", now=T0 + timedelta(minutes=1), regions=(REGION,))
        fake_ses.fail(
            "DeleteSuppressedDestination",
            code="BadRequestException",
            status=400,
            email="Ann@Example.com",
        )
        clock.now = T0 + timedelta(minutes=5)
        first = await sync.run_pass()
        assert (first.regions[0].deleted, first.regions[0].failed) == (1, 1)
        assert first.regions[0].error is None
        assert list(fake_ses.entries) == ["Ann@Example.com"]
        [waiting] = (await snapshot(database, "ses_outbox"))["ses_outbox"]
        assert waiting[:4] == (REGION, "ann@example.com", T0 + timedelta(minutes=1), 1)
        assert "BadRequestException" in waiting[4]

        clock.now = T0 + timedelta(minutes=10)
        second = await sync.run_pass()
        assert (second.regions[0].deleted, second.regions[0].failed) == (1, 0)
        assert fake_ses.entries == {}
        assert (await snapshot(database, "ses_outbox"))["ses_outbox"] == []

    async def test_ses_unreachable_while_deleting_stops_the_region_and_keeps_the_outbox(
        self,
        make_sync: MakeSync,
        fake_ses: FakeSes,
        database: Database,
        clock: SettableClock,
        delays: list[float],
    ) -> None:
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        await add(database, "hard@example.com", "bounce", now=EARLIER)
        sync = make_sync(mode="both")
        await sync.run_pass()
        await remove(database, "ann@example.com", now=T0 + timedelta(minutes=1), regions=(REGION,))
        fake_ses.fail("DeleteSuppressedDestination", code="InternalFailure", status=500, times=4)
        clock.now = T0 + timedelta(minutes=5)
        report = await sync.run_pass()
        assert report.regions[0].failed == 1
        assert report.regions[0].error is not None
        assert "DeleteSuppressedDestination" in report.regions[0].error
        assert len(delays) == 3  # retried with back-off first
        [waiting] = (await snapshot(database, "ses_outbox"))["ses_outbox"]
        assert waiting[3] == 1
        state = (await snapshot(database, "ses_sync_state"))["ses_sync_state"]
        assert state[0][4] == report.regions[0].error

    async def test_an_ses_update_after_the_removal_is_a_new_bounce_and_stays(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        sync = make_sync(mode="both")
        await sync.run_pass()
        await remove(database, "ann@example.com", now=T0 + timedelta(minutes=1), regions=(REGION,))
        fake_ses.hold("ann@example.com", "BOUNCE", T0 + timedelta(minutes=2))
        clock.now = T0 + timedelta(minutes=5)
        report = await sync.run_pass()
        assert (report.regions[0].deleted, report.regions[0].pulled) == (0, 1)
        assert "ann@example.com" in fake_ses.entries
        assert (await snapshot(database, "ses_outbox"))["ses_outbox"] == []

    async def test_an_entry_ses_updated_after_the_read_is_not_deleted(
        self, make_sync: MakeSync, database: Database, clock: SettableClock, aws_env: None
    ) -> None:
        # The pass reads SES's list, then pulls (minutes for a large first list), then
        # deletes. Meanwhile SES records a new bounce for ann (another application on the
        # account): DeleteSuppressedDestination has no condition, so each form is read
        # again (GetSuppressedDestination) and kept when SES updated it after the removal.
        await add(database, "ann@example.com", "bounce", now=SES_TIME)
        await remove(database, "ann@example.com", now=T0 - timedelta(hours=1), regions=(REGION,))
        fake = ChangedAfterTheRead(change=lambda entries: entries.update(
            {"ann@example.com": FakeEntry("BOUNCE", T0 + timedelta(minutes=2))}
        ))  # fmt: skip
        with running_fake_ses(fake):
            fake.hold("ann@example.com", "BOUNCE", SES_TIME)
            clock.now = T0 + timedelta(minutes=1)
            report = await make_sync(mode="both", fakes={REGION: fake}).run_pass()
            assert "ann@example.com" in fake.entries  # SES's newest word: a bounce
            assert "DeleteSuppressedDestination" not in fake.operations()
            assert report.regions[0].deleted == 0
            assert (await snapshot(database, "ses_outbox"))["ses_outbox"] == []
            # The next pass pulls the new bounce in: it came after the removal.
            clock.now = T0 + timedelta(minutes=5)
            again = await make_sync(mode="both", fakes={REGION: fake}).run_pass()
        assert again.regions[0].pulled == 1
        found = await entry(database, "ann@example.com")
        assert found is not None
        assert found.source == Source.SYNC

    async def test_an_entry_already_gone_from_ses_is_not_counted_as_deleted(
        self, make_sync: MakeSync, database: Database, clock: SettableClock, aws_env: None
    ) -> None:
        await add(database, "ann@example.com", "bounce", now=SES_TIME)
        await remove(database, "ann@example.com", now=T0 - timedelta(hours=1), regions=(REGION,))
        fake = ChangedAfterTheRead(change=lambda entries: entries.pop("ann@example.com"))
        with running_fake_ses(fake):
            fake.hold("ann@example.com", "BOUNCE", SES_TIME)
            clock.now = T0 + timedelta(minutes=1)
            report = await make_sync(mode="both", fakes={REGION: fake}).run_pass()
        assert (report.regions[0].deleted, report.regions[0].failed) == (0, 0)
        assert fake.operations() == ["ListSuppressedDestinations", "GetSuppressedDestination"]
        assert (await snapshot(database, "ses_outbox"))["ses_outbox"] == []
        assert (await snapshot(database, "ses_mirror"))["ses_mirror"] == []

    async def test_suppressed_again_before_the_pass_is_not_deleted(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        sync = make_sync(mode="both")
        await sync.run_pass()
        await remove(database, "ann@example.com", now=T0 + timedelta(minutes=1), regions=(REGION,))
        await add(database, "ann@example.com", "complaint", now=T0 + timedelta(minutes=2))
        clock.now = T0 + timedelta(minutes=5)
        report = await sync.run_pass()
        assert report.regions[0].deleted == 0
        assert "ann@example.com" in fake_ses.entries
        assert (await snapshot(database, "ses_outbox"))["ses_outbox"] == []


class TestRegions:
    async def test_each_region_has_its_own_list(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database
    ) -> None:
        other = FakeSes()
        with running_fake_ses(other):
            fake_ses.hold("east@example.com", "BOUNCE", SES_TIME)
            other.hold("west@example.com", "COMPLAINT", SES_TIME)
            await add(database, "both@example.com", "bounce", now=EARLIER)
            sync = make_sync(
                mode="both",
                regions=(REGION, SECOND_REGION),
                fakes={REGION: fake_ses, SECOND_REGION: other},
            )
            report = await sync.run_pass()
            # Region after region: eu-west-1 also gets what us-east-1 brought in; us-east-1
            # gets eu-west-1's on the next pass.
            assert [(r.region, r.pulled, r.pushed) for r in report.regions] == [
                (REGION, 1, 1),
                (SECOND_REGION, 1, 2),
            ]
            again = await sync.run_pass()
            assert [(r.region, r.pulled, r.pushed) for r in again.regions] == [
                (REGION, 0, 1),
                (SECOND_REGION, 0, 0),
            ]
        # Each region's list holds every bounce and complaint bouncer holds.
        everyone = {"east@example.com", "both@example.com", "west@example.com"}
        assert set(fake_ses.entries) == set(other.entries) == everyone
        [noted] = [c for c in await history(database, "both@example.com") if c.action == "noted"][
            :1
        ]
        assert (noted.actor, noted.note) == (
            "sync:us-east-1",
            "put into SES's account-level suppression list in us-east-1 (BOUNCE)",
        )

    async def test_a_region_down_fails_alone(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database
    ) -> None:
        fake_ses.hold("east@example.com", "BOUNCE", SES_TIME)
        sync = make_sync(regions=(REGION, SECOND_REGION))  # nothing answers for eu-west-1
        report = await sync.run_pass()
        east, west = report.regions
        assert (east.region, east.pulled, east.error) == (REGION, 1, None)
        assert (west.region, west.pulled, west.failed) == (SECOND_REGION, 0, 1)
        assert west.error is not None
        assert west.error.startswith("could not reach SES at http://127.0.0.1:")
        state = (await snapshot(database, "ses_sync_state"))["ses_sync_state"]
        assert [(row[0], row[4]) for row in state] == [(SECOND_REGION, west.error), (REGION, None)]

    async def test_every_region_down_is_ses_list_unavailable(
        self, make_sync: MakeSync, database: Database
    ) -> None:
        sync = make_sync(regions=(REGION, SECOND_REGION), fakes={})
        with pytest.raises(SesListUnavailable) as caught:
            await sync.run_pass()
        assert caught.value.status_code == 502
        assert caught.value.region == REGION
        assert await snapshot(database, "suppression", "ses_mirror") == {
            "suppression": [],
            "ses_mirror": [],
        }


@dataclass
class ChangedAfterTheRead(FakeSes):
    """Once the list is served, SES's entries change (``change`` is given them)."""

    change: Callable[[dict[str, FakeEntry]], object] = lambda _: None

    def answer(self, call: Call) -> tuple[int, dict[str, object] | None, str | None]:
        answered = super().answer(call)
        if call.operation == "ListSuppressedDestinations":
            with self.lock:
                self.change(self.entries)
        return answered


@dataclass
class RemovingFake(FakeSes):
    """Removes ``victim`` in bouncer (from another thread, on its own connection) while
    SES answers the first Put: an operator acting while a pass is under way."""

    database_url: str = ""
    victim: str = ""
    removed: bool = False

    def answer(self, call: Call) -> tuple[int, dict[str, object] | None, str | None]:
        answer = super().answer(call)
        if call.operation == "PutSuppressedDestination" and not self.removed:
            self.removed = True
            run_isolated(lambda: self._remove())
        return answer

    async def _remove(self) -> None:
        database = Database(self.database_url)
        try:
            at = datetime.now(UTC)
            assert await remove(database, self.victim, now=at, regions=(REGION,))
        finally:
            await database.dispose()


class TestRemovalWhileAPassRuns:
    async def test_an_address_removed_during_the_puts_is_not_put(
        self, make_sync: MakeSync, database: Database, database_url: str, aws_env: None
    ) -> None:
        fake = RemovingFake(database_url=database_url, victim="b@example.com")
        await add(database, "a@example.com", "bounce", now=EARLIER)
        await add(database, "b@example.com", "bounce", now=EARLIER)
        with running_fake_ses(fake):
            # No transaction is open while SES answers, so the removal is not kept waiting.
            report = await make_sync(mode="both", fakes={REGION: fake}).run_pass()
            assert report.regions[0].pushed == 1
            assert list(fake.entries) == ["a@example.com"]
            assert len((await snapshot(database, "ses_outbox"))["ses_outbox"]) == 1
            later = await make_sync(mode="both", fakes={REGION: fake}).run_pass()
        assert (later.regions[0].deleted, later.regions[0].pushed) == (0, 0)
        assert (await snapshot(database, "ses_outbox"))["ses_outbox"] == []
        assert await entry(database, "b@example.com") is None
