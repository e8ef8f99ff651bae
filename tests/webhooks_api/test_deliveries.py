"""GET /v1/webhooks/{id}/deliveries: each event's delivery to the endpoint, newest first,
paged by an opaque cursor (SPEC §10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.activity import change_feed
from tests.conftest import READ, WRITE
from tests.webhooks_api.conftest import add_hook, fan_out, suppress, try_all


async def _deliveries(client: httpx.AsyncClient, webhook_id: str, **params: Any) -> Any:
    response = await client.get(
        f"/v1/webhooks/{webhook_id}/deliveries", params=params, headers=WRITE
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _feed_ids(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/v1/changes", headers=READ)
    return [item["id"] for item in response.json()["items"]]


class TestDeliveries:
    async def test_none_yet(self, client: httpx.AsyncClient) -> None:
        added = await add_hook(client)
        assert await _deliveries(client, added["id"]) == {"items": [], "next_cursor": None}

    async def test_each_try_shown_newest_first(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        added = await add_hook(client)
        await suppress(client, "ann@example.com")
        await fan_out(app)
        assert await try_all(app, status_code=503, error="answered 503: busy", final=False) == 1
        await suppress(client, "bob@example.com")
        await fan_out(app)

        body = await _deliveries(client, added["id"])
        ann_event, bob_event = await _feed_ids(client)
        assert body["next_cursor"] is None
        newest, oldest = body["items"]
        assert set(newest) == {
            "event_id", "type", "status", "attempt", "status_code", "error", "at",
            "next_attempt_at",
        }  # fmt: skip
        assert newest["event_id"] == bob_event
        assert newest["type"] == "suppression.added"
        assert (newest["status"], newest["attempt"], newest["at"]) == ("pending", 0, None)
        assert newest["next_attempt_at"] is not None
        assert oldest["event_id"] == ann_event
        assert oldest["status"] == "pending"
        assert (oldest["attempt"], oldest["status_code"]) == (1, 503)
        assert oldest["error"] == "answered 503: busy"
        retry_at = datetime.fromisoformat(oldest["next_attempt_at"])
        assert retry_at > datetime.fromisoformat(oldest["at"])

        assert await try_all(app, status_code=204, error=None, final=False) == 1  # bob's
        delivered = (await _deliveries(client, added["id"]))["items"][0]
        assert (delivered["status"], delivered["status_code"], delivered["error"]) == (
            "delivered",
            204,
            None,
        )
        assert delivered["next_attempt_at"] is None

    async def test_only_the_types_it_takes(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        removals = await add_hook(client, types=["suppression.removed"])
        await suppress(client, "ann@example.com")
        gone = await client.delete("/v1/suppressions/ann@example.com", headers=WRITE)
        assert gone.status_code == 204
        await fan_out(app)
        [only] = (await _deliveries(client, removals["id"]))["items"]
        assert only["type"] == "suppression.removed"
        assert only["event_id"] == (await _feed_ids(client))[1]

    async def test_only_events_after_it_was_added(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        await suppress(client, "before@example.com")
        added = await add_hook(client)
        await suppress(client, "after@example.com")
        await fan_out(app)
        [only] = (await _deliveries(client, added["id"]))["items"]
        assert only["event_id"] == (await _feed_ids(client))[1]

    async def test_pages_follow_one_another(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        added = await add_hook(client)
        await suppress(client, *(f"p{i}@example.com" for i in range(5)))
        await fan_out(app)
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            body = await _deliveries(client, added["id"], **params)
            pages += 1
            seen += [item["event_id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert seen == list(reversed(await _feed_ids(client)))
        # A full last page says there is nothing older without one more empty page.
        assert (await _deliveries(client, added["id"], limit=5))["next_cursor"] is None

    async def test_an_event_pruned_leaves_its_delivery_without_an_event_id(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        added = await add_hook(client)
        await suppress(client, "old@example.com", "new@example.com")
        await fan_out(app)
        assert await try_all(app, status_code=200, error=None, final=False) == 2
        async with app.state.services.database.session() as session:
            # All but the last placed: the feed numbers on from it.
            assert (
                await change_feed.prune(session, before=datetime.now(UTC) + timedelta(1), limit=100)
                == 1
            )
        newest, oldest = (await _deliveries(client, added["id"]))["items"]
        assert newest["event_id"] is not None
        assert (oldest["event_id"], oldest["type"], oldest["status"]) == (None, None, "delivered")

    async def test_another_endpoints_deliveries_are_not_listed(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        one = await add_hook(client, types=["suppression.added"])
        other = await add_hook(client, types=["suppression.removed"])
        await suppress(client, "ann@example.com")
        await fan_out(app)
        assert len((await _deliveries(client, one["id"]))["items"]) == 1
        assert (await _deliveries(client, other["id"]))["items"] == []
