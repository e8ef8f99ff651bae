"""An AWS account for `bouncer aws doctor` to read: moto_server on loopback for what moto
implements, botocore's Stubber for the few answers it lacks or leaves empty.

moto_server (reached through ``AWS_ENDPOINT_URL``, as an operator reaches an emulator)
holds the topics, their subscriptions (and RawMessageDelivery), the SES v1 identities,
the configuration sets and their SNS event destinations, and takes sends.

Scripted through ``PartialStubber`` (validated against the real service models):
- SNS ``GetTopicAttributes``: moto never returns ``SignatureVersion``;
- SNS ``ListSubscriptionsByTopic`` when a subscription is pending: moto confirms every
  subscription at once and never lists one as ``PendingConfirmation``;
- SES ``GetIdentityNotificationAttributes``: moto leaves out the Bounce/Complaint/
  DeliveryTopic it was given;
- SES v2 ``GetAccount``: moto does not implement it (nor v1 GetAccountSendingEnabled,
  which the doctor does not need: GetAccount carries SendingEnabled);
- AccessDenied answers, which moto never gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from app.aws_wiring import doctor_clients
from app.aws_wiring.doctor_clients import DoctorClients
from tests.aws_doctor.partial_stub import PartialStubber
from tests.cli_runs import invoke
from tests.moto_server import running_moto_server
from tests.ses.conftest import REGION, use_fake_aws_credentials

ACCOUNT = "123456789012"  # moto's
ENDPOINT = "https://bouncer.example.com/sns"
HEALTHY = {
    "SendingEnabled": True,
    "EnforcementStatus": "HEALTHY",
    "ProductionAccessEnabled": True,
    "DedicatedIpAutoWarmupEnabled": False,
    "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto_server on a free loopback port, one per test process (reset for each test)."""
    with running_moto_server() as url:
        yield url


@dataclass
class Aws:
    """The account the test builds: moto's state, and the answers moto cannot give."""

    endpoint: str
    sns: Any = None
    ses: Any = None
    notifications: dict[str, dict[str, Any]] = field(default_factory=dict)
    verification: dict[str, str] = field(default_factory=dict)  # identity -> status
    signatures: dict[str, str | None] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    account: dict[str, Any] = field(default_factory=lambda: dict(HEALTHY))
    refusals: list[tuple[str, str, str, str]] = field(default_factory=list)
    stubbers: list[PartialStubber] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sns = boto3.client("sns", region_name=REGION, endpoint_url=self.endpoint)
        self.ses = boto3.client("ses", region_name=REGION, endpoint_url=self.endpoint)

    def topic(self, name: str, *, signature: str | None = "2") -> str:
        """A topic in moto; ``signature`` its SignatureVersion (None: never set)."""
        arn: str = self.sns.create_topic(Name=name)["TopicArn"]
        self.signatures[arn] = signature
        return arn

    def subscribe(
        self, topic: str, endpoint: str = ENDPOINT, *, raw: bool = False, pending: bool = False
    ) -> str:
        arn: str = self.sns.subscribe(
            TopicArn=topic, Protocol="https", Endpoint=endpoint, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
        if raw:
            self.sns.set_subscription_attributes(
                SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true"
            )
        if pending:
            self.pending.add(topic)
        return arn

    def identity(
        self,
        name: str,
        *,
        bounce: str | None = None,
        complaint: str | None = None,
        delivery: str | None = None,
        forwarding: bool = False,
        status: str = "Success",
    ) -> None:
        """An identity in moto, its verification ``status`` and notification topics as
        SES would report them (moto says Success for all)."""
        if "@" in name:
            self.ses.verify_email_identity(EmailAddress=name)
        else:
            self.ses.verify_domain_identity(Domain=name)
        # SES's model makes the three topics required: one not set is written empty here
        # (moto leaves it out; the doctor reads both as "none").
        topics = {"BounceTopic": bounce, "ComplaintTopic": complaint, "DeliveryTopic": delivery}
        self.verification[name] = status
        self.notifications[name] = {k: v or "" for k, v in topics.items()} | {
            "ForwardingEnabled": forwarding,
            "HeadersInBounceNotificationsEnabled": False,
            "HeadersInComplaintNotificationsEnabled": False,
            "HeadersInDeliveryNotificationsEnabled": False,
        }

    def configuration_set(self, name: str, **destinations: list[str]) -> None:
        """A configuration set in moto; ``destinations``: topic ARN by destination name ->
        the v1 event types it publishes (``["bounce", "complaint"]``)."""
        self.ses.create_configuration_set(ConfigurationSet={"Name": name})
        for destination, spec in destinations.items():
            topic, *types = spec
            self.ses.create_configuration_set_event_destination(
                ConfigurationSetName=name,
                EventDestination={
                    "Name": destination,
                    "Enabled": True,
                    "MatchingEventTypes": types,
                    "SNSDestination": {"TopicARN": topic},
                },
            )

    def refuse(self, service: str, method: str, code: str, message: str = "denied") -> None:
        self.refusals.append((service, method, code, message))

    def attach(self, clients: DoctorClients) -> None:
        """Script the doctor's clients with what moto cannot answer."""
        sns, ses, sesv2 = (PartialStubber(c) for c in (clients.sns, clients.ses, clients.sesv2))
        for arn, version in self.signatures.items():
            attributes = {"TopicArn": arn, "Owner": ACCOUNT}
            if version is not None:
                attributes["SignatureVersion"] = version
            sns.answer("get_topic_attributes", {"Attributes": attributes}, TopicArn=arn)
        if self.pending:  # then every topic's list is scripted: moto's, pending marked
            for topic in self.signatures:
                listed = self.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
                for one in listed if topic in self.pending else ():
                    one["SubscriptionArn"] = "PendingConfirmation"
                sns.answer("list_subscriptions_by_topic", {"Subscriptions": listed}, TopicArn=topic)
        ses.answer(
            "get_identity_notification_attributes", {"NotificationAttributes": self.notifications}
        )
        ses.answer(
            "get_identity_verification_attributes",
            {
                "VerificationAttributes": {
                    name: {"VerificationStatus": status}
                    for name, status in self.verification.items()
                }
            },
        )
        sesv2.answer("get_account", self.account)
        stubbers = {"sns": sns, "ses": ses, "sesv2": sesv2}
        for service, method, code, message in self.refusals:
            stubbers[service].replace(method)
            stubbers[service].refuse(method, code, message)
        for stubber in stubbers.values():
            stubber.activate()
        self.stubbers += stubbers.values()

    def unused(self) -> list[str]:
        return [name for stubber in self.stubbers for name in stubber.unused()]


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Aws]:
    """The account, reached through AWS_ENDPOINT_URL; each client the doctor connects
    gets the scripted answers."""
    use_fake_aws_credentials(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    made = Aws(moto_endpoint)
    connect = doctor_clients.connect

    def scripted(region: str) -> DoctorClients:
        clients = connect(region)
        made.attach(clients)
        return clients

    monkeypatch.setattr(doctor_clients, "connect", scripted)
    yield made
    httpx.post(f"{moto_endpoint}/moto-api/reset")


def good_account(aws: Aws) -> dict[str, str]:
    """example.com publishing bounces, complaints and deliveries to three trusted topics,
    each subscribed to bouncer, confirmed, not raw, signing with version 2; the account
    healthy. Returns the settings bouncer runs with."""
    topics = [aws.topic(f"ses-{kind}") for kind in ("bounces", "complaints", "deliveries")]
    for topic in topics:
        aws.subscribe(topic)
    aws.identity("example.com", bounce=topics[0], complaint=topics[1], delivery=topics[2])
    return {"SNS_TOPIC_ARNS": ",".join(topics)}


def doctor(
    settings: Mapping[str, str | None], tmp_path: Path, *args: str
) -> tuple[int, list[dict[str, Any]]]:
    """`bouncer aws doctor --format json ARGS` through the CLI's entry point, with no
    database unless ``settings`` names one: its exit code and findings."""
    env: dict[str, str | None] = {
        "AWS_REGION": REGION,
        "DATA_DIR": str(tmp_path / "no-database-here"),
        "SES_CONFIGURATION_SET": None,
        "SES_ENDPOINT_URL": None,
        "SES_SYNC": None,
        "SES_SYNC_REGIONS": None,
    }
    result = invoke({**env, **settings}, "aws", "doctor", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def named(findings: list[dict[str, Any]], check: str) -> list[dict[str, Any]]:
    return [finding for finding in findings if finding["check"] == check]


def severities(findings: list[dict[str, Any]]) -> set[str]:
    return {finding["severity"] for finding in findings}
