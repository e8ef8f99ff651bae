"""The console's Subscriptions page lists the webhook endpoints: id, origin only (a read
session sees it, and the rest of a URL may hold a credential), types, and whether
deliveries fail, escaped as everything else the page shows."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import READ_TOKEN, WRITE, WRITE_TOKEN
from tests.console.conftest import sign_in
from tests.console.pages import parse, table
from tests.webhooks_api.conftest import fan_out, suppress, try_all

CAPTION = "Webhook endpoints"


async def _add(client: httpx.AsyncClient, url: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/webhooks", json={"url": url, **body}, headers=WRITE)
    assert response.status_code == 201, response.text
    added: dict[str, Any] = response.json()
    return added


async def _page(client: httpx.AsyncClient) -> str:
    response = await client.get("/console/subscriptions")
    assert response.status_code == 200, response.text
    return response.text


class TestWebhooksListed:
    async def test_none_yet(self, client: httpx.AsyncClient) -> None:
        await sign_in(client, READ_TOKEN)
        page = await _page(client)
        assert parse(page).one("h2", id="webhooks").text() == "Webhook endpoints"
        assert "No webhook endpoint yet." in page

    async def test_a_read_session_sees_the_origin_only(self, client: httpx.AsyncClient) -> None:
        secret_url = "https://hook-user:p4ssw0rd@hooks.example.com:8443/in/t0k3n?key=qu3ry"
        one = await _add(client, secret_url, types=["suppression.removed"])
        two = await _add(client, "http://[::1]/local")
        await sign_in(client, READ_TOKEN)
        page = await _page(client)
        rows = table(page, CAPTION)
        assert rows == [
            [one["id"], "https://hooks.example.com:8443", "suppression.removed", "active",
             rows[0][4]],
            [two["id"], "http://[::1]", ", ".join(two["types"]), "active", rows[1][4]],
        ]  # fmt: skip
        assert rows[0][4].endswith("UTC by ops")
        for hidden in ("hook-user", "p4ssw0rd", "/in", "t0k3n", "qu3ry", "/local", "whsec_"):
            assert hidden not in page, hidden
        headers = [th.text() for th in parse(page).all("th") if th.attrs.get("scope") == "col"]
        assert headers[-5:] == ["Endpoint", "Delivers to", "Types", "Status", "Added"]

    async def test_a_failing_one_says_since_when_and_why_escaped(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        # The test plays the deliverer (fan_out, try_all): the app's own loop would race it.
        await app.state.delivering.stop()
        await _add(client, "https://hooks.example.com/in")
        await suppress(client, "ann@example.com")
        await fan_out(app)
        error = 'answered 500: <script>alert("x")</script> & <b>down</b>'
        assert await try_all(app, status_code=500, error=error, final=True) == 1
        await sign_in(client, WRITE_TOKEN)
        page = await _page(client)
        [row] = table(page, CAPTION)
        assert row[3].startswith("failing since ")
        assert row[3].endswith(f"UTC: {error}")
        assert '<span class="status status-failing">failing</span>' in page
        assert "<script>alert" not in page
        assert (
            "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;down&lt;/b&gt;" in page
        )

        # A 2xx again: active, and the error is gone.
        await suppress(client, "bob@example.com")
        await fan_out(app)
        assert await try_all(app, status_code=200, error=None, final=False) == 1
        [row] = table(await _page(client), CAPTION)
        assert row[3] == "active"

    async def test_a_removed_one_is_no_longer_listed(self, client: httpx.AsyncClient) -> None:
        kept = await _add(client, "https://a.example/")
        gone = await _add(client, "https://b.example/")
        assert (await client.delete(f"/v1/webhooks/{gone['id']}", headers=WRITE)).status_code == 204
        await sign_in(client, READ_TOKEN)
        assert [row[0] for row in table(await _page(client), CAPTION)] == [kept["id"]]

    async def test_without_a_session_nothing_is_shown(self, client: httpx.AsyncClient) -> None:
        added = await _add(client, "https://hooks.example.com/")
        response = await client.get("/console/subscriptions")
        assert response.status_code == 303
        assert added["id"] not in response.text
