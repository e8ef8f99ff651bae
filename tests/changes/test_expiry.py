"""The expiry sweep (SPEC §10): ``suppression.expired`` once per entry whose expires_at
passed while it was on the list, with its ``expired`` history line; none for an entry
removed or re-suppressed first, nor for one written with an expires_at already past."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from app.suppression import entry_store, expiry_store
from app.suppression.effects import Entry
from tests.changes.sweeping import (
    DUE,
    database_of,
    expired_events,
    feed,
    history,
    moment,
    now,
    put,
    sweep,
)
from tests.conftest import WRITE


class TestExpiry:
    async def test_an_expiry_is_one_event_and_one_history_line(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        start = now()
        assert (await sweep(app, start)).expired == 0  # the first sweep starts the watch
        expires = start + timedelta(seconds=2)
        await put(
            client, "Trial@Example.com", reason="unsubscribe", note="trial", expires_at=expires
        )

        assert (await sweep(app, expires)).expired == 0  # not yet past the horizon
        assert await expired_events(client) == []
        assert (await sweep(app, expires + DUE)).expired == 1

        items, _ = await feed(client)
        assert [item["type"] for item in items] == ["suppression.added", "suppression.expired"]
        event = items[1]
        assert event["email"] == "trial@example.com"
        assert event["reason"] == "unsubscribe"
        assert event["note"] == "trial"
        assert event["actor"] == expiry_store.ACTOR
        assert event["source"] == "api"
        assert moment(event["expires_at"]) == expires
        assert moment(event["at"]) == expires  # when it stopped suppressing

        lines = await history(client, "trial@example.com")
        assert [line["action"] for line in lines] == ["added", "expired"]
        assert lines[1]["actor"] == expiry_store.ACTOR
        assert moment(lines[1]["expires_at"]) == expires
        assert lines[1]["note"] == "trial"
        assert lines[1]["source"] is None  # the entry's source stays on the line that wrote it
        assert lines[0]["source"] == "api"

        for later in (expires + DUE, expires + timedelta(hours=1), expires + timedelta(days=2)):
            assert (await sweep(app, later)).expired == 0
        assert len(await expired_events(client, "trial@example.com")) == 1

    async def test_the_first_sweep_reports_nothing_that_expired_before_it(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        start = now()
        await put(client, "old@example.com", expires_at=start + timedelta(seconds=1))
        first = await sweep(app, start + timedelta(hours=1))
        assert first.expired == 0
        async with database_of(app).session() as session:
            assert await expiry_store.swept_until(session) == (
                start + timedelta(hours=1) - expiry_store.SETTLE
            )
        assert (await sweep(app, start + timedelta(hours=2))).expired == 0
        assert await expired_events(client) == []

    async def test_an_expires_at_put_into_the_past_is_refused_and_changes_nothing(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        start = now()
        await sweep(app, start)
        expires = start + timedelta(hours=1)
        await put(client, "kept@example.com", expires_at=expires)
        for email in ("kept@example.com", "new@example.com"):
            response = await client.put(
                f"/v1/suppressions/{email}",
                json={"reason": "manual", "expires_at": (start - timedelta(seconds=1)).isoformat()},
                headers=WRITE,
            )
            assert response.status_code == 422
            assert response.json()["field"] == "expires_at"

        assert (await sweep(app, start + timedelta(minutes=1))).expired == 0
        assert (await sweep(app, expires + DUE)).expired == 1
        items, _ = await feed(client)
        assert [(item["type"], item["email"]) for item in items] == [
            ("suppression.added", "kept@example.com"),
            ("suppression.expired", "kept@example.com"),
        ]
        assert moment(items[1]["expires_at"]) == expires

    async def test_an_entry_written_already_expired_gets_no_expired_event(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        # The API refuses a past expires_at; a writer below it (the store, as the SNS path
        # and the sync use it) is not checked. Such an entry never suppressed after its
        # write, whose own event carries the past expires_at: no expired follows.
        start = now()
        await sweep(app, start)
        past = start - timedelta(seconds=1)  # after done_until: inside the next range
        async with database_of(app).session() as session:
            entry = Entry("late@example.com", "late@example.com", "manual", "api", expires_at=past)
            await entry_store.put(session, entry, actor="test", now=start, replace_active=True)

        assert (await sweep(app, start + timedelta(minutes=1))).expired == 0
        items, _ = await feed(client)
        assert [item["type"] for item in items] == ["suppression.added"]
        assert moment(items[0]["expires_at"]) == past

    async def test_an_entry_re_suppressed_before_its_expiry_gets_no_event_for_it(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        start = now()
        await sweep(app, start)
        soon = start + timedelta(seconds=2)
        later = start + timedelta(hours=1)
        await put(client, "cleared@example.com", expires_at=soon)
        await put(client, "cleared@example.com")  # no expires_at: until removed
        await put(client, "moved@example.com", expires_at=soon)
        await put(client, "moved@example.com", expires_at=later)

        assert (await sweep(app, soon + timedelta(minutes=1))).expired == 0
        assert (await sweep(app, later + DUE)).expired == 1
        (event,) = await expired_events(client)
        assert event["email"] == "moved@example.com"
        assert moment(event["expires_at"]) == later

    async def test_an_entry_removed_before_its_expiry_gets_no_event(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        start = now()
        await sweep(app, start)
        await put(client, "gone@example.com", expires_at=start + timedelta(seconds=2))
        removed = await client.delete("/v1/suppressions/gone@example.com", headers=WRITE)
        assert removed.status_code == 204

        assert (await sweep(app, start + timedelta(minutes=1))).expired == 0
        items, _ = await feed(client)
        assert [item["type"] for item in items] == ["suppression.added", "suppression.removed"]
        assert [line["action"] for line in await history(client, "gone@example.com")] == [
            "added",
            "removed",
        ]

    async def test_a_backlog_larger_than_a_batch_is_swept_over_passes(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        start = now()
        await sweep(app, start)
        shared = start + timedelta(seconds=2)  # four entries expire at one instant
        emails = [f"b{i}@example.com" for i in range(7)]
        for i, email in enumerate(emails):
            expires = shared if i < 4 else shared + timedelta(milliseconds=i)
            await put(client, email, expires_at=expires)
        at = start + timedelta(minutes=1)

        # Pass by pass: a full batch leaves done_until at the last expires_at it handled,
        # and the next pass takes the rest of that instant.
        database = database_of(app)
        passes = []
        for _ in range(3):
            async with database.session() as session:
                swept = await expiry_store.sweep(session, now=at, limit=3)
                passes.append((swept.expired, swept.full, await expiry_store.swept_until(session)))
        assert passes == [
            (3, True, shared),
            (3, True, shared + timedelta(milliseconds=5)),
            (1, False, at - expiry_store.SETTLE),
        ]
        events = await expired_events(client)
        assert sorted(event["email"] for event in events) == emails

    async def test_a_turn_runs_passes_until_the_backlog_is_gone(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        start = now()
        await sweep(app, start)
        emails = [f"t{i}@example.com" for i in range(11)]
        for email in emails:
            await put(client, email, expires_at=start + timedelta(seconds=2))
        turn = await sweep(app, start + timedelta(minutes=1), sweep_batch=2)
        assert turn.expired == 11
        events = await expired_events(client)
        assert sorted(event["email"] for event in events) == sorted(emails)
        assert (await sweep(app, start + timedelta(minutes=2), sweep_batch=2)).expired == 0

    async def test_an_entry_that_comes_back_expires_again(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        start = now()
        await sweep(app, start)
        first = start + timedelta(seconds=2)
        await put(client, "again@example.com", expires_at=first)
        assert (await sweep(app, first + DUE)).expired == 1
        # Suppressed again (in real time the first expiry is still ahead: an update).
        second = start + timedelta(hours=1)
        await put(client, "again@example.com", expires_at=second)
        assert (await sweep(app, second + DUE)).expired == 1
        events = await expired_events(client, "again@example.com")
        assert [moment(event["expires_at"]) for event in events] == [first, second]
