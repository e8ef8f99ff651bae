"""review17: "one pass at a time across replicas" when the advisory lock's connection dies.

The lock is a session-level pg_advisory_lock on a connection that then sits idle for the
whole pass (minutes for a large first read). If the server drops that connection
(idle_session_timeout, a failover, a proxy's idle cut), the lock is gone but the pass runs
on without knowing: another replica starts a second pass over the same list at once."""

from __future__ import annotations

import asyncio

import pytest

from app.db import Database
from app.errors import SyncBusy
from tests.databases import execute
from tests.ses_sync.conftest import MakeSync
from tests.ses_sync.fake_ses import running_fake_ses
from tests.ses_sync.test_passes import SES_TIME, HeldFake

KILL_LOCK_HOLDER = (
    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
    "AND pid <> pg_backend_pid()"
)


async def test_a_second_replica_does_not_run_while_the_first_pass_runs(
    make_sync: MakeSync, database_url: str, aws_env: None
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's")
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
            await running
            second_outcome = await asyncio.gather(second_pass, return_exceptions=True)
            assert concurrent == 1, "a second replica read SES's list while the first pass ran"
            assert isinstance(second_outcome[0], SyncBusy)
    finally:
        held.release.set()
        await other.dispose()
