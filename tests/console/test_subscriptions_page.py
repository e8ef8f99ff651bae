"""The console's Subscriptions page: the SNS subscriptions seen at /sns, and confirming a
pending one end to end (a real signed SubscriptionConfirmation, the SubscribeURL answered
by the test's HTTP edge)."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import READ, READ_TOKEN, TOPIC, WRITE_TOKEN, AppMaker, Edge
from tests.console.conftest import csrf_in, sign_in
from tests.signing import SnsSigner, post_args

OTHER_TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-complaints"


async def pending_client(make_client: AppMaker, signer: SnsSigner) -> httpx.AsyncClient:
    """An app that keeps subscriptions pending, with TOPIC's subscription sent to /sns."""
    client: httpx.AsyncClient
    client, _ = await make_client(SNS_AUTO_CONFIRM=False, SNS_TOPIC_ARNS=f"{TOPIC},{OTHER_TOPIC}")
    body, headers = post_args(signer.make_subscription_confirmation(topic_arn=TOPIC))
    response = await client.post("/sns", content=body, headers=headers)
    assert response.json() == {"status": "pending"}
    return client


async def listed(client: httpx.AsyncClient) -> dict[str, str]:
    """Each topic's status as GET /v1/subscriptions lists it."""
    response = await client.get("/v1/subscriptions", headers=READ)
    assert response.status_code == 200
    return {row["topic_arn"]: row["status"] for row in response.json()}


async def page_csrf(client: httpx.AsyncClient) -> str:
    return csrf_in((await client.get("/console/subscriptions")).text)


def row_of(page: str, topic: str) -> str:
    found = re.search(rf"<tr>\s*<td>{re.escape(topic)}</td>(.*?)</tr>", page, re.S)
    assert found is not None, f"{topic} is not listed"
    return found.group(1)


class TestList:
    async def test_no_subscription_yet(self, client: httpx.AsyncClient) -> None:
        await sign_in(client, READ_TOKEN)
        page = await client.get("/console/subscriptions")
        assert page.status_code == 200
        assert "<h1>Subscriptions</h1>" in page.text
        assert "No SNS subscription has been seen" in page.text
        assert 'aria-current="page">Subscriptions' in page.text

    async def test_a_pending_one_is_listed_with_confirm_for_a_write_session(
        self, make_client: AppMaker, signer: SnsSigner
    ) -> None:
        client = await pending_client(make_client, signer)
        await sign_in(client, WRITE_TOKEN)
        page = (await client.get("/console/subscriptions")).text
        assert "<caption>SNS subscriptions</caption>" in page
        headers = re.findall(r'<th scope="col">([^<]+)</th>', page)
        assert headers == ["Topic", "Status", "First seen", "Last change"]
        row = row_of(page, TOPIC)
        assert '<span class="status status-pending">pending</span>' in row
        assert 'action="/console/subscriptions/confirm"' in row
        assert f'name="topic_arn" value="{TOPIC}"' in row
        # Each Confirm button names its topic for a screen reader, which lists buttons alone.
        assert f'<button type="submit" aria-label="Confirm {TOPIC}">Confirm</button>' in row
        assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>", row)

    async def test_a_read_session_sees_it_without_confirm(
        self, make_client: AppMaker, signer: SnsSigner
    ) -> None:
        client = await pending_client(make_client, signer)
        await sign_in(client, READ_TOKEN)
        page = (await client.get("/console/subscriptions")).text
        assert "pending" in row_of(page, TOPIC)
        assert "/console/subscriptions/confirm" not in page

    async def test_without_a_session_it_is_the_sign_in_page(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/console/subscriptions")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/sign-in?next=/console/subscriptions"


class TestConfirm:
    async def test_a_pending_one_confirmed_end_to_end(
        self, make_client: AppMaker, signer: SnsSigner, edge: Edge
    ) -> None:
        client = await pending_client(make_client, signer)
        assert edge.requests == []  # SNS_AUTO_CONFIRM=false: nothing requested yet
        await sign_in(client, WRITE_TOKEN)
        response = await client.post(
            "/console/subscriptions/confirm",
            data={"csrf": await page_csrf(client), "topic_arn": TOPIC},
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == (
            f"/console/subscriptions?confirmed={quote(TOPIC, safe='')}"
        )
        # The SubscribeURL the signed message gave, requested once.
        [request] = edge.requests
        assert request.url.host == "sns.us-east-1.amazonaws.com"
        assert request.url.params["Action"] == "ConfirmSubscription"
        assert await listed(client) == {TOPIC: "confirmed"}

        page = await client.get(response.headers["location"])
        assert f'<p role="status" class="notice">The subscription to {TOPIC} is confirmed.' in (
            page.text
        )
        row = row_of(page.text, TOPIC)
        assert '<span class="status status-confirmed">confirmed</span>' in row
        assert "Confirm</button>" not in row

    async def test_confirming_a_confirmed_one_shows_it_confirmed(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        body, headers = post_args(signer.make_subscription_confirmation(topic_arn=TOPIC))
        assert (await client.post("/sns", content=body, headers=headers)).json() == {
            "status": "confirmed"
        }
        await sign_in(client, WRITE_TOKEN)
        response = await client.post(
            "/console/subscriptions/confirm",
            data={"csrf": await page_csrf(client), "topic_arn": TOPIC},
            follow_redirects=True,
        )
        assert response.status_code == 200
        assert "is confirmed." in response.text
        assert len(edge.requests) == 1  # only SNS_AUTO_CONFIRM's own request

    async def test_an_unknown_topic_is_a_404_page(self, client: httpx.AsyncClient) -> None:
        await sign_in(client, WRITE_TOKEN)
        response = await client.post(
            "/console/subscriptions/confirm",
            data={"csrf": await page_csrf(client), "topic_arn": OTHER_TOPIC},
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in response.text
        assert f"no subscription for {OTHER_TOPIC} has been seen at /sns" in response.text

    async def test_sns_unreachable_is_a_503_page_and_listed_failed(
        self, make_client: AppMaker, signer: SnsSigner, edge: Edge
    ) -> None:
        client = await pending_client(make_client, signer)

        def unreachable(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        edge.respond = unreachable
        await sign_in(client, WRITE_TOKEN)
        response = await client.post(
            "/console/subscriptions/confirm",
            data={"csrf": await page_csrf(client), "topic_arn": TOPIC},
        )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert "<h1>Unavailable</h1>" in response.text
        assert "could not request the SubscribeURL" in response.text
        assert "ConnectError" in response.text
        assert await listed(client) == {TOPIC: "failed"}

        # Listed as failed, with why, and it can be confirmed again once SNS answers.
        row = row_of((await client.get("/console/subscriptions")).text, TOPIC)
        assert '<span class="status status-failed">failed</span>' in row
        assert '<p class="detail">could not request the SubscribeURL' in row
        assert "Confirm</button>" in row
        edge.respond = lambda _: httpx.Response(200)
        retried = await client.post(
            "/console/subscriptions/confirm",
            data={"csrf": await page_csrf(client), "topic_arn": TOPIC},
        )
        assert retried.status_code == 303
        assert await listed(client) == {TOPIC: "confirmed"}

    async def test_sns_refusing_is_a_503_page_saying_so(
        self, make_client: AppMaker, signer: SnsSigner, edge: Edge
    ) -> None:
        client = await pending_client(make_client, signer)
        edge.respond = lambda _: httpx.Response(
            403, text="<Error><Code>AuthorizationError</Code><Message>Token expired</Message>"
        )
        await sign_in(client, WRITE_TOKEN)
        response = await client.post(
            "/console/subscriptions/confirm",
            data={"csrf": await page_csrf(client), "topic_arn": TOPIC},
        )
        assert response.status_code == 503
        assert "AuthorizationError: Token expired" in response.text
        assert "SNS refused to confirm" in response.text

    async def test_an_unsubscribed_one_has_no_confirm_and_is_refused(
        self, make_client: AppMaker, signer: SnsSigner, edge: Edge
    ) -> None:
        client = await pending_client(make_client, signer)
        body, headers = post_args(signer.make_unsubscribe_confirmation(topic_arn=TOPIC))
        assert (await client.post("/sns", content=body, headers=headers)).status_code == 200
        await sign_in(client, WRITE_TOKEN)
        page = (await client.get("/console/subscriptions")).text
        assert "Confirm</button>" not in row_of(page, TOPIC)
        response = await client.post(
            "/console/subscriptions/confirm",
            data={"csrf": csrf_in(page), "topic_arn": TOPIC},
        )
        assert response.status_code == 422
        assert "is unsubscribed, not pending" in response.text
        assert edge.requests == []


class TestRefused:
    async def test_a_read_session_may_not_confirm(
        self, make_client: AppMaker, signer: SnsSigner, edge: Edge
    ) -> None:
        client = await pending_client(make_client, signer)
        await sign_in(client, READ_TOKEN)
        response = await client.post(
            "/console/subscriptions/confirm",
            data={"csrf": await page_csrf(client), "topic_arn": TOPIC},
        )
        assert response.status_code == 403
        assert "read-only" in response.text
        assert edge.requests == []
        assert await listed(client) == {TOPIC: "pending"}

    @pytest.mark.parametrize("csrf", [None, "", "forged"])
    async def test_without_the_csrf_token_nothing_is_confirmed(
        self, make_client: AppMaker, signer: SnsSigner, edge: Edge, csrf: str | None
    ) -> None:
        client = await pending_client(make_client, signer)
        await sign_in(client, WRITE_TOKEN)
        data = {"topic_arn": TOPIC} | ({} if csrf is None else {"csrf": csrf})
        response = await client.post("/console/subscriptions/confirm", data=data)
        assert response.status_code == 403
        assert edge.requests == []
        assert await listed(client) == {TOPIC: "pending"}

    async def test_without_a_session_it_is_the_sign_in_page(
        self, make_client: AppMaker, signer: SnsSigner, edge: Edge
    ) -> None:
        client = await pending_client(make_client, signer)
        response = await client.post("/console/subscriptions/confirm", data={"topic_arn": TOPIC})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/sign-in?next=")
        assert edge.requests == []

    @pytest.mark.parametrize(
        ("topic_arn", "status"),
        [(None, 422), ("", 422), ("   ", 422), ("arn\x00x", 422), ("a" * 1025, 422)],
    )
    async def test_a_bad_topic_field_is_422(
        self, client: httpx.AsyncClient, topic_arn: str | None, status: int
    ) -> None:
        await sign_in(client, WRITE_TOKEN)
        data = {"csrf": await page_csrf(client)}
        if topic_arn is not None:
            data["topic_arn"] = topic_arn
        response = await client.post("/console/subscriptions/confirm", data=data)
        assert response.status_code == status
        assert 'role="alert"' in response.text

    async def test_a_multipart_body_with_a_file_is_a_400_page(
        self, client: httpx.AsyncClient
    ) -> None:
        await sign_in(client, WRITE_TOKEN)
        response = await client.post(
            "/console/subscriptions/confirm",
            data={"csrf": await page_csrf(client), "topic_arn": TOPIC},
            files={"file": ("a.txt", b"x")},
        )
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("text/html")

    async def test_the_notice_never_echoes_a_topic_not_confirmed(
        self, make_client: AppMaker, signer: SnsSigner
    ) -> None:
        client = await pending_client(make_client, signer)
        await sign_in(client, READ_TOKEN)
        for asked in (TOPIC, "<script>alert(1)</script>", OTHER_TOPIC):
            page = await client.get("/console/subscriptions", params={"confirmed": asked})
            assert page.status_code == 200
            assert "is confirmed." not in page.text
            assert "<script>" not in page.text
