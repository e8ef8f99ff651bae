"""A failed subscription confirmation is listed in /v1/subscriptions as ``failed``, when, and
an operator can retry it with POST /v1/subscriptions/confirm."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.conftest import READ, TOPIC, WRITE, AppMaker, Edge
from tests.signing import SnsSigner, post_args


async def _subscribe(client: httpx.AsyncClient, signer: SnsSigner) -> httpx.Response:
    body, headers = post_args(signer.make_subscription_confirmation(topic_arn=TOPIC))
    return await client.post("/sns", content=body, headers=headers)


async def _listed(client: httpx.AsyncClient) -> list[dict[str, str]]:
    response = await client.get("/v1/subscriptions", headers=READ)
    assert response.status_code == 200
    listed: list[dict[str, str]] = response.json()
    return listed


class TestFailedConfirmation:
    async def test_listed_as_failed_then_retried_by_an_operator(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        edge.respond = lambda _: httpx.Response(500)
        assert (await _subscribe(client, signer)).status_code == 503
        [row] = await _listed(client)
        assert (row["topic_arn"], row["status"]) == (TOPIC, "failed")
        assert row["confirmed_via"] is None
        # What went wrong is listed, not only logged: the operator acts on it.
        assert "HTTP 500" in row["last_error"]
        failed_at = datetime.fromisoformat(row["updated_at"])

        edge.respond = lambda _: httpx.Response(200)
        confirmed = await client.post(
            "/v1/subscriptions/confirm", json={"topic_arn": TOPIC}, headers=WRITE
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json() == {"topic_arn": TOPIC, "status": "confirmed"}
        [row] = await _listed(client)
        assert (row["status"], row["confirmed_via"]) == ("confirmed", "url")
        assert row["last_error"] is None
        assert datetime.fromisoformat(row["updated_at"]) >= failed_at
        # The SubscribeURL was requested twice: SNS's try and the operator's.
        assert len(edge.requests) == 2

    async def test_an_operator_retry_that_fails_again_is_503_and_stays_failed(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        edge.respond = lambda _: httpx.Response(500)
        await _subscribe(client, signer)
        again = await client.post(
            "/v1/subscriptions/confirm", json={"topic_arn": TOPIC}, headers=WRITE
        )
        assert again.status_code == 503
        assert "HTTP 500" in again.json()["error"]
        assert [r["status"] for r in await _listed(client)] == ["failed"]

    async def test_sns_retry_that_succeeds_confirms(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        body, headers = post_args(signer.make_subscription_confirmation(topic_arn=TOPIC))
        edge.respond = lambda _: httpx.Response(500)
        assert (await client.post("/sns", content=body, headers=headers)).status_code == 503
        edge.respond = lambda _: httpx.Response(200)
        # SNS retries the same message: it is not a duplicate of the failed try.
        retried = await client.post("/sns", content=body, headers=headers)
        assert retried.json() == {"status": "confirmed"}
        assert [r["status"] for r in await _listed(client)] == ["confirmed"]

    async def test_a_failure_never_downgrades_a_confirmed_subscription(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        assert (await _subscribe(client, signer)).json() == {"status": "confirmed"}
        edge.respond = lambda _: httpx.Response(500)
        assert (await _subscribe(client, signer)).status_code == 503
        assert [r["status"] for r in await _listed(client)] == ["confirmed"]

    async def test_pending_confirm_that_fails_is_failed(
        self, make_client: AppMaker, signer: SnsSigner, edge: Edge
    ) -> None:
        client, _ = await make_client(SNS_AUTO_CONFIRM=False)
        assert (await _subscribe(client, signer)).json() == {"status": "pending"}
        edge.respond = lambda _: httpx.Response(403)
        response = await client.post(
            "/v1/subscriptions/confirm", json={"topic_arn": TOPIC}, headers=WRITE
        )
        assert response.status_code == 503
        assert [r["status"] for r in await _listed(client)] == ["failed"]

    async def test_a_refusal_at_sns_is_still_503_and_listed_failed(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        # A 4xx is told apart (a queue refuses it) but /sns answers as before: 503, which
        # SNS retries within its hour, and a failed row an operator can confirm later.
        edge.respond = lambda _: httpx.Response(
            403, text="<Error><Code>AuthorizationError</Code><Message>Token expired</Message>"
        )
        response = await _subscribe(client, signer)
        assert response.status_code == 503
        assert "Retry-After" in response.headers
        assert "AuthorizationError: Token expired" in response.json()["error"]
        [row] = await _listed(client)
        assert row["status"] == "failed"
        assert "HTTP 403" in row["last_error"]
