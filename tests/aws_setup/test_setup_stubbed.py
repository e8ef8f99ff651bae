"""``bouncer aws setup`` where moto cannot answer, through botocore's Stubber (it checks each
call and scripted answer against the real service model): SES v2 configuration-set event
destinations (moto has none), AccessDenied on one step, and what real SNS lists for a
subscription awaiting confirmation or one with a password (moto confirms at once and
lists endpoints unmasked). The rest of the account is moto_server's, as in the other tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

from app.aws_wiring import names
from app.aws_wiring.setup import AwsClients
from tests.aws_setup.conftest import (
    ACCOUNT,
    ARNS,
    ENDPOINT,
    SNS_TOPIC_ARNS,
    client,
    read_back,
    setup_cli,
    step_lines,
)
from tests.ses.conftest import REGION

CALLER = f"arn:aws:sts::{ACCOUNT}:user/moto"
SET = "marketing"


class Calls:
    """Every operation the clients were asked for, in order."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def watch(self, aws: Any) -> Any:
        aws.meta.events.register("before-parameter-build", self._record)
        return aws

    def _record(self, model: Any, **_: Any) -> None:
        self.made.append(model.name)


def _clients(moto: str, calls: Calls, **stubbed: Any) -> AwsClients:
    real = {name: client(moto, name) for name in ("sts", "sns", "ses", "sesv2")}
    chosen = real | stubbed
    return AwsClients(**{name: calls.watch(aws) for name, aws in chosen.items()})


@contextmanager
def _stubbed(service: str) -> Iterator[tuple[Any, Stubber]]:
    aws = boto3.session.Session(region_name=REGION).client(service)  # type: ignore[call-overload]
    with Stubber(aws) as stubber:
        yield aws, stubber


def _destination(name: str, types: list[str], arn: str, *, enabled: bool = True) -> dict[str, Any]:
    return {
        "Name": name,
        "Enabled": enabled,
        "MatchingEventTypes": types,
        "SnsDestination": {"TopicArn": arn},
    }


def _create(
    stubber: Stubber, name: str, types: list[str], kind: str, *, op: str = "create"
) -> None:
    definition = _destination(name, types, ARNS[kind])
    definition.pop("Name")
    stubber.add_response(
        f"{op}_configuration_set_event_destination",
        {},
        {"ConfigurationSetName": SET, "EventDestinationName": name, "EventDestination": definition},
    )


def _read(stubber: Stubber, destinations: list[dict[str, Any]]) -> None:
    stubber.add_response(
        "get_configuration_set_event_destinations",
        {"EventDestinations": destinations},
        {"ConfigurationSetName": SET},
    )


WIRED = [
    _destination("ses-bounces", ["BOUNCE"], ARNS["bounces"]),
    _destination("ses-complaints", ["COMPLAINT", "SUBSCRIPTION"], ARNS["complaints"]),
    _destination("ses-deliveries", ["DELIVERY"], ARNS["deliveries"]),
]


def test_a_configuration_set_gets_a_destination_per_topic_then_keeps_them(
    moto: str, tmp_path: Path
) -> None:
    calls = Calls()
    with _stubbed("sesv2") as (sesv2, stubber):
        _read(stubber, [])
        _create(stubber, "ses-bounces", ["BOUNCE"], "bounces")
        _create(stubber, "ses-complaints", ["COMPLAINT", "SUBSCRIPTION"], "complaints")
        _create(stubber, "ses-deliveries", ["DELIVERY"], "deliveries")
        _read(stubber, WIRED)  # the second run reads what the first made, and nothing else
        clients = _clients(moto, calls, sesv2=sesv2)
        args = ("--endpoint", ENDPOINT, "--configuration-set", SET)
        first = setup_cli(tmp_path, *args, clients=clients)
        assert first.exit_code == 0, first.output
        second = setup_cli(tmp_path, *args, clients=clients)
        assert second.exit_code == 0, second.output
        stubber.assert_no_pending_responses()
    assert step_lines(first)[6:] == [
        f"configuration set {SET} event destination ses-bounces (BOUNCE to ses-bounces): created",
        f"configuration set {SET} event destination ses-complaints (COMPLAINT, SUBSCRIPTION to "
        "ses-complaints): created",
        f"configuration set {SET} event destination ses-deliveries (DELIVERY to ses-deliveries): "
        "created",
    ]
    assert all(line.endswith(": exists") for line in step_lines(second))
    # SES is pointed at topics that exist by then: every topic and subscription first.
    first_run = calls.made[: calls.made.index("GetCallerIdentity", 1)]
    last_sns = max(i for i, op in enumerate(first_run) if op == "Subscribe")
    assert first_run.index("CreateConfigurationSetEventDestination") > last_sns


def test_a_drifted_destination_is_put_back_and_others_are_left_alone(
    moto: str, tmp_path: Path
) -> None:
    calls = Calls()
    elsewhere = f"arn:aws:sns:{REGION}:{ACCOUNT}:old-topic"
    with _stubbed("sesv2") as (sesv2, stubber):
        _read(
            stubber,
            [
                _destination("ses-bounces", ["BOUNCE", "DELIVERY"], elsewhere, enabled=False),
                WIRED[1],
                _destination("opens", ["OPEN"], elsewhere),
            ],
        )
        _create(stubber, "ses-bounces", ["BOUNCE"], "bounces", op="update")
        _create(stubber, "ses-deliveries", ["DELIVERY"], "deliveries")
        run = setup_cli(
            tmp_path, "--endpoint", ENDPOINT, "--configuration-set", SET,
            clients=_clients(moto, calls, sesv2=sesv2),
        )  # fmt: skip
        stubber.assert_no_pending_responses()
    assert run.exit_code == 0, run.output
    assert step_lines(run)[6:] == [
        f"configuration set {SET} event destination ses-bounces (BOUNCE to ses-bounces): updated "
        f"(was disabled; events BOUNCE, DELIVERY; topic {elsewhere})",
        f"configuration set {SET} event destination ses-complaints (COMPLAINT, SUBSCRIPTION to "
        "ses-complaints): exists",
        f"configuration set {SET} event destination ses-deliveries (DELIVERY to ses-deliveries): "
        "created",
    ]


def test_without_deliveries_and_unsubscribes(moto: str, tmp_path: Path) -> None:
    client(moto, "ses").verify_domain_identity(Domain="example.com")
    with _stubbed("sesv2") as (sesv2, stubber):
        _read(stubber, [])
        _create(stubber, "ses-bounces", ["BOUNCE"], "bounces")
        _create(stubber, "ses-complaints", ["COMPLAINT"], "complaints")
        run = setup_cli(
            tmp_path, "--endpoint", ENDPOINT, "--configuration-set", SET,
            "--identity", "example.com", "--no-delivery", "--no-subscription",
            clients=_clients(moto, Calls(), sesv2=sesv2),
        )  # fmt: skip
        stubber.assert_no_pending_responses()
    assert run.exit_code == 0, run.output
    assert not any("Delivery" in line or "DELIVERY" in line for line in step_lines(run))
    identity = read_back(moto, ("example.com",)).identities["example.com"]
    assert identity["BounceTopic"] == ARNS["bounces"]
    assert "DeliveryTopic" not in identity
    assert run.stdout.splitlines()[-1] == SNS_TOPIC_ARNS  # all three topics all the same


def test_access_denied_on_one_step_stops_there(moto: str, tmp_path: Path) -> None:
    calls = Calls()
    with _stubbed("sesv2") as (sesv2, stubber):
        _read(stubber, [])
        _create(stubber, "ses-bounces", ["BOUNCE"], "bounces")
        stubber.add_client_error(
            "create_configuration_set_event_destination",
            service_error_code="AccessDeniedException",
            service_message=f"User: {CALLER} is not authorized to perform: "
            "ses:CreateConfigurationSetEventDestination",
            http_status_code=403,
        )
        run = setup_cli(
            tmp_path, "--endpoint", ENDPOINT, "--configuration-set", SET,
            clients=_clients(moto, calls, sesv2=sesv2),
        )  # fmt: skip
        stubber.assert_no_pending_responses()
    assert run.exit_code == 1
    assert "Traceback" not in run.output
    [line] = run.stderr.splitlines()
    assert line.startswith(
        f"error: configuration set {SET} event destination ses-complaints (COMPLAINT, "
        f"SUBSCRIPTION to ses-complaints): AWS denied ses:CreateConfigurationSetEventDestination "
        f"to {CALLER} (AccessDeniedException): allow ses:CreateConfigurationSetEventDestination"
    )
    assert "(7 of 9 steps done before it, nothing after it attempted" in line
    assert run.stdout.splitlines()[-1].endswith("ses-bounces (BOUNCE to ses-bounces): created")
    assert "SNS_TOPIC_ARNS" not in run.stdout
    assert calls.made[-1] == "CreateConfigurationSetEventDestination"
    assert calls.made.count("CreateConfigurationSetEventDestination") == 2


def test_a_refused_read_changes_nothing(moto: str, tmp_path: Path) -> None:
    calls = Calls()
    with _stubbed("sns") as (sns, stubber):
        stubber.add_client_error(
            "get_topic_attributes",
            service_error_code="AuthorizationError",
            service_message="not authorized",
            http_status_code=403,
            expected_params={"TopicArn": ARNS["bounces"]},
        )
        run = setup_cli(tmp_path, "--endpoint", ENDPOINT, clients=_clients(moto, calls, sns=sns))
        stubber.assert_no_pending_responses()
    assert run.exit_code == 1
    [line] = run.stderr.splitlines()
    assert line.startswith(
        f"error: reading topic ses-bounces: AWS denied sns:GetTopicAttributes to {CALLER} "
        "(AuthorizationError)"
    )
    assert calls.made == ["GetCallerIdentity", "GetTopicAttributes"]


def test_real_sns_listings_pending_and_masked(moto: str, tmp_path: Path) -> None:
    """SNS lists a subscription awaiting confirmation as "PendingConfirmation" (no ARN to
    read) and a basic-auth password as ****: both are the endpoint's subscription."""
    endpoint = "https://sns:long-random-secret@bouncer.example.com/sns"
    listed = "https://sns:****@bouncer.example.com/sns"
    policy = json.dumps(names.DELIVERY_POLICY | {"sicklyRetryPolicy": None, "guaranteed": False})
    with _stubbed("sns") as (sns, stubber):
        for kind, arn in ARNS.items():
            topic_policy = names.topic_policy(arn, partition="aws", account=ACCOUNT)
            attributes = {"SignatureVersion": "2", "Policy": json.dumps(topic_policy)}
            stubber.add_response(
                "get_topic_attributes", {"Attributes": attributes}, {"TopicArn": arn}
            )
            mine = {"Protocol": "https", "Endpoint": listed, "TopicArn": arn, "Owner": ACCOUNT}
            if kind == "bounces":
                subscribed = f"{arn}:0b4c4ee0-4a47-4a3b-8c1e-3c1f5b6a7d8e"
                answer = {"Subscriptions": [mine | {"SubscriptionArn": subscribed}]}
                stubber.add_response("list_subscriptions_by_topic", answer, {"TopicArn": arn})
                stubber.add_response(
                    "get_subscription_attributes",
                    {"Attributes": {"RawMessageDelivery": "false", "DeliveryPolicy": policy}},
                    {"SubscriptionArn": subscribed},
                )
            elif kind == "complaints":
                answer = {"Subscriptions": [mine | {"SubscriptionArn": "PendingConfirmation"}]}
                stubber.add_response("list_subscriptions_by_topic", answer, {"TopicArn": arn})
            else:
                other = mine | {"Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:1:q",
                                "SubscriptionArn": f"{arn}:1"}  # fmt: skip
                stubber.add_response(
                    "list_subscriptions_by_topic",
                    {"Subscriptions": [other], "NextToken": "page-2"},
                    {"TopicArn": arn},
                )
                stubber.add_response(
                    "list_subscriptions_by_topic",
                    {"Subscriptions": []},
                    {"TopicArn": arn, "NextToken": "page-2"},
                )
        stubber.add_response(  # the pending one: its confirmation asked for again
            "subscribe",
            {"SubscriptionArn": "pending confirmation"},
            {
                "TopicArn": ARNS["complaints"],
                "Protocol": "https",
                "Endpoint": endpoint,
                "ReturnSubscriptionArn": True,
            },
        )
        stubber.add_response(
            "subscribe",
            {"SubscriptionArn": f"{ARNS['deliveries']}:2"},
            {
                "TopicArn": ARNS["deliveries"],
                "Protocol": "https",
                "Endpoint": endpoint,
                "Attributes": {
                    "RawMessageDelivery": "false",
                    "DeliveryPolicy": json.dumps(names.DELIVERY_POLICY),
                },
                "ReturnSubscriptionArn": True,
            },
        )
        run = setup_cli(tmp_path, "--endpoint", endpoint, clients=_clients(moto, Calls(), sns=sns))
        stubber.assert_no_pending_responses()
    assert run.exit_code == 0, run.output
    assert step_lines(run) == [
        "topic ses-bounces: exists",
        "topic ses-complaints: exists",
        "topic ses-deliveries: exists",
        f"subscription of ses-bounces to {listed}: exists",
        f"subscription of ses-complaints to {listed}: pending confirmation: asked SNS to send "
        "the confirmation again",
        f"subscription of ses-deliveries to {listed}: created",
    ]
    assert "long-random-secret" not in run.output


def _pending_everywhere(stubber: Stubber) -> None:
    """Topics as setup leaves them, each subscription still awaiting confirmation (as
    when bouncer answered SNS's SubscriptionConfirmation 403 before SNS_TOPIC_ARNS named
    the topic: SNS takes a 403 as delivered and never sends it again by itself)."""
    for arn in ARNS.values():
        topic_policy = names.topic_policy(arn, partition="aws", account=ACCOUNT)
        attributes = {"SignatureVersion": "2", "Policy": json.dumps(topic_policy)}
        stubber.add_response("get_topic_attributes", {"Attributes": attributes}, {"TopicArn": arn})
        pending = {
            "SubscriptionArn": "PendingConfirmation",
            "Protocol": "https",
            "Endpoint": ENDPOINT,
            "TopicArn": arn,
            "Owner": ACCOUNT,
        }
        stubber.add_response(
            "list_subscriptions_by_topic", {"Subscriptions": [pending]}, {"TopicArn": arn}
        )


def test_a_pending_subscription_gets_its_confirmation_sent_again(moto: str, tmp_path: Path) -> None:
    """Subscribe on a subscription awaiting confirmation makes SNS send the confirmation
    again (the console's "Request confirmation"): the only way on to a confirmed one."""
    with _stubbed("sns") as (sns, stubber):
        _pending_everywhere(stubber)
        for arn in ARNS.values():
            # No attributes: those it was made with stay, and a pending subscription's
            # cannot be compared (SNS shows them once it is confirmed).
            stubber.add_response(
                "subscribe",
                {"SubscriptionArn": "pending confirmation"},
                {
                    "TopicArn": arn,
                    "Protocol": "https",
                    "Endpoint": ENDPOINT,
                    "ReturnSubscriptionArn": True,
                },
            )
        run = setup_cli(tmp_path, "--endpoint", ENDPOINT, clients=_clients(moto, Calls(), sns=sns))
        stubber.assert_no_pending_responses()
    assert run.exit_code == 0, run.output
    assert step_lines(run)[3:] == [
        f"subscription of ses-{kind} to {ENDPOINT}: pending confirmation: asked SNS to send "
        "the confirmation again"
        for kind in ("bounces", "complaints", "deliveries")
    ]
    # bouncer confirms only topics SNS_TOPIC_ARNS names: the order to do it in.
    assert "SNS_TOPIC_ARNS" in run.stderr
    assert "run setup again" in run.stderr


def test_a_dry_run_does_not_ask_for_the_confirmation(moto: str, tmp_path: Path) -> None:
    with _stubbed("sns") as (sns, stubber):
        _pending_everywhere(stubber)
        calls = Calls()
        run = setup_cli(
            tmp_path, "--endpoint", ENDPOINT, "--dry-run", clients=_clients(moto, calls, sns=sns)
        )
        stubber.assert_no_pending_responses()
    assert run.exit_code == 0, run.output
    assert "Subscribe" not in calls.made
    assert step_lines(run)[3] == (
        f"subscription of ses-bounces to {ENDPOINT}: pending confirmation: would ask SNS to "
        "send the confirmation again"
    )
