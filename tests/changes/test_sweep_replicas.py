"""Replicas sharing one database: one sweeps at a time, the others skip their turn, and
every expiry is one event however the turns interleave."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from app.db import Database
from app.models import ChangeSweep
from app.suppression import expiry_store
from app.webhooks import upkeep
from tests.changes.sweeping import RETENTION, expired_events, history, now, put, sweep


async def _waiting_on_a_lock(url: str) -> None:
    """Poll, on a connection of its own, until a session of ``url``'s database waits on a
    lock (PostgreSQL's pg_stat_activity)."""
    watcher = Database(url)
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    try:
        end = asyncio.get_running_loop().time() + 10
        while True:
            async with watcher.session() as session:
                if await session.scalar(waiting):
                    return
            assert asyncio.get_running_loop().time() < end, "no session waited on a lock"
            await asyncio.sleep(0.02)
    finally:
        await watcher.dispose()


async def _due_entries(app: FastAPI, client: httpx.AsyncClient, count: int) -> list[str]:
    start = now()
    await sweep(app, start)
    emails = [f"r{i}@example.com" for i in range(count)]
    for i, email in enumerate(emails):
        await put(client, email, expires_at=start + timedelta(seconds=2, milliseconds=i % 5))
    return emails


@pytest.mark.postgres
async def test_a_replica_skips_its_turn_while_another_sweeps(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    emails = await _due_entries(app, client, 3)
    at = now() + timedelta(minutes=1)
    one, two = Database(database_url), Database(database_url)
    try:
        async with one.session() as session:
            swept = await expiry_store.sweep(session, now=at, limit=100)
            assert swept.expired == 3
            # The first replica's transaction holds the sweep's row: the second skips,
            # without waiting for it.
            skipped = await asyncio.wait_for(
                upkeep.run_turn(two, now=at, retention=RETENTION), timeout=5
            )
            assert skipped == upkeep.Turn(busy=True)
        after = await upkeep.run_turn(two, now=at + timedelta(seconds=1), retention=RETENTION)
        assert after == upkeep.Turn()
    finally:
        await one.dispose()
        await two.dispose()
    events = await expired_events(client)
    assert sorted(event["email"] for event in events) == emails


@pytest.mark.postgres
async def test_two_first_sweeps_create_one_row(database_url: str) -> None:
    one, two = Database(database_url), Database(database_url)
    try:
        at = now()
        async with one.session() as first:
            assert await expiry_store.sweep(first, now=at, limit=10) == expiry_store.Swept(
                started=True
            )
            # The second waits on the first's uncommitted row, then finds it taken.
            racing = asyncio.create_task(upkeep.run_turn(two, now=at, retention=RETENTION))
            await _waiting_on_a_lock(database_url)
            assert not racing.done()
        assert await asyncio.wait_for(racing, timeout=5) == upkeep.Turn(busy=True)
        async with one.session() as session:
            assert await session.scalar(select(func.count()).select_from(ChangeSweep)) == 1
    finally:
        await one.dispose()
        await two.dispose()


async def test_racing_replicas_give_one_event_per_entry(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    emails = await _due_entries(app, client, 40)
    replicas = [Database(database_url) for _ in range(3)]
    turns: list[upkeep.Turn] = []
    try:
        start = now()
        for step in range(1, 4):
            at = start + timedelta(minutes=step)
            turns += await asyncio.gather(
                *(
                    upkeep.run_turn(db, now=at, retention=RETENTION, sweep_batch=7)
                    for db in replicas
                )
            )
    finally:
        for db in replicas:
            await db.dispose()
    assert sum(turn.expired for turn in turns) == 40
    events = await expired_events(client)
    assert Counter(event["email"] for event in events) == Counter(emails)
    for email in emails[:5]:
        actions = [line["action"] for line in await history(client, email)]
        assert actions == ["added", "expired"]
