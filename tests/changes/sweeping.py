"""Helpers for the expiry sweep and retention tests: a turn of the upkeep on the app's
own database at a chosen moment, the whole feed, an address's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.db import Database
from app.suppression import expiry_store
from app.webhooks import upkeep
from tests.conftest import READ, WRITE

RETENTION = timedelta(days=30)
# Past the sweep's horizon: an expiry this long ago is due.
DUE = expiry_store.SETTLE + timedelta(seconds=1)


def now() -> datetime:
    return datetime.now(UTC)


def database_of(app: FastAPI) -> Database:
    database: Database = app.state.services.database
    return database


async def sweep(app: FastAPI, at: datetime, **batches: int) -> upkeep.Turn:
    """One upkeep turn of the app's, at ``at``."""
    return await upkeep.run_turn(database_of(app), now=at, retention=RETENTION, **batches)


async def put(client: httpx.AsyncClient, email: str, **body: Any) -> httpx.Response:
    if isinstance(body.get("expires_at"), datetime):
        body["expires_at"] = body["expires_at"].isoformat()
    response = await client.put(
        f"/v1/suppressions/{email}", json={"reason": "manual", **body}, headers=WRITE
    )
    assert response.status_code in (200, 201), response.text
    return response


async def feed(client: httpx.AsyncClient, cursor: str | None = None) -> tuple[list[Any], str]:
    """Every item after ``cursor``, page by page, and the last next_cursor."""
    items: list[Any] = []
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get("/v1/changes", params=params, headers=READ)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not body["items"]:
            return items, cursor


async def expired_events(client: httpx.AsyncClient, email: str | None = None) -> list[Any]:
    items, _ = await feed(client)
    return [
        item
        for item in items
        if item["type"] == "suppression.expired" and (email is None or item["email"] == email)
    ]


async def history(client: httpx.AsyncClient, email: str) -> list[Any]:
    response = await client.get(f"/v1/suppressions/{email}/history", headers=READ)
    assert response.status_code == 200, response.text
    lines: list[Any] = response.json()["history"]
    return lines


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
