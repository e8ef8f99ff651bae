"""The app with its delivery loop running for real, a clock the tests can move, a live
receiver, and polling with a deadline."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Row

from app.main import create_app
from app.services import Edges
from app.settings import Settings
from app.webhooks import endpoints, webhook_store
from tests.conftest import WRITE, make_settings
from tests.webhooks.receiver import Receiver

# Short, so retries and time-outs happen within a test (SPEC's defaults: 5 s and 10 s).
RETRY_SECONDS = 0.3
TIMEOUT_SECONDS = 1.0


class ShiftedClock:
    """``Edges.clock``: the real time, plus whatever the test jumped."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump(self, by: timedelta) -> None:
        self.offset += by


async def eventually(check: Callable[[], Any], *, what: str, within: float = 20.0) -> Any:
    """Poll ``check`` until it is truthy; its value. Fails naming ``what`` at the deadline."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what} (last: {value!r})")
        await asyncio.sleep(0.05)


@dataclass
class Bouncer:
    """A running app (its lifespan entered: the delivery loop runs) and its client."""

    app: FastAPI
    client: httpx.AsyncClient

    async def add_webhook(
        self, receiver: Receiver, path: str, *, types: list[str] | None = None, url: str = ""
    ) -> tuple[str, str]:
        """An endpoint at the receiver's ``path`` (through the store): its id and secret."""
        webhook_id, secret = endpoints.new_id(), endpoints.new_secret()
        async with self.app.state.services.database.session() as session:
            await webhook_store.add(
                session,
                id=webhook_id,
                url=url or receiver.url(path),
                types=endpoints.check_types(types),
                secret=secret,
                created_by="tests",
                now=datetime.now(UTC),
            )
        receiver.expect(path, secret)
        return webhook_id, secret

    async def suppress(self, email: str, **body: Any) -> None:
        response = await self.client.put(
            f"/v1/suppressions/{email}", json={"reason": "manual", **body}, headers=WRITE
        )
        assert response.status_code in (200, 201), response.text

    async def unsuppress(self, email: str) -> None:
        response = await self.client.delete(f"/v1/suppressions/{email}?note=ok", headers=WRITE)
        assert response.status_code == 204, response.text

    async def feed(self) -> list[dict[str, Any]]:
        response = await self.client.get("/v1/changes", headers=WRITE)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def deliveries(self, webhook_id: str) -> list[Row[Any]]:
        async with self.app.state.services.database.session() as session:
            return await webhook_store.deliveries(session, webhook_id, limit=1000)

    async def webhook(self, webhook_id: str) -> Row[Any]:
        async with self.app.state.services.database.session() as session:
            row = await webhook_store.get(session, webhook_id)
        assert row is not None
        return row


Maker = Callable[..., Awaitable[Bouncer]]


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(slow_seconds=TIMEOUT_SECONDS * 3)
    yield made
    made.close()


@pytest.fixture
async def make_bouncer(
    settings: Settings, clock: ShiftedClock, receiver: Receiver
) -> AsyncIterator[Maker]:
    """``await make_bouncer(**setting_overrides)``: an app on the test's database (or the
    one the overrides name), delivering; every one stopped afterwards, before the
    receiver it delivers to."""
    opened: list[tuple[Any, httpx.AsyncClient]] = []

    async def make(
        webhook_transport: httpx.AsyncBaseTransport | None = None, **overrides: Any
    ) -> Bouncer:
        values = {
            **settings.model_dump(exclude_unset=True),
            "WEBHOOK_RETRY_SECONDS": RETRY_SECONDS,
            "WEBHOOK_TIMEOUT_SECONDS": TIMEOUT_SECONDS,
            **overrides,
        }
        edges = Edges(sns_client_factory=None, clock=clock, webhook_transport=webhook_transport)
        app = create_app(make_settings(**values), edges=edges)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://bouncer.example"
        )
        opened.append((lifespan, client))
        return Bouncer(app, client)

    yield make
    for lifespan, client in reversed(opened):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def bouncer(make_bouncer: Maker) -> Bouncer:
    return await make_bouncer()
