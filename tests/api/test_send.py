"""POST /v1/send over HTTP, and end to end: send through moto, bounce back over /sns, refuse."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from fastapi import FastAPI
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.sns.models import sns_backends
from sqlalchemy import select

from app.db import Database
from app.main import create_app
from app.models import Event
from app.services import Edges
from app.settings import Settings
from tests.conftest import make_settings
from tests.ses.conftest import (
    REGION,
    SENDER,
    MotoSes,
    StubbedSes,
    running_moto_ses,
    send_rows,
    stubbed_ses_client,
    suppress,
    use_fake_aws_credentials,
)
from tests.signing import TOPIC_ARN, post_args, shared_signer, sns_timestamp

AUTH = {"Authorization": "Bearer secret-token-for-send"}
SIMULATOR_BOUNCE = Path(__file__).parent.parent / "data" / "ses" / "simulator_bounce.json"


def no_outbound_http(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no outbound request expected, got {request.url}")


@asynccontextmanager
async def running_app(
    settings: Settings, *, ses_client: Any = None
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app, its SES client replaced by ``ses_client`` (moto's or a Stubber's)."""
    app = create_app(
        settings,
        edges=Edges(
            http_transport=httpx.MockTransport(no_outbound_http),
            sns_client_factory=None,
            ses_client=ses_client,
        ),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield app, http


@pytest.fixture
def api_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        DATABASE_URL=database_url,
        DATA_DIR=tmp_path,
        API_TOKENS="ops=secret-token-for-send",
        API_READ_TOKENS="viewer=read-token-for-send",
        LOG_FORMAT="text",
    )


@pytest.fixture
def moto_ses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[MotoSes]:
    use_fake_aws_credentials(monkeypatch, tmp_path)
    with running_moto_ses() as moto:
        yield moto


@pytest.fixture
def stubbed_ses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StubbedSes]:
    use_fake_aws_credentials(monkeypatch, tmp_path)
    with stubbed_ses_client() as stubbed:
        yield stubbed


SIMPLE: dict[str, Any] = {
    "from": SENDER,
    "to": ["ann@example.org"],
    "subject": "Your order has shipped",
    "text": "It is on its way.",
}


class TestPostSend:
    async def test_200_lists_who_got_it_and_who_was_dropped(
        self, api_settings: Settings, moto_ses: MotoSes
    ) -> None:
        async with running_app(api_settings, ses_client=moto_ses.client) as (app, http):
            await suppress(app.state.services.database, "bob@example.org", reason="complaint")
            response = await http.post(
                "/v1/send", json=SIMPLE | {"cc": ['"Bob" <Bob@Example.org>']}, headers=AUTH
            )
            rows = await send_rows(app.state.services.database)
        assert response.status_code == 200, response.text
        body = response.json()
        [message] = moto_ses.sent
        assert body == {
            "message_id": message.id,
            "sent_to": ["ann@example.org"],
            "suppressed": [{"email": "bob@example.org", "reason": "complaint"}],
        }
        assert [(r.ses_message_id, r.outcome) for r in rows] == [(message.id, "sent")]

    async def test_409_when_every_recipient_is_suppressed(
        self, api_settings: Settings, stubbed_ses: StubbedSes
    ) -> None:
        async with running_app(api_settings, ses_client=stubbed_ses.client) as (app, http):
            await suppress(app.state.services.database, "ann@example.org")
            response = await http.post("/v1/send", json=SIMPLE, headers=AUTH)
        assert response.status_code == 409
        assert response.json() == {
            "error": "all_recipients_suppressed",
            "message": "every recipient is on the suppression list; SES was not called",
            "suppressed": [{"email": "ann@example.org", "reason": "bounce"}],
        }
        assert stubbed_ses.calls == 0

    @pytest.mark.parametrize(
        ("code", "words"),
        [
            ("MessageRejected", "Email address is not verified"),
            ("AccountSendingPausedException", "paused sending for this AWS account"),
        ],
    )
    async def test_502_when_ses_refuses(
        self, code: str, words: str, api_settings: Settings, stubbed_ses: StubbedSes
    ) -> None:
        stubbed_ses.stubber.add_client_error(
            "send_email", code, "Email address is not verified.", http_status_code=400
        )
        async with running_app(api_settings, ses_client=stubbed_ses.client) as (app, http):
            response = await http.post("/v1/send", json=SIMPLE, headers=AUTH)
            [row] = await send_rows(app.state.services.database)
        assert response.status_code == 502
        body = response.json()
        assert set(body) == {"error", "ses_code"}
        assert body["ses_code"] == code
        assert words in body["error"]
        assert (row.outcome, row.ses_code) == ("ses_error", code)

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"from": None}, "from"),
            ({"cc": ["carol@example.org", "not an address"]}, "cc.1"),
            ({"raw": "From: shop@example.com\r\nTo: ann@example.org\r\n\r\nHi\r\n"}, "raw"),
            ({"tags": {"bad tag": "x"}}, "tags.bad tag"),
            ({"bodyy": "typo"}, "bodyy"),
        ],
        ids=["missing from", "bad address in cc", "both raw and text", "bad tag", "unknown"],
    )
    async def test_422_names_the_field(
        self,
        change: dict[str, Any],
        field: str,
        api_settings: Settings,
        stubbed_ses: StubbedSes,
    ) -> None:
        payload = {k: v for k, v in (SIMPLE | change).items() if v is not None}
        async with running_app(api_settings, ses_client=stubbed_ses.client) as (app, http):
            response = await http.post("/v1/send", json=payload, headers=AUTH)
            rows = await send_rows(app.state.services.database)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
        assert response.json()["error"].startswith(f"{field}: ")
        assert (stubbed_ses.calls, rows) == (0, [])

    async def test_401_without_a_token(
        self, api_settings: Settings, stubbed_ses: StubbedSes
    ) -> None:
        async with running_app(api_settings, ses_client=stubbed_ses.client) as (_, http):
            response = await http.post("/v1/send", json=SIMPLE)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert stubbed_ses.calls == 0

    async def test_403_with_a_read_only_token(
        self, api_settings: Settings, stubbed_ses: StubbedSes
    ) -> None:
        async with running_app(api_settings, ses_client=stubbed_ses.client) as (_, http):
            response = await http.post(
                "/v1/send", json=SIMPLE, headers={"Authorization": "Bearer read-token-for-send"}
            )
        assert response.status_code == 403
        assert stubbed_ses.calls == 0

    async def test_documented_with_examples(
        self, api_settings: Settings, stubbed_ses: StubbedSes
    ) -> None:
        async with running_app(api_settings, ses_client=stubbed_ses.client) as (_, http):
            spec = (await http.get("/openapi.json")).json()
        operation = spec["paths"]["/v1/send"]["post"]
        examples = operation["requestBody"]["content"]["application/json"]["examples"]
        assert set(examples) == {"simple", "raw", "template"}
        assert {"200", "401", "403", "409", "422", "502", "503"} <= set(operation["responses"])
        schema = spec["components"]["schemas"]["SendRequest"]
        assert "from" in schema["properties"]


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A real moto server on a free loopback port, for boto3 clients to reach over HTTP."""
    use_fake_aws_credentials(monkeypatch, tmp_path)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    yield url
    httpx.post(f"{url}/moto-api/reset")
    server.stop()


def bounce_for(message_id: str, recipient: str, *, source: str) -> str:
    """The SES bounce notification for one send, as real SES writes it.

    moto publishes a notification of its own for a send to the simulator's bounce address,
    but in no real shape (notificationType "Bounce, Complaint, or Delivery.", fixed
    message ids and recipients): take AWS's sample and point it at this send.
    """
    notification: dict[str, Any] = json.loads(SIMULATOR_BOUNCE.read_text())
    now = datetime.now(UTC)
    mail = notification["mail"]
    mail.update(messageId=message_id, source=source, destination=[recipient])
    mail["timestamp"] = sns_timestamp(now)
    bounce = notification["bounce"]
    bounce["feedbackId"] = f"{uuid.uuid4()}-000000"
    bounce["timestamp"] = sns_timestamp(now)
    bounce["bouncedRecipients"][0]["emailAddress"] = recipient
    return json.dumps(notification)


class TestEndToEndWithMotoServer:
    async def test_a_simulator_bounce_suppresses_the_next_send(
        self, moto_server: str, database_url: str, tmp_path: Path
    ) -> None:
        signer = shared_signer()
        cert_dir = tmp_path / "certs"
        cert_dir.mkdir()
        signer.write_cert(cert_dir)
        settings = make_settings(
            DATABASE_URL=database_url,
            DATA_DIR=tmp_path,
            API_TOKENS="ops=secret-token-for-send",
            SNS_TOPIC_ARNS=TOPIC_ARN,
            SNS_CERT_DIR=cert_dir,
            AWS_REGION=REGION,
            SES_ENDPOINT_URL=moto_server,
            LOG_FORMAT="text",
        )
        # SES in moto: a verified domain whose bounces go to the topic bouncer listens to.
        sesv2 = boto3.client("sesv2", region_name=REGION, endpoint_url=moto_server)
        sesv2.create_email_identity(EmailIdentity="example.com")
        sns = boto3.client("sns", region_name=REGION, endpoint_url=moto_server)
        topic = sns.create_topic(Name="ses-bounces")["TopicArn"]
        assert topic == TOPIC_ARN
        ses = boto3.client("ses", region_name=REGION, endpoint_url=moto_server)
        ses.set_identity_notification_topic(
            Identity="example.com", NotificationType="Bounce", SnsTopic=topic
        )
        recipient = "bounce@simulator.amazonses.com"
        payload = SIMPLE | {"to": [recipient]}

        async with running_app(settings) as (app, http):
            first = await http.post("/v1/send", json=payload, headers=AUTH)
            assert first.status_code == 200, first.text
            message_id = first.json()["message_id"]

            [(_, published, *_)] = (
                sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[topic].sent_notifications
            )
            assert "bounce" in published  # moto's simulator bounced it, in its own shape
            envelope = signer.make_notification(
                bounce_for(message_id, recipient, source=SENDER), topic_arn=topic
            )
            body, headers = post_args(envelope)
            delivered = await http.post("/sns", content=body, headers=headers)
            assert delivered.json() == {"status": "processed"}

            second = await http.post("/v1/send", json=payload, headers=AUTH)
            rows = await send_rows(app.state.services.database)
            events = await bounces_of(app.state.services.database, message_id)

        assert second.status_code == 409
        assert second.json()["suppressed"] == [{"email": recipient, "reason": "bounce"}]
        assert [(r.outcome, r.ses_message_id) for r in rows] == [
            ("sent", message_id),
            ("all_suppressed", None),
        ]
        # The bounce joins the send it came from.
        assert events == [(recipient, "hard_bounce")]


async def bounces_of(database: Database, ses_message_id: str) -> list[tuple[str | None, str]]:
    async with database.session() as session:
        rows = await session.execute(
            select(Event.email, Event.verdict).where(Event.ses_message_id == ses_message_id)
        )
        return [(email, verdict) for email, verdict in rows.all()]
