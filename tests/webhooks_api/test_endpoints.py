"""POST, GET and DELETE /v1/webhooks: an endpoint's secret is shown once, its status
says whether deliveries fail, and every call needs a write token (SPEC §10)."""

from __future__ import annotations

import base64
import re
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI

from app.vocabulary import ChangeType
from tests.conftest import READ, WRITE
from tests.webhooks_api.conftest import add_hook, fan_out, listed, suppress, try_all

ALL_TYPES = [str(t) for t in ChangeType]
SHOWN = {"id", "url", "types", "created_at", "created_by", "status", "failing_since", "last_error"}


class TestAdd:
    async def test_the_answer_holds_the_secret_and_the_endpoint(
        self, client: httpx.AsyncClient
    ) -> None:
        added = await add_hook(
            client, url="http://127.0.0.1:9000/hook?k=1", types=["suppression.removed"]
        )
        assert set(added) == SHOWN | {"secret"}
        assert re.fullmatch(r"wh_[0-9a-f]{32}", added["id"])
        assert added["url"] == "http://127.0.0.1:9000/hook?k=1"
        assert added["types"] == ["suppression.removed"]
        assert added["status"] == "active"
        assert added["failing_since"] is None
        assert added["created_by"] == "ops"  # the write token's name
        assert datetime.fromisoformat(added["created_at"]).tzinfo is not None
        assert added["secret"].startswith("whsec_")
        assert len(base64.b64decode(added["secret"].removeprefix("whsec_"))) == 32

    async def test_types_left_out_are_all_five(self, client: httpx.AsyncClient) -> None:
        added = await add_hook(client)
        assert added["types"] == ALL_TYPES

    async def test_types_are_kept_once_each_in_spec_order(self, client: httpx.AsyncClient) -> None:
        added = await add_hook(
            client, types=["send.suppressed", "suppression.added", "send.suppressed"]
        )
        assert added["types"] == ["suppression.added", "send.suppressed"]

    async def test_each_endpoint_has_its_own_id_and_secret(self, client: httpx.AsyncClient) -> None:
        one, two = await add_hook(client), await add_hook(client)
        assert one["id"] != two["id"]
        assert one["secret"] != two["secret"]
        assert [h["id"] for h in await listed(client)] == [one["id"], two["id"]]

    async def test_a_loopback_or_private_host_is_allowed(self, client: httpx.AsyncClient) -> None:
        for url in ("http://localhost:8080/x", "http://10.0.0.7/x", "http://[::1]:81/"):
            assert (await add_hook(client, url=url))["url"] == url


class TestSecretShownOnce:
    async def test_never_in_the_list_nor_the_endpoint(self, client: httpx.AsyncClient) -> None:
        added = await add_hook(client)
        for response in (
            await client.get("/v1/webhooks", headers=WRITE),
            await client.get(f"/v1/webhooks/{added['id']}", headers=WRITE),
            await client.get(f"/v1/webhooks/{added['id']}/deliveries", headers=WRITE),
        ):
            assert response.status_code == 200
            assert added["secret"] not in response.text
            assert "secret" not in response.text
        [item] = await listed(client)
        assert set(item) == SHOWN
        assert {k: v for k, v in added.items() if k != "secret"} == item


class TestGetAndRemove:
    async def test_get_one(self, client: httpx.AsyncClient) -> None:
        added = await add_hook(client)
        response = await client.get(f"/v1/webhooks/{added['id']}", headers=WRITE)
        assert response.status_code == 200
        assert response.json() == {k: v for k, v in added.items() if k != "secret"}

    async def test_delete_then_gone(self, client: httpx.AsyncClient) -> None:
        kept, gone = await add_hook(client), await add_hook(client)
        response = await client.delete(f"/v1/webhooks/{gone['id']}", headers=WRITE)
        assert response.status_code == 204
        assert response.content == b""
        assert [h["id"] for h in await listed(client)] == [kept["id"]]
        for method in ("GET", "DELETE"):
            again = await client.request(method, f"/v1/webhooks/{gone['id']}", headers=WRITE)
            assert again.status_code == 404
            assert gone["id"] in again.json()["error"]
        deliveries = await client.get(f"/v1/webhooks/{gone['id']}/deliveries", headers=WRITE)
        assert deliveries.status_code == 404

    async def test_delete_takes_its_deliveries_and_stops_them(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        gone, kept = await add_hook(client), await add_hook(client)
        await suppress(client, "ann@example.com")
        assert await fan_out(app) == 2
        assert (await client.delete(f"/v1/webhooks/{gone['id']}", headers=WRITE)).status_code == 204
        assert await try_all(app, status_code=204, error=None, final=False) == 1
        deliveries = await client.get(f"/v1/webhooks/{kept['id']}/deliveries", headers=WRITE)
        assert [d["status"] for d in deliveries.json()["items"]] == ["delivered"]


class TestStatus:
    async def test_failing_after_a_delivery_runs_out_then_active_after_a_2xx(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        added = await add_hook(client)
        await suppress(client, "ann@example.com")
        await fan_out(app)
        assert await try_all(app, status_code=500, error="answered 500: down", final=True) == 1

        [item] = await listed(client)
        assert item["status"] == "failing"
        assert datetime.fromisoformat(item["failing_since"]).tzinfo is not None
        assert item["last_error"] == "answered 500: down"
        one = await client.get(f"/v1/webhooks/{added['id']}", headers=WRITE)
        assert one.json()["status"] == "failing"

        await suppress(client, "bob@example.com")
        await fan_out(app)
        assert await try_all(app, status_code=200, error=None, final=False) == 1
        [item] = await listed(client)
        assert (item["status"], item["failing_since"], item["last_error"]) == (
            "active",
            None,
            None,
        )

    async def test_a_retry_pending_is_not_failing_yet(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        await add_hook(client)
        await suppress(client, "ann@example.com")
        await fan_out(app)
        assert await try_all(app, status_code=None, error="no answer", final=False) == 1
        [item] = await listed(client)
        assert item["status"] == "active"


class TestAccess:
    """Every /v1/webhooks call, reading included: the URLs may carry credentials."""

    CALLS = (
        ("POST", "/v1/webhooks"),
        ("GET", "/v1/webhooks"),
        ("GET", "/v1/webhooks/{id}"),
        ("DELETE", "/v1/webhooks/{id}"),
        ("GET", "/v1/webhooks/{id}/deliveries"),
    )

    @pytest.mark.parametrize(("method", "path"), CALLS)
    async def test_a_read_token_is_refused(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        added = await add_hook(client)
        response = await client.request(
            method,
            path.format(id=added["id"]),
            json={"url": "https://other.example/"},
            headers=READ,
        )
        assert response.status_code == 403
        assert "read-only" in response.json()["error"]
        assert [h["id"] for h in await listed(client)] == [added["id"]]

    @pytest.mark.parametrize(("method", "path"), CALLS)
    @pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token-at-all"}])
    async def test_no_token_is_401(
        self, client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
    ) -> None:
        added = await add_hook(client)
        response = await client.request(
            method,
            path.format(id=added["id"]),
            json={"url": "https://other.example/"},
            headers=headers,
        )
        assert response.status_code == 401
        assert added["secret"] not in response.text
        assert [h["id"] for h in await listed(client)] == [added["id"]]
