"""review17: a pull batch and an SNS bounce for the same new address, on PostgreSQL.

pulling.pull locks the batch's *existing* rows (SELECT … FOR UPDATE) and then COPYs the
new ones in. A new address has no row to lock, so an SNS bounce for it committed in
between (SES adds the address to its list and notifies SNS at the same moment, so the
pass reads it just as its notification arrives) makes the COPY hit the primary key: the
whole batch rolls back and the pass dies with IntegrityError (a 500 from
POST /v1/ses/sync), the rest of the region undone. SQLite takes its write lock at BEGIN
IMMEDIATE, so there the race cannot happen."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.suppression import ses_sync_store
from app.vocabulary import Source
from tests.ses_sync.conftest import T0, MakeSync
from tests.ses_sync.fake_ses import FakeSes
from tests.ses_sync.tables import add, entry

SES_TIME = T0 - timedelta(days=3)


async def test_an_sns_bounce_committed_during_a_pull_batch_does_not_kill_the_pass(
    make_sync: MakeSync,
    fake_ses: FakeSes,
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers at BEGIN IMMEDIATE: no race to lose")
    fake_ses.hold("ann@example.com", "BOUNCE", SES_TIME)
    fake_ses.hold("bob@example.com", "BOUNCE", SES_TIME)
    real = ses_sync_store.removals
    calls: list[int] = []
    sns = Database(database_url)

    async def removals(session: AsyncSession, keys: Collection[str]) -> Any:
        calls.append(1)
        if len(calls) == 2:  # inside the pull batch, after its rows were locked
            await add(sns, "ann@example.com", "bounce", now=T0, source=Source.SNS)
        return await real(session, keys)

    monkeypatch.setattr(ses_sync_store, "removals", removals)
    try:
        report = await make_sync().run_pass()
    finally:
        await sns.dispose()
    assert report.regions[0].pulled == 1  # bob; ann is the SNS bounce's
    found = await entry(database, "bob@example.com")
    assert found is not None
    assert found.source == Source.SYNC
