"""The upkeep loop the service runs: it sweeps on its own, on Edges.clock's time, and
outlives a database outage (one log line a turn, then the next turn)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db import Database, sqlite_path
from app.main import create_app
from app.services import Edges
from app.settings import Settings
from app.suppression import expiry_store
from app.webhooks import upkeep
from tests.changes.sweeping import DUE, expired_events, now, put
from tests.conftest import SettableClock
from tests.tcp_proxy import TcpProxy

DEADLINE = 20.0


async def _until(check: Callable[[], Awaitable[object]], what: str) -> None:
    """Poll ``check`` (a coroutine function) until it is truthy, or fail after DEADLINE."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while not await check():
        assert loop.time() < end, f"not within {DEADLINE} s: {what}"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def _service(
    settings: Settings, clock: SettableClock
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    app = create_app(settings, edges=Edges(clock=clock, sns_client_factory=None), upkeep_every=0.1)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://b.example") as client:
            yield client, app.state.services.database


async def test_the_service_sweeps_on_its_own(settings: Settings) -> None:
    start = now()
    clock = SettableClock(start)
    async with _service(settings, clock) as (client, database):

        async def swept_until() -> object:
            async with database.session() as session:
                return await expiry_store.swept_until(session)

        await _until(swept_until, "the first turn")
        expires = start + timedelta(seconds=2)
        await put(client, "loop@example.com", expires_at=expires)
        clock.now = expires + DUE

        async def expired() -> object:
            return await expired_events(client, "loop@example.com")

        await _until(expired, "the expired event")
        # Turns go on past it (done_until moves on): still the one event.
        clock.now += timedelta(minutes=1)

        async def moved_on() -> object:
            done = await swept_until()
            return done == clock.now - expiry_store.SETTLE

        await _until(moved_on, "later turns")
        assert len(await expired_events(client, "loop@example.com")) == 1
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "changes-upkeep"]


@contextlib.contextmanager
def _outage(url: str, tmp_path: Path) -> Iterator[tuple[Database, Callable[[], None]]]:
    """A Database of ``url``'s kind that cannot be reached, and how to bring it back."""
    if url.startswith("sqlite"):
        live = sqlite_path(url)
        assert live is not None
        path = tmp_path / "down" / "bouncer.db"
        database = Database(f"sqlite+aiosqlite:///{path}")
        path.mkdir()  # a directory where the file should be: "unable to open database file"

        def bring_back() -> None:
            path.rmdir()
            shutil.copyfile(live, path)

        yield database, bring_back
        return
    direct = make_url(url)
    with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        proxy.cut()  # nothing listens: the database is down
        proxied = direct.set(host="127.0.0.1", port=proxy.port)
        yield Database(proxied.render_as_string(hide_password=False)), proxy.restore


async def test_the_loop_outlives_a_database_outage(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    slept: list[float] = []
    with _outage(database_url, tmp_path) as (database, bring_back):

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            if len(slept) == 3:  # after two turns on a database that is down
                await asyncio.to_thread(bring_back)
            if len(slept) > 3:
                raise asyncio.CancelledError

        try:
            with (
                caplog.at_level(logging.INFO, "bouncer.changes"),
                pytest.raises(asyncio.CancelledError),
            ):
                await upkeep.run_periodically(
                    database, clock=now, retention_days=30, sleep=sleep, rng=random.Random(7)
                )
            async with database.session() as session:
                assert await expiry_store.swept_until(session) is not None  # the third turn
        finally:
            await database.dispose()
    failures = [r for r in caplog.records if r.name == "bouncer.changes"]
    assert len(failures) == 2  # one line a failed turn
    for record in failures:
        assert record.levelno == logging.WARNING
        assert record.getMessage().startswith("change feed upkeep failed: ")
        assert record.exc_info is None
        assert "\n" not in record.getMessage()
    first, *later = slept
    assert 0.5 * upkeep.FIRST_TURN_WITHIN <= first <= upkeep.FIRST_TURN_WITHIN
    low, high = upkeep.EVERY * (1 - upkeep.JITTER), upkeep.EVERY * (1 + upkeep.JITTER)
    assert all(low <= s <= high for s in later)


async def test_expiry_events_come_within_a_minute() -> None:
    # SPEC §10: the slowest turn plus the sweep's settling time.
    assert upkeep.EVERY * (1 + upkeep.JITTER) + expiry_store.SETTLE.total_seconds() < 60
    assert DUE > expiry_store.SETTLE
