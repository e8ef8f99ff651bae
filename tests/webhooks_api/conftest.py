"""Helpers for the /v1/webhooks tests: adding endpoints through the API, and making
deliveries the way the delivery worker does (the store's fan-out, claim and record)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.activity import change_feed
from app.webhooks import webhook_store
from tests.conftest import WRITE, AppMaker


@pytest.fixture
async def app_and_client(make_client: AppMaker) -> tuple[httpx.AsyncClient, FastAPI]:
    """The app without its delivery loop: these tests fan out, claim and record by hand
    (fan_out, try_all), and the loop would take that work from them, or try it first."""
    client, app = await make_client()
    await app.state.delivering.stop()
    return client, app


async def add_hook(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhooks", json={"url": "https://hooks.example.com/in", **body}, headers=WRITE
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def listed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/v1/webhooks", headers=WRITE)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def suppress(client: httpx.AsyncClient, *emails: str) -> None:
    for email in emails:
        response = await client.put(
            f"/v1/suppressions/{email}", json={"reason": "manual"}, headers=WRITE
        )
        assert response.status_code == 201, response.text


async def fan_out(app: FastAPI) -> int:
    """Turn the feed's new events into due deliveries, as the worker's first step does."""
    async with app.state.services.database.session() as session:
        await change_feed.place(session)
        return await webhook_store.fan_out(session, now=datetime.now(UTC))


async def try_all(app: FastAPI, *, status_code: int | None, error: str | None, final: bool) -> int:
    """Claim every due delivery and record one try of each: delivered (a 2xx
    ``status_code``), failed for good (``final``), or to be retried."""
    now = datetime.now(UTC)
    database = app.state.services.database
    async with database.session() as session:
        claimed = await webhook_store.claim_due(
            session, now=now, lease_until=now + timedelta(minutes=1), limit=1000
        )
    delivered = status_code is not None and 200 <= status_code < 300
    outcome = webhook_store.TryOutcome(
        delivered=delivered,
        status_code=status_code,
        error=None if delivered else error,
        next_attempt_at=None if delivered or final else now + timedelta(seconds=5),
    )
    async with database.session() as session:
        for claim in claimed:
            assert await webhook_store.record(session, claim, outcome, now=now)
    return len(claimed)
