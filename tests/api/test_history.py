"""A removed entry stays explainable (SPEC §4 Edges): the 404 carries the history, and
/v1/suppressions/{email}/history lists the whole change log, suppressed or not."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import READ, TOPIC, WRITE
from tests.ses_payloads import bounce, post_ses
from tests.signing import SnsSigner


async def _add_then_remove(client: httpx.AsyncClient) -> None:
    added = await client.put(
        "/v1/suppressions/Ann@Example.com", json={"note": "asked us"}, headers=WRITE
    )
    assert added.status_code == 201, added.text
    gone = await client.delete(
        "/v1/suppressions/ann@example.com", params={"note": "wrong address"}, headers=WRITE
    )
    assert gone.status_code == 204


class TestRemovedEntry:
    async def test_404_says_who_removed_it_and_why(self, client: httpx.AsyncClient) -> None:
        await _add_then_remove(client)
        missing = await client.get("/v1/suppressions/ANN@example.com", headers=READ)
        assert missing.status_code == 404
        body = missing.json()
        assert body["email"] == "ANN@example.com"
        assert body["suppressed"] is False
        assert [(h["action"], h["actor"], h["note"]) for h in body["history"]] == [
            ("added", "ops", "asked us"),
            ("removed", "ops", "wrong address"),
        ]
        assert body["history"][0]["reason"] == "manual"
        assert all(h["at"].endswith("Z") for h in body["history"])

    async def test_never_listed_404_has_an_empty_history(self, client: httpx.AsyncClient) -> None:
        missing = await client.get("/v1/suppressions/nobody@example.com", headers=READ)
        assert missing.status_code == 404
        assert missing.json() == {
            "email": "nobody@example.com",
            "suppressed": False,
            "history": [],
        }

    async def test_history_route_for_removed_and_active(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        await _add_then_remove(client)
        removed = await client.get("/v1/suppressions/ann@example.com/history", headers=READ)
        assert removed.status_code == 200, removed.text
        assert removed.json()["email"] == "ann@example.com"
        assert removed.json()["suppressed"] is False
        assert [h["action"] for h in removed.json()["history"]] == ["added", "removed"]

        await post_ses(client, signer, bounce(["ann@example.com"]), topic_arn=TOPIC)
        active = await client.get("/v1/suppressions/ann@example.com/history", headers=READ)
        assert active.json()["suppressed"] is True
        items = active.json()["history"]
        assert [(h["action"], h["actor"]) for h in items] == [
            ("added", "ops"),
            ("removed", "ops"),
            ("added", "sns"),
        ]
        # The change that made the entry what it is carries the entry's source.
        assert items[-1]["source"] == "sns"
        assert items[-1]["reason"] == "bounce"

    async def test_history_of_an_address_never_listed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/suppressions/new@example.com/history", headers=READ)
        assert response.status_code == 200
        assert response.json() == {"email": "new@example.com", "suppressed": False, "history": []}

    async def test_history_of_an_address_with_a_slash(self, client: httpx.AsyncClient) -> None:
        assert (
            await client.put("/v1/suppressions/a%2Fb@example.com", json={}, headers=WRITE)
        ).status_code == 201
        response = await client.get("/v1/suppressions/a%2Fb@example.com/history", headers=READ)
        assert response.status_code == 200, response.text
        assert response.json()["email"] == "a/b@example.com"
        assert [h["action"] for h in response.json()["history"]] == ["added"]

    async def test_history_of_a_malformed_address_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/suppressions/a@@example.com/history", headers=READ)
        assert response.status_code == 422
        assert response.json()["field"] == "email"


class TestRoutes:
    async def test_export_is_never_an_address(self, client: httpx.AsyncClient) -> None:
        await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        export = await client.get("/v1/suppressions/export", headers=READ)
        assert export.status_code == 200
        assert "ann@example.com" in export.text

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    async def test_a_path_without_at_is_422_naming_the_email(
        self, client: httpx.AsyncClient, method: str
    ) -> None:
        response = await client.request(
            method, "/v1/suppressions/not-an-address", json={}, headers=WRITE
        )
        assert response.status_code == 422
        assert response.json()["field"] == "email"

    async def test_openapi_address_parameters_need_an_at(self, client: httpx.AsyncClient) -> None:
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/v1/suppressions/{email}/history" in paths
        for path in ("/v1/suppressions/{email}", "/v1/suppressions/{email}/history"):
            for operation in paths[path].values():
                (parameter,) = [p for p in operation["parameters"] if p["name"] == "email"]
                assert parameter["schema"]["pattern"] == "@"
