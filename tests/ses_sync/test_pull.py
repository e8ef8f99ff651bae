"""A pass pulls SES's list into bouncer (SPEC §7), through the real boto3 client to the fake."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.ses_sync import Direction, pulling
from app.suppression import ses_notes, ses_sync_store
from app.suppression.effects import Current
from app.suppression.ses_plan import ToPull
from app.vocabulary import Reason, Source
from tests.conftest import SettableClock
from tests.ses_sync.conftest import T0, MakeSync
from tests.ses_sync.fake_ses import FakeSes
from tests.ses_sync.tables import add, entry, history, remove, snapshot

SES_TIME = T0 - timedelta(days=3)


class TestFirstPass:
    async def test_pulls_every_entry_with_source_sync_and_ses_time(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        fake_ses.hold("Ann@Example.com", "BOUNCE", SES_TIME)
        fake_ses.hold("bob@example.org", "COMPLAINT", SES_TIME + timedelta(hours=1))
        report = await make_sync().run_pass()

        [region] = report.regions
        assert region.as_dict() == {
            "region": "us-east-1",
            "pulled": 2,
            "pushed": 0,
            "deleted": 0,
            "failed": 0,
            "noted": 0,
            "error": None,
        }
        assert report.as_dict() == {"regions": [region.as_dict()]}
        assert report.direction is Direction.PULL
        ann = await entry(database, "ann@example.com")
        assert ann is not None
        assert (ann.display, ann.reason, ann.source) == ("Ann@Example.com", Reason.BOUNCE, "sync")
        assert (ann.created_at, ann.updated_at, ann.expires_at) == (SES_TIME, T0, None)
        assert ann.note is not None
        assert "SES's account-level suppression list in us-east-1" in ann.note
        bob = await entry(database, "bob@example.org")
        assert bob is not None
        assert bob.reason == Reason.COMPLAINT
        [line] = await history(database, "ann@example.com")
        assert (line.action, line.actor, line.reason, line.at) == (
            "added",
            "sync:us-east-1",
            "bounce",
            T0,
        )
        assert line.source == Source.SYNC
        assert line.note == (
            "pulled from SES's account-level suppression list in us-east-1 "
            "(BOUNCE, last updated by SES 2026-12-05T12:00:00Z)"
        )

    async def test_the_mirror_and_the_state_remember_the_read(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database
    ) -> None:
        fake_ses.hold("Ann@Example.com", "BOUNCE", SES_TIME)
        fake_ses.hold("not an address", "BOUNCE", SES_TIME)
        report = await make_sync().run_pass()
        plan = report.regions[0].plan
        assert plan is not None
        assert [item.email for item in plan.invalid] == ["not an address"]
        tables = await snapshot(database, "ses_mirror", "ses_sync_state")
        assert tables["ses_mirror"] == [
            ("us-east-1", "Ann@Example.com", "ann@example.com", "BOUNCE", SES_TIME, None)
        ]
        assert tables["ses_sync_state"] == [("us-east-1", T0, T0, T0, None)]

    async def test_an_address_bouncer_holds_is_noted_once(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        await add(database, "ann@example.com", "manual", now=T0 - timedelta(days=9))
        fake_ses.hold("Ann@Example.com", "COMPLAINT", SES_TIME)
        fake_ses.hold("ANN@example.com", "BOUNCE", SES_TIME + timedelta(hours=1))
        sync = make_sync()
        first = await sync.run_pass()
        assert (first.regions[0].pulled, first.regions[0].noted) == (0, 1)
        ann = await entry(database, "ann@example.com")
        assert ann is not None
        assert (ann.reason, ann.source) == (Reason.MANUAL, "api")
        added, noted = await history(database, "ann@example.com")
        assert (noted.action, noted.actor, noted.reason, noted.source) == (
            "noted",
            "sync:us-east-1",
            None,
            None,
        )
        # Every form SES holds, and its latest word on the address.
        assert noted.note == ses_notes.held_too(
            "us-east-1",
            ["ANN@example.com", "Ann@Example.com"],
            "BOUNCE",
            SES_TIME + timedelta(hours=1),
        )
        assert added.source == "api"  # the entry's source stays on the line that wrote it

        before = await snapshot(database, "suppression", "suppression_change")
        clock.now += timedelta(minutes=5)
        second = await sync.run_pass()
        assert second.regions[0].as_dict()["noted"] == 0
        assert await snapshot(database, "suppression", "suppression_change") == before

    async def test_noted_again_after_the_entry_comes_back(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        await add(database, "ann@example.com", "manual", now=T0 - timedelta(days=9))
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        sync = make_sync()
        assert (await sync.run_pass()).regions[0].noted == 1
        # Removed, then added again by an operator: a new entry, whose history says again
        # that SES holds the address (the removal is older than nothing SES did: not pulled).
        await remove(database, "ann@example.com", now=T0 + timedelta(minutes=1))
        await add(database, "ann@example.com", "manual", now=T0 + timedelta(minutes=2))
        clock.now = T0 + timedelta(minutes=5)
        assert (await sync.run_pass()).regions[0].noted == 1
        actions = [change.action for change in await history(database, "ann@example.com")]
        assert actions == ["added", "noted", "removed", "added", "noted"]


class TestLaterPasses:
    async def test_a_second_pass_changes_nothing(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        for n in range(5):
            fake_ses.hold(f"user{n}@Example.com", "BOUNCE" if n % 2 else "COMPLAINT", SES_TIME)
        await add(database, "user0@example.com", "bounce", now=T0 - timedelta(days=1))
        sync = make_sync()
        await sync.run_pass()
        before = await snapshot(database, "suppression", "suppression_change", "ses_mirror")
        clock.now += timedelta(minutes=5)
        report = await sync.run_pass()
        assert report.regions[0].as_dict() | {"region": ""} == {
            "region": "",
            "pulled": 0,
            "pushed": 0,
            "deleted": 0,
            "failed": 0,
            "noted": 0,
            "error": None,
        }
        assert report.regions[0].plan is not None
        assert report.regions[0].plan.is_empty
        assert await snapshot(database, "suppression", "suppression_change", "ses_mirror") == before

    async def test_incremental_reads_send_start_date_and_a_whole_read_comes_back(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        sync = make_sync()
        await sync.run_pass()
        assert "StartDate" not in fake_ses.calls[-1].query

        clock.now = T0 + timedelta(minutes=5)
        fake_ses.hold("new@example.com", "BOUNCE", T0 + timedelta(minutes=3))
        report = await sync.run_pass()
        # The last read's start, less the overlap.
        assert fake_ses.calls[-1].query["StartDate"] == ["2026-12-08T11:45:00Z"]
        assert report.regions[0].pulled == 1

        clock.now = T0 + timedelta(hours=7)
        await sync.run_pass()
        assert "StartDate" not in fake_ses.calls[-1].query
        state = await snapshot(database, "ses_sync_state")
        assert state["ses_sync_state"] == [("us-east-1", clock.now, clock.now, clock.now, None)]

    async def test_an_entry_deleted_in_ses_leaves_the_mirror_on_the_next_whole_read(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        fake_ses.hold("gone@example.com", "BOUNCE", SES_TIME)
        sync = make_sync()
        await sync.run_pass()
        del fake_ses.entries["gone@example.com"]
        clock.now = T0 + timedelta(minutes=5)
        await sync.run_pass()  # incremental: SES says nothing of deletions
        assert len((await snapshot(database, "ses_mirror"))["ses_mirror"]) == 1
        clock.now = T0 + timedelta(hours=6)
        await sync.run_pass()
        assert (await snapshot(database, "ses_mirror"))["ses_mirror"] == []
        # bouncer keeps its entry: pull never removes.
        assert await entry(database, "gone@example.com") is not None


class TestAnSnsBounceDuringThePull:
    async def test_it_keeps_its_entry_and_the_batch_goes_on(
        self,
        make_sync: MakeSync,
        fake_ses: FakeSes,
        database: Database,
        database_url: str,
        clock: SettableClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # SES lists an address as it notifies SNS, so a pass may pull an address whose SNS
        # bounce commits in the middle of the batch: a new address has no row to lock. On
        # PostgreSQL the insert hit the primary key and the pass died (a 500 from POST
        # /v1/ses/sync); SQLite serialises writers from BEGIN IMMEDIATE, so this only
        # shows that the same code is right there too.
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        fake_ses.hold("bob@example.com", "BOUNCE", SES_TIME)
        real = ses_sync_store.removals
        calls: list[int] = []
        sns = Database(database_url)
        postgres = database_url.startswith("postgresql")

        async def removals(session: AsyncSession, keys: Collection[str]) -> Any:
            calls.append(1)
            if len(calls) == 2 and postgres:  # in the pull batch, its rows locked
                await add(sns, "ann@example.com", "bounce", now=T0, source=Source.SNS)
            return await real(session, keys)

        monkeypatch.setattr(ses_sync_store, "removals", removals)
        try:
            report = await make_sync().run_pass()
        finally:
            await sns.dispose()
        assert len(calls) == 2  # the plan's, and the batch's
        bob = await entry(database, "bob@example.com")
        assert bob is not None
        assert bob.source == Source.SYNC
        if not postgres:
            return
        assert report.regions[0].pulled == 1  # bob; ann is the SNS bounce's
        ann = await entry(database, "ann@example.com")
        assert ann is not None
        assert ann.source == Source.SNS
        assert [line.actor for line in await history(database, "ann@example.com")] == ["ops"]
        # and the next pass notes that SES holds it, as for any address bouncer had
        clock.now = T0 + timedelta(minutes=5)
        assert (await make_sync().run_pass()).regions[0].noted == 1


class TestRemovalMemory:
    async def test_a_removed_address_is_pulled_back_only_after_ses_updates_it(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        fake_ses.hold("Ann@Example.com", "BOUNCE", SES_TIME)
        sync = make_sync()
        await sync.run_pass()
        assert await remove(database, "ann@example.com", now=T0 + timedelta(minutes=1))

        clock.now = T0 + timedelta(minutes=5)
        report = await sync.run_pass()
        assert report.regions[0].pulled == 0
        assert await entry(database, "ann@example.com") is None
        clock.now = T0 + timedelta(hours=7)  # a whole read too
        assert (await sync.run_pass()).regions[0].pulled == 0
        assert await entry(database, "ann@example.com") is None

        # A new bounce: SES updates the entry after the removal.
        fake_ses.hold("Ann@Example.com", "BOUNCE", T0 + timedelta(hours=7, minutes=1))
        clock.now = T0 + timedelta(hours=7, minutes=5)
        assert (await sync.run_pass()).regions[0].pulled == 1
        ann = await entry(database, "ann@example.com")
        assert ann is not None
        assert ann.created_at == T0 + timedelta(hours=7, minutes=1)
        actions = [change.action for change in await history(database, "ann@example.com")]
        assert actions == ["added", "removed", "added"]

    async def test_an_expired_entry_is_pulled_back_as_new(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
    ) -> None:
        await add(
            database,
            "ann@example.com",
            "manual",
            now=T0 - timedelta(days=2),
            expires_at=T0 - timedelta(days=1),
        )
        fake_ses.hold("ann@example.com", "COMPLAINT", SES_TIME)
        assert (await make_sync().run_pass()).regions[0].pulled == 1
        ann = await entry(database, "ann@example.com")
        assert ann is not None
        assert (ann.reason, ann.source, ann.expires_at, ann.created_at) == (
            Reason.COMPLAINT,
            "sync",
            None,
            SES_TIME,
        )


class TestPulledEntries:
    """pulling.pulled_entries: the plan's pulls as they stand when written (pure)."""

    def test_decided_again_on_the_entry_and_the_removals_found(self) -> None:
        pulls = [
            ToPull(f"{name}@x.org", f"{name.title()}@x.org", Reason.BOUNCE, SES_TIME)
            for name in ("new", "expired", "active", "removed", "stale")
        ]
        current = {
            "expired@x.org": Current("manual", "api", T0 - timedelta(hours=1)),
            "active@x.org": Current("bounce", "sns", None),
        }
        removed = {"removed@x.org": SES_TIME, "stale@x.org": SES_TIME - timedelta(seconds=1)}
        new, revived = pulling.pulled_entries(pulls, current, removed, region="r-1", now=T0)
        assert [entry.email for entry in new] == ["new@x.org", "stale@x.org"]
        assert [entry.email for entry in revived] == ["expired@x.org"]
        assert {(e.source, e.created_at, e.updated_at) for e in new + revived} == {
            ("sync", SES_TIME, T0)
        }
