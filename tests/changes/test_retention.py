"""Retention (CHANGES_RETENTION_DAYS): each upkeep turn deletes, in bounded batches, the
feed's older events (all but the last placed, so positions go on and a poller's cursor
stays good) and the finished webhook deliveries made before the cut-off."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from app.activity import change_feed
from app.vocabulary import DeliveryStatus
from app.webhooks import webhook_store
from tests.changes.sweeping import RETENTION, database_of, feed, now, put, sweep

HOOK = "wh_retention_test"


async def _events(client: httpx.AsyncClient, count: int, prefix: str = "old") -> str:
    """``count`` events, placed; the feed's next_cursor after them."""
    for i in range(count):
        await put(client, f"{prefix}{i}@example.com")
    _, cursor = await feed(client)
    return cursor


class TestEvents:
    async def test_old_events_go_but_the_last_and_positions_go_on(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        written = now()
        cursor = await _events(client, 5)
        assert cursor == "5"

        assert (await sweep(app, written + RETENTION - timedelta(minutes=1))).pruned_events == 0
        assert len((await feed(client))[0]) == 5  # not old enough yet

        assert (await sweep(app, written + RETENTION + timedelta(days=1))).pruned_events == 4
        items, last = await feed(client)
        assert [item["email"] for item in items] == ["old4@example.com"]  # the last placed
        assert last == cursor
        # A poller's cursor from before the prune carries on where it was.
        assert await feed(client, cursor) == ([], cursor)
        await put(client, "new@example.com")
        items, after = await feed(client, cursor)
        assert [item["email"] for item in items] == ["new@example.com"]
        assert after == "6"  # numbered on from the kept event: no position given twice

    async def test_a_prune_is_a_bounded_batch_of_the_oldest(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        written = now()
        await _events(client, 7)
        later = written + timedelta(days=1)
        async with database_of(app).session() as session:
            assert await change_feed.prune(session, before=later, limit=2) == 2
        items, _ = await feed(client)
        assert [item["email"] for item in items] == [f"old{i}@example.com" for i in range(2, 7)]
        # A turn takes batch after batch until only the last is left.
        turn = await sweep(app, written + RETENTION + timedelta(days=1), prune_batch=2)
        assert turn.pruned_events == 4
        items, _ = await feed(client)
        assert [item["email"] for item in items] == ["old6@example.com"]

    async def test_an_unplaced_event_is_kept(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        written = now()
        await _events(client, 2)
        await put(client, "unplaced@example.com")  # committed, not yet given a position
        turn = await sweep(app, written + RETENTION + timedelta(days=1))
        assert turn.pruned_events == 1
        items, cursor = await feed(client)
        assert [item["email"] for item in items] == ["old1@example.com", "unplaced@example.com"]
        assert cursor == "3"


class TestDeliveries:
    async def test_finished_deliveries_made_before_the_cut_off_go(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        # This test fans out, claims and records by hand: the app's loop would take that work.
        await app.state.delivering.stop()
        database = database_of(app)
        start = now()
        old = start - RETENTION - timedelta(days=1)
        async with database.session() as session:
            await webhook_store.add(
                session,
                id=HOOK,
                url="http://127.0.0.1:9/hook",
                types=["suppression.added"],
                secret="whsec_dGVzdA==",
                created_by="test",
                now=old,
            )
        await _events(client, 3)
        async with database.session() as session:
            assert await webhook_store.fan_out(session, now=old) == 3
            claims = await webhook_store.claim_due(
                session, now=old, lease_until=old + timedelta(minutes=1), limit=2
            )
            done = webhook_store.TryOutcome(True, 200, None, None)
            failed = webhook_store.TryOutcome(False, 500, "answered 500", None)
            for claim, outcome in zip(claims, (done, failed), strict=True):
                assert await webhook_store.record(session, claim, outcome, now=old)
        await _events(client, 1, prefix="recent")
        async with database.session() as session:
            assert await webhook_store.fan_out(session, now=start) == 1
            claims = await webhook_store.claim_due(
                session, now=start, lease_until=start + timedelta(minutes=1), limit=5
            )
            (recent,) = [claim for claim in claims if claim.first_due == start]
            assert await webhook_store.record(session, recent, done, now=start)

        turn = await sweep(app, start)
        assert turn.pruned_deliveries == 2
        assert turn.pruned_events == 0
        async with database.session() as session:
            kept = await webhook_store.deliveries(session, HOOK, limit=100)
        # The old one still being tried stays (its retries end after 24 hours), and the
        # recent finished one.
        assert sorted((row.status, row.created_at == old) for row in kept) == [
            (DeliveryStatus.DELIVERED, False),
            (DeliveryStatus.PENDING, True),
        ]
