"""A live bouncer for the browser: `python -m app serve` on loopback, seeded through its
own front doors (/v1 with a bearer token, /sns with signed messages), SNS in moto."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx
from moto.server import ThreadedMotoServer

from tests.conftest import READ, READ_TOKEN, TOPIC, WRITE, WRITE_TOKEN
from tests.databases import DatabaseFactory
from tests.live import LiveServer
from tests.signing import SnsSigner, post_args

REGION = "us-east-1"
# A second topic whose subscription is left pending for the console to confirm (moto's
# account is 123456789012, as in TOPIC).
PENDING_TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-complaints-topic-prod"
# SES's bounce/complaint topics in moto, so ConfirmSubscription answers as SNS would.
MOTO_TOPICS = (TOPIC, PENDING_TOPIC)


@contextmanager
def moto_sns() -> Iterator[str]:
    """moto_server on a free loopback port with both topics made; yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.session.Session().client(
        "sns",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for arn in MOTO_TOPICS:
        client.create_topic(Name=arn.rsplit(":", 1)[1])
    try:
        yield endpoint
    finally:
        server.stop()
        if server._server is not None:  # stop() leaves the listening socket open
            server._server.server_close()


class LiveConsole:
    """One bouncer process and its two API clients (write and read tokens)."""

    def __init__(
        self,
        *,
        database_url: str,
        data_dir: Path,
        signer: SnsSigner,
        sns_endpoint: str,
    ) -> None:
        cert_dir = data_dir / "certs"
        cert_dir.mkdir(parents=True, exist_ok=True)
        signer.write_cert(cert_dir)
        self.signer = signer
        self.database_url = database_url
        env = {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "SNS_TOPIC_ARNS": ",".join(MOTO_TOPICS),
            "SNS_CERT_DIR": str(cert_dir),
            # Pending until confirmed (by /v1/subscriptions/confirm or the console).
            "SNS_AUTO_CONFIRM": "false",
            "API_TOKENS": f"ops={WRITE_TOKEN}",
            "API_READ_TOKENS": f"viewer={READ_TOKEN}",
            "LOG_LEVEL": "WARNING",
            # ConfirmSubscription goes to moto; credentials from here only, never a
            # profile, a file or the metadata service.
            "AWS_ENDPOINT_URL_SNS": sns_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(data_dir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(data_dir / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        self.server = LiveServer(env, data_dir / "server.log")
        self.url = self.server.url
        self.api = httpx.Client(base_url=self.url, headers=WRITE, timeout=30)
        self.read_api = httpx.Client(base_url=self.url, headers=READ, timeout=30)

    def start(self) -> None:
        self.server.wait_ready()

    def stop(self) -> None:
        self.api.close()
        self.read_api.close()
        self.server.stop()

    def log_tail(self) -> str:
        return self.server.output()[-3000:]

    # Seeding and checking through the API.

    def put(self, email: str, reason: str = "manual", **fields: Any) -> dict[str, Any]:
        response = self.api.put(f"/v1/suppressions/{email}", json={"reason": reason, **fields})
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    def entry(self, email: str) -> httpx.Response:
        """GET /v1/suppressions/{email}: 200 with the entry, or 404 with its history."""
        return self.read_api.get(f"/v1/suppressions/{email}")

    def subscriptions(self) -> dict[str, str]:
        """Topic ARN -> status, as /v1/subscriptions lists them."""
        response = self.read_api.get("/v1/subscriptions")
        assert response.status_code == 200, response.text
        return {row["topic_arn"]: row["status"] for row in response.json()}

    def post_sns(self, envelope: dict[str, Any]) -> None:
        body, headers = post_args(envelope)
        response = self.api.post("/sns", content=body, headers=headers)
        assert response.status_code == 200, (response.status_code, response.text)

    def post_ses(self, message: str) -> None:
        """An SES event as SNS delivers it: a signed Notification on TOPIC."""
        self.post_sns(self.signer.make_notification(message, topic_arn=TOPIC))

    def subscribe(self, topic_arn: str) -> None:
        """A signed SubscriptionConfirmation: the subscription is kept pending."""
        self.post_sns(self.signer.make_subscription_confirmation(topic_arn=topic_arn))

    def confirm(self, topic_arn: str) -> None:
        response = self.api.post("/v1/subscriptions/confirm", json={"topic_arn": topic_arn})
        assert response.status_code == 200, response.text


@contextmanager
def running_console(
    databases: DatabaseFactory, data_dir: Path, signer: SnsSigner, sns_endpoint: str
) -> Iterator[LiveConsole]:
    """A started LiveConsole on a fresh database, stopped and the database released after."""
    url = databases.fresh()
    console = LiveConsole(
        database_url=url, data_dir=data_dir, signer=signer, sns_endpoint=sns_endpoint
    )
    try:
        console.start()
        yield console
    finally:
        console.stop()
        databases.release(url)
