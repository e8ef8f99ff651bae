"""Many entries sharing one expires_at (a bulk import's): the sweep walks them in
(expires_at, email) order from where its last pass stopped, each reported exactly once
however many passes they take."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import httpx
from fastapi import FastAPI

from app.suppression import expiry_store
from app.webhooks import upkeep
from tests.changes.sweeping import database_of, expired_events, now, sweep
from tests.conftest import WRITE

# More than two default batches.
MANY = 2 * upkeep.SWEEP_BATCH + 1003
# Addresses the databases' collations may order apart from Python (punctuation, case of
# the display, digits): the walk must resume in the database's own order.
_STEMS = ("a.b", "a-b", "ab", "a_b", "a+b", "A.c", "z")


async def _import_sharing(client: httpx.AsyncClient, expires: str, count: int) -> list[str]:
    emails = [f"{_STEMS[i % len(_STEMS)]}{i}@example.com" for i in range(count)]
    body = "email,reason,expires_at\n" + "".join(f"{e},manual,{expires}\n" for e in emails)
    imported = await client.post("/v1/suppressions/import", content=body.encode(), headers=WRITE)
    assert imported.status_code == 200, imported.text
    assert imported.json()["inserted"] == count, imported.text
    return [email.lower() for email in emails]


async def test_thousands_sharing_one_instant_are_each_reported_once_over_passes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    start = now()
    await sweep(app, start)
    shared = start + timedelta(seconds=2)
    emails = await _import_sharing(client, shared.isoformat(), MANY)
    at = start + timedelta(minutes=1)

    database = database_of(app)
    passes: list[expiry_store.Swept] = []
    while not passes or passes[-1].full:
        async with database.session() as session:
            passes.append(await expiry_store.sweep(session, now=at, limit=upkeep.SWEEP_BATCH))
        assert len(passes) <= 4, passes
    assert [swept.expired for swept in passes] == [
        upkeep.SWEEP_BATCH,
        upkeep.SWEEP_BATCH,
        MANY - 2 * upkeep.SWEEP_BATCH,
    ]
    # Later turns find nothing more, at that instant or after it.
    for later in (at, at + timedelta(minutes=1), at + timedelta(hours=1)):
        assert (await sweep(app, later)).expired == 0

    events = await expired_events(client)
    assert Counter(event["email"] for event in events) == Counter(emails)
    assert {event["expires_at"] for event in events} == {events[0]["expires_at"]}


async def test_a_turn_whose_horizon_is_the_shared_instant_sweeps_all_of_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # The turn's horizon falls exactly on the instant the entries share: a full batch
    # stops inside it, and the turn's next pass must carry on there rather than take
    # the sweep for caught up (it used to: the rest waited for the next turn).
    start = now()
    await sweep(app, start)
    shared = start + timedelta(seconds=2)
    emails = await _import_sharing(client, shared.isoformat(), 9)

    turn = await sweep(app, shared + expiry_store.SETTLE, sweep_batch=2)
    assert turn.expired == 9
    events = await expired_events(client)
    assert Counter(event["email"] for event in events) == Counter(emails)
    assert (await sweep(app, shared + timedelta(minutes=1), sweep_batch=2)).expired == 0
