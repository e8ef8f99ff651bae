"""How passes run: one at a time across replicas, throttling waited out, regions chosen,
progress reported, and the service's builder."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from sqlalchemy import text

from app.db import Database
from app.errors import InvalidInput, SyncBusy
from app.services import build_ses_sync
from app.ses_sync import Direction, SesSync
from app.suppression import ses_lease_store
from tests.conftest import SettableClock, make_settings
from tests.databases import execute, run_isolated
from tests.ses_sync.conftest import SECOND_REGION, T0, MakeSync
from tests.ses_sync.fake_ses import Call, FakeSes, running_fake_ses
from tests.ses_sync.tables import add, snapshot

SES_TIME = T0 - timedelta(days=3)


@dataclass
class HeldFake(FakeSes):
    """A fake whose list answers wait until ``release`` is set: a pass stays running."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: list[str] = field(default_factory=list)  # operations, as they arrive

    def answer(self, call: Call) -> tuple[int, dict[str, object] | None, str | None]:
        self.arrived.append(call.operation)
        if call.operation == "ListSuppressedDestinations" and not self.release.is_set():
            self.entered.set()
            self.release.wait(15)
        return super().answer(call)


class TestOnePassAtATime:
    """Two replicas (two SesSync, each with its own connection pool) on one database."""

    @pytest.mark.parametrize("wait", [False, True])
    async def test_a_second_pass_waits_or_is_refused(
        self, make_sync: MakeSync, database_url: str, aws_env: None, wait: bool
    ) -> None:
        held = HeldFake()
        other = Database(database_url)
        try:
            with running_fake_ses(held):
                held.hold("ann@example.com", "BOUNCE", SES_TIME)
                first = make_sync(fakes={"us-east-1": held})
                second = make_sync(fakes={"us-east-1": held}, on=other)
                running = asyncio.create_task(first.run_pass())
                await asyncio.to_thread(held.entered.wait, 15)
                if not wait:
                    with pytest.raises(SyncBusy) as caught:
                        await second.run_pass(wait=False)
                    assert caught.value.status_code == 409
                    held.release.set()
                    assert (await running).regions[0].pulled == 1
                    return
                waiting = asyncio.create_task(second.run_pass(wait=True))
                await asyncio.sleep(0.3)
                assert not waiting.done()
                assert held.arrived == ["ListSuppressedDestinations"]
                held.release.set()
                assert (await running).regions[0].pulled == 1
                assert (await waiting).regions[0].pulled == 0  # ran after, found it there
                assert held.operations() == ["ListSuppressedDestinations"] * 2
        finally:
            held.release.set()
            await other.dispose()

    async def test_the_same_replica_refuses_a_second_pass_without_waiting(
        self, make_sync: MakeSync, aws_env: None
    ) -> None:
        held = HeldFake()
        with running_fake_ses(held):
            sync = make_sync(fakes={"us-east-1": held})
            running = asyncio.create_task(sync.run_pass())
            await asyncio.to_thread(held.entered.wait, 15)
            with pytest.raises(SyncBusy):
                await sync.run_pass(wait=False)
            held.release.set()
            await running
            await sync.run_pass(wait=False)  # free again


# Only this test's database: the other xdist worker's sync passes hold the same advisory
# key in their own databases, and killing them made their tests fail at random.
KILL_LOCK_HOLDER = (
    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
    "AND pid <> pg_backend_pid() "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class TestTheAdvisoryLockLost:
    """PostgreSQL: the lock's connection dies (idle_session_timeout, a failover, a proxy's
    idle cut) while the pass runs on, minutes into a large first read."""

    @pytest.fixture(autouse=True)
    def _postgres(self, database_url: str) -> None:
        if not database_url.startswith("postgresql"):
            pytest.skip("the advisory lock is PostgreSQL's (a file lock is held by its process)")

    async def test_a_second_replica_does_not_run_while_the_first_pass_runs(
        self, make_sync: MakeSync, database_url: str, database: Database, aws_env: None
    ) -> None:
        held = HeldFake()
        other = Database(database_url)
        try:
            with running_fake_ses(held):
                held.hold("ann@example.com", "BOUNCE", SES_TIME)
                first = make_sync(fakes={"us-east-1": held})
                second = make_sync(fakes={"us-east-1": held}, on=other)
                running = asyncio.create_task(first.run_pass())
                await asyncio.to_thread(held.entered.wait, 15)
                await execute(database_url, KILL_LOCK_HOLDER)  # the lock's connection drops
                second_pass = asyncio.create_task(second.run_pass(wait=False))
                for _ in range(60):  # 3 s for the second replica to start reading SES
                    if held.arrived.count("ListSuppressedDestinations") > 1 or second_pass.done():
                        break
                    await asyncio.sleep(0.05)
                concurrent = held.arrived.count("ListSuppressedDestinations")
                held.release.set()
                report = await running
                second_outcome = await asyncio.gather(second_pass, return_exceptions=True)
                assert concurrent == 1, "a second replica read SES's list while the first ran"
                assert isinstance(second_outcome[0], SyncBusy)
                # The first pass noticed before its first write, and stopped there.
                [region] = report.regions
                assert region.error is not None
                assert "lost its database lock" in region.error
                assert region.pulled == 0
                assert await snapshot(database, "suppression", "ses_mirror") == {
                    "suppression": [],
                    "ses_mirror": [],
                }
                # Its lease is gone with it: the next pass runs and carries on.
                assert (await second.run_pass(wait=False)).regions[0].pulled == 1
        finally:
            held.release.set()
            await other.dispose()

    async def test_regions_not_begun_are_reported_not_run(
        self, make_sync: MakeSync, fake_ses: FakeSes, database_url: str
    ) -> None:
        class Dropping(FakeSes):
            def answer(self, call: Call) -> tuple[int, dict[str, object] | None, str | None]:
                answered = super().answer(call)
                run_isolated(lambda: execute(database_url, KILL_LOCK_HOLDER))
                return answered

        other = Dropping()
        with running_fake_ses(other):
            sync = make_sync(
                regions=("us-east-1", SECOND_REGION),
                fakes={"us-east-1": other, SECOND_REGION: fake_ses},
            )
            report = await sync.run_pass()
        assert [(r.region, r.error is not None) for r in report.regions] == [
            ("us-east-1", True),
            (SECOND_REGION, True),
        ]
        assert fake_ses.calls == []  # never read: the pass had stopped

    async def test_the_lease_is_one_holders_until_dropped_or_stale(
        self, database: Database
    ) -> None:
        fresh_for = timedelta(seconds=30)
        async with database.session() as session:
            assert await ses_lease_store.take(session, "a", fresh_for=fresh_for) is None
            assert await ses_lease_store.take(session, "b", fresh_for=fresh_for) == "a"
            assert await ses_lease_store.take(session, "a", fresh_for=fresh_for) is None
            assert await ses_lease_store.renew(session, "a")
            assert not await ses_lease_store.renew(session, "b")
            # a's replica died: its lease goes stale, and b takes it
            await session.execute(
                text("UPDATE ses_sync_lease SET renewed_at = now() - interval '1 min'")
            )
            assert await ses_lease_store.take(session, "b", fresh_for=fresh_for) is None
            assert not await ses_lease_store.renew(session, "a")
            await ses_lease_store.drop(session, "a")  # not a's: stays
            assert await ses_lease_store.take(session, "c", fresh_for=fresh_for) == "b"
            await ses_lease_store.drop(session, "b")
            assert await ses_lease_store.take(session, "c", fresh_for=fresh_for) is None


class TestPassOptions:
    async def test_throttling_is_waited_out(
        self, make_sync: MakeSync, fake_ses: FakeSes, delays: list[float]
    ) -> None:
        fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
        fake_ses.fail("ListSuppressedDestinations", times=2)
        report = await make_sync().run_pass()
        assert report.regions[0].pulled == 1
        assert len(delays) == 2
        assert fake_ses.operations() == ["ListSuppressedDestinations"] * 3

    async def test_an_unknown_region_is_named(self, make_sync: MakeSync) -> None:
        with pytest.raises(InvalidInput) as caught:
            await make_sync().run_pass(regions=["eu-west-1"])
        assert caught.value.status_code == 422
        assert caught.value.field == "region"
        assert "'eu-west-1' is not synced" in caught.value.message
        assert "SES_SYNC_REGIONS holds us-east-1" in caught.value.message
        with pytest.raises(InvalidInput):
            await make_sync().drift(regions=["mars-north-1"])

    async def test_one_region_of_several(self, make_sync: MakeSync, fake_ses: FakeSes) -> None:
        sync = make_sync(regions=("us-east-1", SECOND_REGION))  # eu-west-1 would fail
        report = await sync.run_pass(regions=["US-EAST-1"])
        assert [region.region for region in report.regions] == ["us-east-1"]

    @pytest.mark.parametrize(
        ("mode", "direction"),
        [("off", Direction.PULL), ("pull", Direction.PULL), ("both", Direction.BOTH)],
    )
    def test_the_default_direction_is_ses_syncs(
        self, make_sync: MakeSync, mode: str, direction: Direction
    ) -> None:
        assert make_sync(mode=mode).default_direction is direction

    async def test_progress_is_reported_by_stage(
        self, make_sync: MakeSync, fake_ses: FakeSes, database: Database
    ) -> None:
        for n in range(3):
            fake_ses.hold(f"user{n}@example.com", "BOUNCE", SES_TIME)
        seen: list[tuple[str, str, int]] = []
        await make_sync(mode="both").run_pass(
            on_progress=lambda region, stage, count: seen.append((region, stage, count))
        )
        assert seen == [("us-east-1", "read", 3), ("us-east-1", "pulled", 3)]


class TestBuilder:
    async def test_the_default_clients_talk_to_ses_endpoint_url(
        self, fake_ses: FakeSes, database: Database, database_url: str, tmp_path: Path
    ) -> None:
        fake_ses.hold("ann@example.com", "COMPLAINT", SES_TIME)
        settings = make_settings(
            DATABASE_URL=database_url,
            DATA_DIR=tmp_path,
            SES_SYNC="pull",
            SES_ENDPOINT_URL=fake_ses.url,
        )
        sync = build_ses_sync(settings, database, clock=SettableClock(T0))
        assert sync.regions == ["us-east-1"]
        report = await sync.run_pass()
        assert report.regions[0].pulled == 1
        assert fake_ses.calls[0].authorization.startswith("AWS4-HMAC-SHA256")


class TestAgainstTheModel:
    """The pass's requests checked against botocore's sesv2 model (Stubber)."""

    async def test_a_both_pass_asks_exactly_this(
        self, database: Database, aws_env: None, clock: SettableClock
    ) -> None:
        await add(database, "Hard@Example.com", "complaint", now=T0 - timedelta(days=1))
        client = boto3.client("sesv2", region_name="us-east-1")
        with Stubber(client) as stubber:
            stubber.add_response(
                "list_suppressed_destinations",
                {"SuppressedDestinationSummaries": []},
                {"PageSize": 1000},
            )
            stubber.add_response(
                "put_suppressed_destination",
                {},
                {"EmailAddress": "hard@example.com", "Reason": "COMPLAINT"},
            )
            sync = SesSync(
                database=database,
                regions=["us-east-1"],
                mode="both",
                client_factory=lambda region: client,
                clock=clock,
            )
            report = await sync.run_pass()
            stubber.assert_no_pending_responses()
        assert report.regions[0].pushed == 1


async def test_a_direction_given_as_text(make_sync: MakeSync, fake_ses: FakeSes) -> None:
    sync = make_sync(mode="both")
    assert (await sync.run_pass(direction="pull")).direction is Direction.PULL  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as caught:
        await sync.run_pass(direction="sideways")  # type: ignore[arg-type]
    assert caught.value.field == "direction"
    assert "use one of pull, push, both" in caught.value.message


async def test_a_region_no_list_can_have_is_refused_before_any_call(
    make_sync: MakeSync, fake_ses: FakeSes
) -> None:
    # AWS_REGION stands in for SES_SYNC_REGIONS; with SES_SYNC=off (a CLI pass) nothing
    # checked it at start.
    with pytest.raises(InvalidInput) as caught:
        await make_sync(regions=("us-" + "east" * 10 + "-1",)).run_pass()
    assert "longer than 32 characters" in caught.value.message
    assert fake_ses.calls == []
