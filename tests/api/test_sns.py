"""POST /sns end to end: signed envelopes over HTTP through the ASGI app, on a real database."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.db import Database
from app.models import Event, ReceivedSnsMessage, Subscription, Suppression
from tests.conftest import TOPIC, AppMaker, Edge
from tests.outages import unreachable_database
from tests.queue.test_queue_bodies import eventbridge
from tests.ses_payloads import bounce
from tests.signing import SnsSigner, post_args

SIGNED = Path(__file__).parent.parent / "data" / "signed"


async def post(client: httpx.AsyncClient, envelope: dict[str, Any]) -> httpx.Response:
    body, headers = post_args(envelope)
    return await client.post("/sns", content=body, headers=headers)


async def count(app_or_url: FastAPI | str, model: Any) -> int:
    database: Database = (
        app_or_url.state.services.database
        if isinstance(app_or_url, FastAPI)
        else Database(app_or_url)
    )
    async with database.session() as session:
        n = await session.scalar(select(func.count()).select_from(model))
    return int(n or 0)


class TestNotification:
    async def test_stored_then_duplicate(
        self, make_client: Callable[..., Any], signer: SnsSigner, edge: Edge
    ) -> None:
        client, app = await make_client()
        envelope = signer.make_notification('{"hello": "world"}', topic_arn=TOPIC)
        first = await post(client, envelope)
        assert first.status_code == 200, first.text
        assert first.json() == {"status": "processed"}
        again = await post(client, envelope)
        assert again.json() == {"status": "duplicate"}
        assert await count(app, ReceivedSnsMessage) == 1
        assert edge.requests == []  # the certificate came from SNS_CERT_DIR

    async def test_v2_signature(self, client: httpx.AsyncClient, signer: SnsSigner) -> None:
        envelope = signer.make_notification("v2", topic_arn=TOPIC, version="2")
        response = await post(client, envelope)
        assert response.json() == {"status": "processed"}

    async def test_min_signature_version_refuses_sha1(
        self, make_client: Callable[..., Any], signer: SnsSigner
    ) -> None:
        client, app = await make_client(SNS_MIN_SIGNATURE_VERSION=2)
        response = await post(client, signer.make_notification("x", topic_arn=TOPIC))
        assert response.status_code == 403
        assert "SNS_MIN_SIGNATURE_VERSION" in response.json()["error"]
        assert await count(app, ReceivedSnsMessage) == 0

    async def test_content_type_is_ignored(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        body, headers = post_args(signer.make_notification("x", topic_arn=TOPIC))
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = await client.post("/sns", content=body, headers=headers)
        assert response.json() == {"status": "processed"}

    async def test_an_eventbridge_event_from_ses_is_read_from_its_detail(
        self, make_client: Callable[..., Any], signer: SnsSigner
    ) -> None:
        # SES → EventBridge → an SNS topic → /sns: the Message is EventBridge's wrapper.
        client, app = await make_client()
        detail = json.loads(bounce(["eve@example.com"], feedback_id="fb-eb", shape="event"))
        wrapped = signer.make_notification(eventbridge(detail), topic_arn=TOPIC)
        assert (await post(client, wrapped)).json() == {"status": "processed"}
        # The same bounce published to SNS directly counts once (its feedbackId).
        direct = signer.make_notification(json.dumps(detail), topic_arn=TOPIC)
        assert (await post(client, direct)).json() == {"status": "processed"}
        database: Database = app.state.services.database
        async with database.session() as session:
            rows = (await session.execute(select(Suppression.email, Suppression.reason))).all()
            types = list(await session.scalars(select(Event.type)))
        assert [tuple(row) for row in rows] == [("eve@example.com", "bounce")]
        assert types == ["Bounce"]

    async def test_an_eventbridge_event_from_another_source_is_recorded_only(
        self, make_client: Callable[..., Any], signer: SnsSigner
    ) -> None:
        client, app = await make_client()
        detail = json.loads(bounce(["fox@example.com"], shape="event"))
        wrapped = signer.make_notification(eventbridge(detail, source="my.app"), topic_arn=TOPIC)
        assert (await post(client, wrapped)).json() == {"status": "processed"}
        assert await count(app, Suppression) == 0


class TestGenuineAwsMessages:
    """Amazon-signed messages verify through the whole HTTP path with their certificates."""

    @pytest.mark.parametrize(
        "name",
        sorted(p.stem for p in SIGNED.glob("*.json") if "subscriptionconfirmation" not in p.stem),
    )
    async def test_verified_and_stored(
        self, name: str, make_client: Callable[..., Any], tmp_path: Path
    ) -> None:
        envelope = json.loads((SIGNED / f"{name}.json").read_text())
        if "Sns" in envelope:  # a Lambda record wraps the envelope
            envelope = envelope["Sns"]
        cert_url = envelope.get("SigningCertURL") or envelope["SigningCertUrl"]
        certs = tmp_path / "aws-certs"
        certs.mkdir()
        (certs / cert_url.rsplit("/", 1)[-1]).write_bytes((SIGNED / f"{name}.pem").read_bytes())
        client, app = await make_client(
            SNS_CERT_DIR=certs, SNS_TOPIC_ARNS="*", SNS_MAX_AGE_SECONDS=0
        )
        body = json.dumps(envelope).encode()
        response = await client.post(
            "/sns", content=body, headers={"Content-Type": "text/plain; charset=UTF-8"}
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "processed"}
        assert await count(app, ReceivedSnsMessage) == 1

        tampered = dict(envelope)
        tampered["MessageId"] = envelope["MessageId"][:-1] + (
            "0" if envelope["MessageId"][-1] != "0" else "1"
        )
        response = await client.post("/sns", content=json.dumps(tampered).encode())
        assert response.status_code == 403
        assert await count(app, ReceivedSnsMessage) == 1


class TestRefusals:
    async def test_stale_timestamp(self, client: httpx.AsyncClient, signer: SnsSigner) -> None:
        envelope = signer.make_notification(
            "x", topic_arn=TOPIC, timestamp=datetime(2020, 1, 1, tzinfo=UTC)
        )
        response = await post(client, envelope)
        assert response.status_code == 403
        assert "old" in response.json()["error"] or "Timestamp" in response.json()["error"]

    async def test_forged_signature(self, client: httpx.AsyncClient, signer: SnsSigner) -> None:
        envelope = signer.make_notification("x", topic_arn=TOPIC)
        envelope["Message"] = "y"
        response = await post(client, envelope)
        assert response.status_code == 403

    async def test_topic_not_allowed_names_it(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        other = "arn:aws:sns:us-east-1:999999999999:not-ours"
        envelope = signer.make_notification("x", topic_arn=other)
        envelope["SigningCertURL"] = "https://evil.example/cert.pem"
        response = await post(client, envelope)
        assert response.status_code == 403
        assert other in response.json()["error"]
        assert "SNS_TOPIC_ARNS" in response.json()["error"]
        assert edge.requests == []

    async def test_no_topics_configured_refuses_all(
        self, make_client: Callable[..., Any], signer: SnsSigner
    ) -> None:
        client, _ = await make_client(SNS_TOPIC_ARNS=[])
        response = await post(client, signer.make_notification("x", topic_arn=TOPIC))
        assert response.status_code == 403
        assert TOPIC in response.json()["error"]

    async def test_hostile_cert_url_never_fetched(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        envelope = signer.make_notification("x", topic_arn=TOPIC)
        envelope["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com.evil.com/x.pem"
        response = await post(client, envelope)
        assert response.status_code == 403
        assert "evil.com" in response.json()["error"]
        assert edge.requests == []

    async def test_header_body_mismatch(self, client: httpx.AsyncClient, signer: SnsSigner) -> None:
        body, headers = post_args(signer.make_notification("x", topic_arn=TOPIC))
        headers["x-amz-sns-message-id"] = "something-else"
        response = await client.post("/sns", content=body, headers=headers)
        assert response.status_code == 400
        assert "x-amz-sns-message-id" in response.json()["error"].lower()

    @pytest.mark.parametrize(
        "body",
        [
            b"",
            b"not json",
            b"[1, 2]",
            b'{"Type": "Notification"}',
            b'{"Type": 5, "MessageId": "x"}',
            b"\xff\xfe{}",
            b'{"Type": "Something", "MessageId": "m", "TopicArn": "t"}',
        ],
    )
    async def test_malformed_is_400(self, make_client: Callable[..., Any], body: bytes) -> None:
        client, app = await make_client()
        response = await client.post("/sns", content=body)
        assert response.status_code == 400
        assert response.json()["error"]
        assert await count(app, ReceivedSnsMessage) == 0

    async def test_raw_delivery_refused_with_advice(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/sns", content=b'{"anything": 1}', headers={"x-amz-sns-rawdelivery": "true"}
        )
        assert response.status_code == 400
        assert "raw message delivery" in response.json()["error"]

    async def test_body_over_limit_is_413(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/sns", content=b"x" * (600 * 1024))
        assert response.status_code == 413

    async def test_chunked_body_over_limit_is_413(self, client: httpx.AsyncClient) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(600):
                yield b"x" * 1024

        response = await client.post("/sns", content=chunks())
        assert response.status_code == 413


class TestDatabaseDown:
    async def test_503_and_nothing_stored(
        self,
        make_client: Callable[..., Any],
        signer: SnsSigner,
        database_url: str,
        tmp_path: Path,
    ) -> None:
        client, app = await make_client()
        database: Database = app.state.services.database
        app.state.services.ingest.database = unreachable_database(database_url, tmp_path)
        envelope = signer.make_notification("x", topic_arn=TOPIC)
        response = await post(client, envelope)
        assert response.status_code == 503
        assert "SNS will retry" in response.json()["error"]
        await app.state.services.ingest.database.dispose()
        # The retry, once the database is back, stores it exactly once.
        app.state.services.ingest.database = database
        assert (await post(client, envelope)).json() == {"status": "processed"}
        assert await count(app, ReceivedSnsMessage) == 1


class TestOverload:
    async def test_no_free_connection_is_503_overloaded(
        self, make_client: AppMaker, signer: SnsSigner, database_url: str
    ) -> None:
        client, app = await make_client()
        tiny = Database(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
        app.state.services.ingest.database = tiny
        try:
            async with tiny.engine.connect():  # the only connection, held
                response = await post(client, signer.make_notification("x", topic_arn=TOPIC))
        finally:
            await tiny.dispose()
        assert response.status_code == 503
        assert "overloaded" in response.json()["error"]


class TestCertificateHost:
    async def test_fetched_once_then_cached_failure_is_503(
        self, make_client: Callable[..., Any], signer: SnsSigner, edge: Edge, tmp_path: Path
    ) -> None:
        empty = tmp_path / "empty-certs"
        empty.mkdir()
        client, app = await make_client(SNS_CERT_DIR=empty)
        edge.respond = lambda _: httpx.Response(503)
        first = signer.make_notification("a", topic_arn=TOPIC)
        response = await post(client, first)
        assert response.status_code == 503
        assert await count(app, ReceivedSnsMessage) == 0

        pem = signer.cert_pem
        edge.respond = lambda _: httpx.Response(200, content=pem)
        assert (await post(client, first)).json() == {"status": "processed"}
        assert (await post(client, signer.make_notification("b", topic_arn=TOPIC))).json() == {
            "status": "processed"
        }
        assert len(edge.requests) == 2  # the failure was not cached; the success was
        assert all(r.url.host == "sns.us-east-1.amazonaws.com" for r in edge.requests)


class TestSubscriptions:
    async def test_confirmed_via_subscribe_url(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        envelope = signer.make_subscription_confirmation(topic_arn=TOPIC)
        response = await post(client, envelope)
        assert response.json() == {"status": "confirmed"}
        assert [str(r.url) for r in edge.requests] == [envelope["SubscribeURL"]]

    async def test_the_token_in_the_subscribe_url_is_never_logged(
        self,
        make_client: Callable[..., Any],
        signer: SnsSigner,
        edge: Edge,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        # httpx logs each request's URL at INFO; a SubscribeURL carries the Token.
        client, _ = await make_client(LOG_LEVEL="DEBUG")
        caplog.set_level(logging.DEBUG)
        envelope = signer.make_subscription_confirmation(topic_arn=TOPIC)
        assert (await post(client, envelope)).json() == {"status": "confirmed"}
        assert len(edge.requests) == 1
        assert caplog.records  # the capture works: bouncer's own lines are there
        assert envelope["Token"] not in caplog.text

    async def test_confirmed_via_api_with_authenticated_unsubscribe(
        self, make_client: Callable[..., Any], signer: SnsSigner, edge: Edge
    ) -> None:
        calls: list[tuple[str, dict[str, Any]]] = []

        class FakeSns:
            def __init__(self, region: str) -> None:
                self.region = region

            def confirm_subscription(self, **kwargs: Any) -> dict[str, Any]:
                calls.append((self.region, kwargs))
                return {"SubscriptionArn": TOPIC + ":1234"}

        client, app = await make_client(sns_client_factory=FakeSns)
        envelope = signer.make_subscription_confirmation(topic_arn=TOPIC)
        assert (await post(client, envelope)).json() == {"status": "confirmed"}
        assert calls == [
            (
                "us-east-1",
                {
                    "TopicArn": TOPIC,
                    "Token": envelope["Token"],
                    "AuthenticateOnUnsubscribe": "true",
                },
            )
        ]
        assert edge.requests == []
        async with app.state.services.database.session() as session:
            row = await session.get(Subscription, TOPIC)
        assert row is not None
        assert (row.status, row.confirmed_via) == ("confirmed", "api")

    async def test_pending_when_auto_confirm_off(
        self, make_client: Callable[..., Any], signer: SnsSigner, edge: Edge
    ) -> None:
        client, app = await make_client(SNS_AUTO_CONFIRM=False)
        envelope = signer.make_subscription_confirmation(topic_arn=TOPIC)
        assert (await post(client, envelope)).json() == {"status": "pending"}
        assert edge.requests == []
        async with app.state.services.database.session() as session:
            row = await session.get(Subscription, TOPIC)
        assert row is not None
        assert row.status == "pending"
        assert row.token == envelope["Token"]

    async def test_foreign_region_subscribe_url_never_requested(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        envelope = signer.make_subscription_confirmation(topic_arn=TOPIC)
        envelope["SubscribeURL"] = (
            "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x"
        )
        envelope = signer.sign(envelope)
        response = await post(client, envelope)
        assert response.status_code == 403
        assert edge.requests == []

    async def test_disallowed_topic_never_confirmed(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        other = "arn:aws:sns:us-east-1:999999999999:other"
        response = await post(client, signer.make_subscription_confirmation(topic_arn=other))
        assert response.status_code == 403
        assert edge.requests == []

    async def test_unsubscribe_recorded_nothing_requested(
        self, make_client: Callable[..., Any], signer: SnsSigner, edge: Edge
    ) -> None:
        client, app = await make_client()
        envelope = signer.make_unsubscribe_confirmation(topic_arn=TOPIC)
        assert (await post(client, envelope)).json() == {"status": "unsubscribed"}
        assert edge.requests == []
        async with app.state.services.database.session() as session:
            row = await session.get(Subscription, TOPIC)
        assert row is not None
        assert row.status == "unsubscribed"

    async def test_confirm_failure_is_503_and_retry_confirms(
        self, client: httpx.AsyncClient, signer: SnsSigner, edge: Edge
    ) -> None:
        envelope = signer.make_subscription_confirmation(topic_arn=TOPIC)
        edge.respond = lambda _: httpx.Response(500)
        assert (await post(client, envelope)).status_code == 503
        edge.respond = lambda _: httpx.Response(200)
        assert (await post(client, envelope)).json() == {"status": "confirmed"}


class TestBasicAuth:
    async def test_challenge_then_accepts_any_configured_pair(
        self, make_client: Callable[..., Any], signer: SnsSigner
    ) -> None:
        client, _ = await make_client(SNS_BASIC_AUTH=["sns:old-secret", "sns:new-secret"])
        envelope = signer.make_notification("x", topic_arn=TOPIC)
        body, headers = post_args(envelope)
        response = await client.post("/sns", content=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic ")

        wrong = base64.b64encode(b"sns:guess").decode()
        response = await client.post(
            "/sns", content=body, headers={**headers, "Authorization": f"Basic {wrong}"}
        )
        assert response.status_code == 401

        right = base64.b64encode(b"sns:new-secret").decode()
        response = await client.post(
            "/sns", content=body, headers={**headers, "Authorization": f"Basic {right}"}
        )
        assert response.json() == {"status": "processed"}


class TestVerificationOff:
    async def test_accepted_with_a_warning(
        self,
        make_client: Callable[..., Any],
        signer: SnsSigner,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        client, _ = await make_client(SNS_VERIFY_SIGNATURES=False)
        envelope = signer.make_notification("x", topic_arn=TOPIC)
        envelope["Signature"] = base64.b64encode(b"not a signature").decode()
        response = await post(client, envelope)
        assert response.json() == {"status": "processed"}
        assert "SNS_VERIFY_SIGNATURES=false" in caplog.text
