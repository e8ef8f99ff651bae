"""GET /v1/changes: every list change and refused send, in order, with a cursor that
always moves on (SPEC §10)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import READ, WRITE


async def _feed(client: httpx.AsyncClient, cursor: str | None = None, **params: Any) -> Any:
    query = {"cursor": cursor, **params} if cursor else params
    response = await client.get("/v1/changes", params=query, headers=READ)
    assert response.status_code == 200, response.text
    return response.json()


class TestFeed:
    async def test_add_update_remove_each_an_event_in_order(
        self, client: httpx.AsyncClient
    ) -> None:
        email = "Someone@Example.com"
        put = await client.put(
            f"/v1/suppressions/{email}", json={"reason": "manual", "note": "asked"}, headers=WRITE
        )
        assert put.status_code == 201
        put = await client.put(
            f"/v1/suppressions/{email}",
            json={"reason": "manual", "note": "still", "expires_at": "2099-01-01T00:00:00Z"},
            headers=WRITE,
        )
        assert put.status_code == 200
        gone = await client.delete(f"/v1/suppressions/{email}?note=fixed", headers=WRITE)
        assert gone.status_code == 204

        body = await _feed(client)
        types = [item["type"] for item in body["items"]]
        assert types == ["suppression.added", "suppression.updated", "suppression.removed"]
        added, updated, removed = body["items"]
        assert added["email"] == "someone@example.com"
        assert added["reason"] == "manual"
        assert added["source"] == "api"
        assert added["note"] == "asked"
        assert added["actor"]
        assert updated["expires_at"].startswith("2099-01-01T00:00:00")
        assert removed["note"] == "fixed"
        assert len({item["id"] for item in body["items"]}) == 3
        assert all(item["id"].startswith("evt_") for item in body["items"])

        again = await _feed(client, body["next_cursor"])
        assert again == {"items": [], "next_cursor": body["next_cursor"]}

    async def test_pages_follow_one_another(self, client: httpx.AsyncClient) -> None:
        for i in range(5):
            response = await client.put(
                f"/v1/suppressions/p{i}@example.com", json={"reason": "manual"}, headers=WRITE
            )
            assert response.status_code == 201
        seen: list[str] = []
        cursor = None
        for _ in range(3):
            body = await _feed(client, cursor, limit=2)
            seen += [item["email"] for item in body["items"]]
            cursor = body["next_cursor"]
        assert seen == [f"p{i}@example.com" for i in range(5)]
