"""Deliveries survive a database outage and share out between replicas: nothing lost,
and with a receiver that always answers, nothing tried twice."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db import sqlite_path
from app.webhooks.delivery import LEASE_MARGIN
from tests.tcp_proxy import TcpProxy
from tests.webhooks.conftest import Bouncer, Maker, ShiftedClock, eventually
from tests.webhooks.receiver import Answer, Receiver

HOLD_SECONDS = 5.0  # the try the outage catches waits this long for its answer, at most


@dataclass
class Outage:
    """Cuts the app's database and brings it back: on PostgreSQL a proxy that resets every
    connection and refuses new ones; on SQLite another writer holding the lock (the app
    waits DATABASE_STATEMENT_TIMEOUT_SECONDS for it, then fails as it does when down)."""

    settings: dict[str, Any]
    proxy: TcpProxy | None = None
    path: str | None = None
    _lock: sqlite3.Connection | None = None

    async def start(self) -> None:
        if self.proxy is not None:
            await asyncio.to_thread(self.proxy.cut)
        else:
            self._lock = await asyncio.to_thread(self._take_the_lock)

    def _take_the_lock(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            str(self.path), isolation_level=None, timeout=10, check_same_thread=False
        )
        connection.execute("BEGIN IMMEDIATE")
        return connection

    async def end(self) -> None:
        if self.proxy is not None:
            await asyncio.to_thread(self.proxy.restore)
        elif self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
            self._lock = None


@contextmanager
def outage_of(database_url: str) -> Iterator[Outage]:
    direct = make_url(database_url)
    if direct.get_backend_name() == "sqlite":
        outage = Outage(
            {"DATABASE_STATEMENT_TIMEOUT_SECONDS": 0.5}, path=str(sqlite_path(database_url))
        )
        try:
            yield outage
        finally:
            if outage._lock is not None:
                outage._lock.close()
        return
    with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        proxied = direct.set(host="127.0.0.1", port=proxy.port)
        yield Outage({"DATABASE_URL": proxied.render_as_string(hide_password=False)}, proxy)


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


class TestDatabaseOutage:
    async def test_events_pending_through_an_outage_are_all_delivered_after_it(
        self,
        make_bouncer: Maker,
        receiver: Receiver,
        database_url: str,
        clock: ShiftedClock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.INFO, logger="bouncer.webhooks")
        held: list[str] = []

        def plan(_path: str, webhook_id: str, n: int) -> Answer:
            held[:] = held or [webhook_id]  # the first event's first try waits for release()
            return Answer.HOLD if (webhook_id, n) == (held[0], 1) else Answer.OK

        receiver.plan = plan
        with outage_of(database_url) as outage:
            bouncer = await make_bouncer(WEBHOOK_TIMEOUT_SECONDS=HOLD_SECONDS, **outage.settings)
            webhook_id, _ = await bouncer.add_webhook(receiver, "/hook")
            await bouncer.suppress("held@example.com")
            await eventually(lambda: receiver.requests("/hook"), what="the first try, held")
            # The loop waits on that try: these two are committed, not yet fanned out.
            await bouncer.suppress("waits@example.com")
            await bouncer.suppress("also-waits@example.com")
            feed = [item["id"] for item in await bouncer.feed()]

            await outage.start()
            receiver.release()  # answered 200, but the outcome cannot be recorded
            await eventually(
                lambda: messages(caplog, "was not recorded"), what="the unrecorded outcome"
            )
            await eventually(
                lambda: messages(caplog, "webhook delivery paused"), what="a step failed"
            )
            await outage.end()

            await eventually(
                lambda: len(receiver.effects("/hook")) == 3, what="the waiting two delivered"
            )
            # The held one is tried again once its lease ends: a duplicate, ignored.
            clock.jump(LEASE_MARGIN + timedelta(seconds=HOLD_SECONDS + 1))
            rows = await eventually(
                lambda: _all_delivered(bouncer, webhook_id, 3), what="every delivery recorded"
            )
        assert messages(caplog, "webhook delivery resumed")
        assert set(receiver.effects("/hook")) == set(feed)
        by_event = {r.event_uid: r.attempt for r in rows}
        assert by_event == {feed[0]: 2, feed[1]: 1, feed[2]: 1}
        assert [r.n for r in receiver.requests("/hook") if r.webhook_id == feed[0]] == [1, 2]
        assert all(r.verified for r in receiver.requests())


class TestReplicas:
    @pytest.mark.postgres
    async def test_two_replicas_on_one_database_try_each_event_once(
        self, make_bouncer: Maker, receiver: Receiver
    ) -> None:
        # Each replica's tries leave from an address of its own, to tell them apart.
        one = await make_bouncer(
            webhook_transport=httpx.AsyncHTTPTransport(local_address="127.0.0.1")
        )
        two = await make_bouncer(
            webhook_transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        )
        first, _ = await one.add_webhook(receiver, "/first")
        second, _ = await two.add_webhook(receiver, "/second")
        events = 40
        await asyncio.gather(
            *((one, two)[i % 2].suppress(f"u{i}@example.com") for i in range(events))
        )
        for path in ("/first", "/second"):
            await eventually(
                lambda p=path: len(receiver.effects(p)) == events,  # type: ignore[misc]
                what=f"every event at {path}",
            )
        for webhook_id in (first, second):
            rows = await eventually(
                lambda w=webhook_id: _all_delivered(one, w, events),  # type: ignore[misc]
                what="every delivery recorded",
            )
            assert {r.attempt for r in rows} == {1}
        requests = receiver.requests()
        assert len(requests) == 2 * events, "an event was tried twice"
        assert all(r.verified and r.n == 1 for r in requests)
        assert {r.peer for r in requests} == {"127.0.0.1", "127.0.0.2"}, "one replica did all"


async def _all_delivered(bouncer: Bouncer, webhook_id: str, count: int) -> list[Any]:
    rows = await bouncer.deliveries(webhook_id)
    done = len(rows) == count and all(r.status == "delivered" for r in rows)
    return rows if done else []
