"""What an account has of bouncer's wiring, read before anything is changed.

Every read happens before the first change, so a refused or failed read changes nothing.
A topic that does not exist yet has no subscriptions to read: its subscription is planned
as new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.aws_wiring.setup_calls import Client, SetupFailed, call
from app.aws_wiring.setup_request import SetupRequest, same_endpoint

# GetIdentityNotificationAttributes takes at most 100 identities a call.
_IDENTITIES_PER_CALL = 100


@dataclass(frozen=True)
class Caller:
    """Whose credentials these are (sts:GetCallerIdentity), which names the topics' ARNs."""

    account: str
    partition: str
    arn: str


@dataclass(frozen=True)
class TopicState:
    signature_version: str
    policy: str | None


@dataclass(frozen=True)
class SubscriptionState:
    # None while the subscription waits for confirmation: SNS lists it without an ARN,
    # and its attributes cannot be read until then.
    arn: str | None
    raw_message_delivery: bool = False
    delivery_policy: str | None = None


@dataclass(frozen=True)
class IdentityState:
    topics: dict[str, str | None]  # notification type (Bounce, …) → topic ARN
    forwarding: bool


@dataclass(frozen=True)
class DestinationState:
    enabled: bool
    event_types: frozenset[str]
    topic_arn: str | None
    others: tuple[str, ...]  # destination kinds besides SNS (CloudWatchDestination, …)


@dataclass
class Observed:
    topics: dict[str, TopicState | None] = field(default_factory=dict)  # by topic ARN
    subscriptions: dict[str, SubscriptionState | None] = field(default_factory=dict)
    identities: dict[str, IdentityState] = field(default_factory=dict)
    destinations: dict[str, dict[str, DestinationState]] = field(default_factory=dict)


def read_caller(sts: Client) -> Caller:
    found = call(sts, "reading the account", "GetCallerIdentity")
    arn = str(found["Arn"])
    return Caller(account=str(found["Account"]), partition=arn.split(":")[1], arn=arn)


def read_topic(sns: Client, name: str, arn: str, caller: Caller) -> TopicState | None:
    found = call(
        sns, f"reading topic {name}", "GetTopicAttributes",
        caller=caller.arn, absent="NotFound", TopicArn=arn,
    )  # fmt: skip
    if found is None:
        return None
    attributes = found.get("Attributes", {})
    # A topic that never set it signs with version 1, SNS's default.
    return TopicState(
        signature_version=str(attributes.get("SignatureVersion") or "1"),
        policy=attributes.get("Policy"),
    )


def read_subscription(
    sns: Client, name: str, topic_arn: str, request: SetupRequest, caller: Caller
) -> SubscriptionState | None:
    step = f"reading the subscriptions of topic {name}"
    token: dict[str, str] = {}
    while True:
        page = call(
            sns, step, "ListSubscriptionsByTopic", caller=caller.arn, TopicArn=topic_arn, **token
        )
        for listed in page.get("Subscriptions", []):
            if listed.get("Protocol") == request.endpoint.protocol and same_endpoint(
                str(listed.get("Endpoint", "")), request.endpoint.url
            ):
                return _subscription(sns, step, str(listed["SubscriptionArn"]), caller)
        if not page.get("NextToken"):
            return None
        token = {"NextToken": page["NextToken"]}


def _subscription(sns: Client, step: str, arn: str, caller: Caller) -> SubscriptionState:
    if not arn.startswith("arn:"):  # "PendingConfirmation"
        return SubscriptionState(arn=None)
    found = call(sns, step, "GetSubscriptionAttributes", caller=caller.arn, SubscriptionArn=arn)
    attributes = found.get("Attributes", {})
    return SubscriptionState(
        arn=arn,
        raw_message_delivery=str(attributes.get("RawMessageDelivery", "false")).lower() == "true",
        delivery_policy=attributes.get("DeliveryPolicy") or None,
    )


def read_identities(
    ses: Client, identities: Iterable[str], request: SetupRequest, caller: Caller
) -> dict[str, IdentityState]:
    wanted = list(identities)
    states: dict[str, IdentityState] = {}
    for start in range(0, len(wanted), _IDENTITIES_PER_CALL):
        batch = wanted[start : start + _IDENTITIES_PER_CALL]
        found = call(
            ses,
            "reading the identities' notification topics",
            "GetIdentityNotificationAttributes",
            caller=caller.arn,
            Identities=batch,
        ).get("NotificationAttributes", {})
        for identity in batch:
            # SES answers only for its identities: an unknown one is left out.
            if identity not in found:
                raise SetupFailed(
                    f"identity {identity}: not an SES identity in {request.region}: verify it "
                    f"first (aws sesv2 create-email-identity --email-identity {identity}) "
                    "or give the --region it is in"
                )
            attributes = found[identity]
            states[identity] = IdentityState(
                topics={
                    kind: attributes.get(f"{kind}Topic") or None
                    for kind in ("Bounce", "Complaint", "Delivery")
                },
                forwarding=bool(attributes.get("ForwardingEnabled", True)),
            )
    return states


def read_destinations(
    sesv2: Client, configuration_set: str, request: SetupRequest, caller: Caller
) -> dict[str, DestinationState]:
    found = call(
        sesv2, f"reading configuration set {configuration_set}",
        "GetConfigurationSetEventDestinations",
        caller=caller.arn, absent="NotFoundException", ConfigurationSetName=configuration_set,
    )  # fmt: skip
    if found is None:
        raise SetupFailed(
            f"configuration set {configuration_set}: not found in {request.region}: create "
            f"it first (aws sesv2 create-configuration-set --configuration-set-name "
            f"{configuration_set}) or give the --region it is in"
        )
    states: dict[str, DestinationState] = {}
    for destination in found.get("EventDestinations", []):
        sns = destination.get("SnsDestination") or {}
        states[str(destination["Name"])] = DestinationState(
            enabled=bool(destination.get("Enabled", False)),
            event_types=frozenset(destination.get("MatchingEventTypes", [])),
            topic_arn=sns.get("TopicArn"),
            others=tuple(
                sorted(
                    k
                    for k, v in destination.items()
                    if k.endswith("Destination") and k != "SnsDestination" and v
                )
            ),
        )
    return states
