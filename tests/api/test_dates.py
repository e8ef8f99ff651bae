"""Dates, cursors and limits on /v1: a date without an offset is UTC (SPEC §4 Edges); a bad
or out-of-range one is 422 naming the field, never a 500."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from app.suppression import entry_store
from tests.conftest import READ, WRITE

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


async def _entry_at(app: FastAPI, email: str, when: datetime) -> None:
    async with app.state.services.database.session() as session:
        entry = entry_store.Entry(email=email, display=email, reason="bounce", source="api")
        await entry_store.put(session, entry, actor="t", now=when, replace_active=True)


async def _emails(client: httpx.AsyncClient, **params: str) -> set[str]:
    response = await client.get("/v1/suppressions", params=params, headers=READ)
    assert response.status_code == 200, response.text
    return {item["email"] for item in response.json()["items"]}


class TestNaiveIsUtc:
    async def test_list_since_and_until(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        await _entry_at(app, "ten@example.com", AT)
        assert await _emails(client, since="2026-12-01") == {"ten@example.com"}
        assert await _emails(client, since="2026-12-01T10:00:00") == {"ten@example.com"}
        assert await _emails(client, since="2026-12-01T10:00:01") == set()
        assert await _emails(client, until="2026-12-01T10:00:00") == set()
        assert await _emails(client, until="2026-12-01T10:00:01") == {"ten@example.com"}
        # The same instant with an offset.
        assert await _emails(client, since="2026-12-01T11:00:00+01:00") == {"ten@example.com"}
        assert await _emails(client, since="2026-12-01T11:00:01+01:00") == set()

    async def test_events_since(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/events", params={"since": "2026-12-01"}, headers=READ)
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "next_cursor": None}

    async def test_put_naive_expires_at(self, client: httpx.AsyncClient) -> None:
        response = await client.put(
            "/v1/suppressions/ann@example.com",
            json={"expires_at": "2099-01-01T12:00:00"},
            headers=WRITE,
        )
        assert response.status_code == 201, response.text
        assert response.json()["expires_at"] == "2099-01-01T12:00:00Z"
        dated = await client.put(
            "/v1/suppressions/ann@example.com", json={"expires_at": "2099-01-02"}, headers=WRITE
        )
        assert dated.status_code == 200, dated.text
        assert dated.json()["expires_at"] == "2099-01-02T00:00:00Z"


OUT_OF_RANGE = [
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+05:00",
    "0000-01-01",
    "10000-01-01",
    "2026-13-01",
    "2026-02-30T00:00:00",
    "yesterday",
    "1e30",
    "2026-12-01T25:00:00",
    "\uff12\uff10\uff12\uff16-\uff11\uff12-\uff10\uff11",
    "2026-12-01T10:00:00+24:00",
]


class TestRefused:
    @pytest.mark.parametrize("value", OUT_OF_RANGE)
    @pytest.mark.parametrize(
        ("path", "field"),
        [("/v1/suppressions", "since"), ("/v1/suppressions", "until"), ("/v1/events", "since")],
    )
    async def test_query_dates(
        self, client: httpx.AsyncClient, path: str, field: str, value: str
    ) -> None:
        response = await client.get(path, params={field: value}, headers=READ)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field

    @pytest.mark.parametrize("value", OUT_OF_RANGE)
    async def test_put_expires_at(self, client: httpx.AsyncClient, value: str) -> None:
        response = await client.put(
            "/v1/suppressions/ann@example.com", json={"expires_at": value}, headers=WRITE
        )
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "expires_at"
        assert (await client.get("/v1/suppressions", headers=READ)).json()["items"] == []

    @pytest.mark.parametrize(
        "cursor", [str(2**63), str(2**64), "9999999999999999999", "-1", "abc", "1.5", "0x10", ""]
    )
    async def test_events_cursor(self, client: httpx.AsyncClient, cursor: str) -> None:
        response = await client.get("/v1/events", params={"cursor": cursor}, headers=READ)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "cursor"

    async def test_events_largest_cursor_answers(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/events", params={"cursor": str(2**63 - 1)}, headers=READ)
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        "payload",
        [
            ["9999-12-31T23:00:00-05:00", "a@example.com"],
            ["2026-12-01T10:00:00", "a@example.com"],
            ["2026-12-01T10:00:00+00:00", "a\u0000@example.com"],
            ["2026-12-01T10:00:00+00:00", 5],
            [1, "a@example.com"],
            {"a": 1},
            ["2026-12-01T10:00:00+00:00"],
            None,
        ],
    )
    async def test_tampered_suppression_cursor(
        self, client: httpx.AsyncClient, payload: object
    ) -> None:
        cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
        response = await client.get("/v1/suppressions", params={"cursor": cursor}, headers=READ)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "cursor"

    @pytest.mark.parametrize("limit", ["0", "-1", str(10**30), "1.5", "x", "1001"])
    @pytest.mark.parametrize("path", ["/v1/suppressions", "/v1/events"])
    async def test_limits(self, client: httpx.AsyncClient, path: str, limit: str) -> None:
        response = await client.get(path, params={"limit": limit}, headers=READ)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "limit"
