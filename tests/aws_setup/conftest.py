"""moto_server on loopback for ``bouncer aws setup``, taught two answers AWS gives and it
leaves out, and botocore Stubbers for what moto has not got at all.

moto keeps a topic's ``SignatureVersion`` and an identity's notification topics when
they are set, but leaves both out of its answers (GetTopicAttributes,
GetIdentityNotificationAttributes): setup would then see every run as drift. The server
here answers them from moto's own model, as AWS does, so state still round-trips through
the real wire protocol. It also answers, as SES does, only for identities that exist.
SES v2 configuration-set event destinations are missing from moto altogether: the tests
that need them use a Stubber on the sesv2 client (it checks each call and answer against
the real service model) and hand the clients to the CLI.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.ses.models import SESBackend
from moto.sns.responses import SNSResponse
from typer.testing import Result

from app.aws_wiring.setup import AwsClients
from tests.cli_runs import invoke
from tests.moto_server import running_moto_server
from tests.ses.conftest import REGION, use_fake_aws_credentials

ACCOUNT = "123456789012"  # moto's
ENDPOINT = "https://bouncer.example.com/sns"
KINDS = ("bounces", "complaints", "deliveries")
ARNS = {kind: f"arn:aws:sns:{REGION}:{ACCOUNT}:ses-{kind}" for kind in KINDS}
SNS_TOPIC_ARNS = "SNS_TOPIC_ARNS=" + ",".join(ARNS.values())
SERVICES = ("SNS", "SES", "SESV2", "STS")


def _topic_attributes(original: Any) -> Any:
    def answer(self: SNSResponse) -> Any:
        result = original(self)
        topic = self.backend.get_topic(self._get_param("TopicArn"))
        version = getattr(topic, "signature_version", None)
        if version:
            result.result["Attributes"]["SignatureVersion"] = version
        return result

    return answer


def _identity_notifications(self: SESBackend, identities: list[str]) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for identity in identities:
        if identity not in self.email_identities:
            continue  # as SES: unknown identities are left out
        config = self.sns_topics.get(identity, {})
        answer[identity] = {
            "ForwardingEnabled": config.get("feedback_forwarding_enabled", True),
            "HeadersInBounceNotificationsEnabled": False,
            "HeadersInComplaintNotificationsEnabled": False,
            "HeadersInDeliveryNotificationsEnabled": False,
        } | {
            f"{kind}Topic": config[kind]
            for kind in ("Bounce", "Complaint", "Delivery")
            if kind in config
        }
    return answer


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto_server per test process, answering as described above."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            SNSResponse, "get_topic_attributes", _topic_attributes(SNSResponse.get_topic_attributes)
        )
        patch.setattr(SESBackend, "get_identity_notification_attributes", _identity_notifications)
        with running_moto_server() as url:
            yield url


@pytest.fixture
def moto(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """An empty moto account that the CLI reaches through AWS_ENDPOINT_URL_<SERVICE>."""
    use_fake_aws_credentials(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    for service in SERVICES:
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", moto_url)
    yield moto_url
    httpx.post(f"{moto_url}/moto-api/reset")


def client(moto_url: str, service: str) -> Any:
    session = boto3.session.Session(region_name=REGION)
    return session.client(service, endpoint_url=moto_url)  # type: ignore[call-overload]


def setup_cli(tmp_path: Path, *args: str, clients: AwsClients | None = None) -> Result:
    """``bouncer aws setup ARGS`` with no database configured and a DATA_DIR that does not
    exist (setup needs neither)."""
    env = {"DATABASE_URL": None, "DATA_DIR": str(tmp_path / "no-data-dir")}
    return invoke(env, "aws", "setup", *args, obj=clients)


def step_lines(result: Result) -> list[str]:
    """The steps setup printed (stdout, between the account line and SNS_TOPIC_ARNS)."""
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"account {ACCOUNT} "), result.stdout
    assert lines[-1] == SNS_TOPIC_ARNS, result.stdout
    return lines[1:-1]


@dataclass
class Wiring:
    """An account's wiring, read back through boto3 from moto."""

    topics: dict[str, dict[str, Any]]
    subscriptions: dict[str, list[dict[str, Any]]]
    identities: dict[str, Any]


def read_back(moto_url: str, identities: tuple[str, ...] = ()) -> Wiring:
    sns = client(moto_url, "sns")
    topics: dict[str, dict[str, Any]] = {}
    subscriptions: dict[str, list[dict[str, Any]]] = {}
    for listed in sns.list_topics()["Topics"]:
        arn = listed["TopicArn"]
        attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        topics[arn] = {
            "SignatureVersion": attributes.get("SignatureVersion"),
            "Policy": json.loads(attributes["Policy"]),
        }
        subscriptions[arn] = []
        for sub in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]:
            got = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])
            sub_attributes = got["Attributes"]
            subscriptions[arn].append(
                {
                    "Protocol": sub["Protocol"],
                    "Endpoint": sub["Endpoint"],
                    "RawMessageDelivery": sub_attributes.get("RawMessageDelivery"),
                    "DeliveryPolicy": json.loads(sub_attributes.get("DeliveryPolicy") or "null"),
                }
            )
    found: dict[str, Any] = {}
    if identities:
        ses = client(moto_url, "ses")
        found = ses.get_identity_notification_attributes(Identities=list(identities))[
            "NotificationAttributes"
        ]
    return Wiring(topics, subscriptions, found)
