"""Reading one region's wiring for ``bouncer aws doctor``: identities and their
notification topics, configuration sets and their SNS event destinations, the topics
they publish to (and those SNS_TOPIC_ARNS names) with their subscriptions, and the SES
account. Only reads: Describe, Get and List calls.

Identities and configuration sets are read through SES v1, whose API holds identity
notifications and shows every configuration set's event destinations; the account
through SES v2 GetAccount.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from app import arns
from app.aws_wiring.doctor_clients import DoctorClients, Reads
from app.aws_wiring.doctor_wiring import (
    PENDING_ARN,
    Account,
    Feedback,
    Publisher,
    Topic,
    TopicSubscription,
    Wiring,
)

# GetIdentityNotificationAttributes takes at most 100 identities a call.
_BATCH = 100
# SES v1 writes event types in lower case ("bounce"), v2 in upper case ("BOUNCE").
_EVENT_TYPE = {kind: kind.lower() for kind in Feedback}
_GONE: dict[str, str] = {}  # a topic SNS says does not exist


def read_wiring(clients: DoctorClients, reads: Reads, *, trusted: Iterable[str]) -> Wiring:
    """The region's wiring; ``trusted`` (SNS_TOPIC_ARNS) adds its exact ARNs in the
    region to the topics read, so a trusted topic nothing publishes to is checked too."""
    identities, unverified = _identities(clients, reads)
    names = _configuration_set_names(clients, reads)
    sets = _configuration_sets(clients, reads, names or ())
    published = {
        topic
        for publisher in (*(identities or ()), *sets)
        for topics in publisher.topics.values()
        for topic in topics
    }
    in_region = {arn for arn in trusted if _region_of(arn) == clients.region}
    return Wiring(
        region=clients.region,
        identities=identities,
        unverified=unverified,
        configuration_set_names=None if names is None else frozenset(names),
        configuration_sets=sets,
        topics={arn: _topic(clients, reads, arn) for arn in sorted(published | in_region)},
        account=_account(clients, reads),
    )


def _region_of(arn: str) -> str | None:
    match = arns.TOPIC_ARN.fullmatch(arn)
    return match["region"] if match else None


def _identities(
    clients: DoctorClients, reads: Reads
) -> tuple[tuple[Publisher, ...] | None, dict[str, str]]:
    """The verified identities as publishers, and the others' verification status."""
    ses = clients.ses

    def names() -> list[str]:
        pages = ses.get_paginator("list_identities").paginate()
        return [str(name) for page in pages for name in page["Identities"]]

    listed = reads.call(ses, "ListIdentities", "identities", names)
    if listed is None:
        return None, {}
    unverified = _unverified(clients, reads, listed)
    listed = [name for name in listed if name not in unverified]
    return _notifications(clients, reads, listed), unverified


def _unverified(clients: DoctorClients, reads: Reads, listed: list[str]) -> dict[str, str]:
    """Identities not verified, by status. ListIdentities lists them all, whatever their
    status; one not verified sends nothing and SES refuses its notification topics. When
    the status cannot be read, every identity is judged (the read's finding says why)."""
    ses = clients.ses
    statuses = _per_identity(
        reads,
        ses,
        "GetIdentityVerificationAttributes",
        ses.get_identity_verification_attributes,
        "VerificationAttributes",
        listed,
    )
    if statuses is None:
        return {}
    found = {
        name: str(statuses.get(name, {}).get("VerificationStatus", "NotStarted")) for name in listed
    }
    return {name: status for name, status in found.items() if status != "Success"}


def _notifications(
    clients: DoctorClients, reads: Reads, listed: list[str]
) -> tuple[Publisher, ...] | None:
    ses = clients.ses
    attributes = _per_identity(
        reads,
        ses,
        "GetIdentityNotificationAttributes",
        ses.get_identity_notification_attributes,
        "NotificationAttributes",
        listed,
    )
    if attributes is None:
        return None
    return tuple(_identity(name, attributes.get(name, {})) for name in listed)


def _per_identity(
    reads: Reads,
    ses: Any,
    operation: str,
    method: Callable[..., Any],
    field: str,
    listed: list[str],
) -> dict[str, Any] | None:
    """``field`` of an SES v1 identity read, for every identity in ``listed``: the read
    takes at most _BATCH identities a call. None when a call was refused (its finding is
    recorded by ``reads``)."""
    merged: dict[str, Any] = {}
    for start in range(0, len(listed), _BATCH):
        batch = listed[start : start + _BATCH]
        answer = reads.call(
            ses, operation, "identities", functools.partial(method, Identities=batch)
        )
        if answer is None:
            return None
        merged.update(answer[field])
    return merged


def _identity(name: str, attributes: dict[str, Any]) -> Publisher:
    topics = {
        kind: frozenset({attributes[f"{kind}Topic"]})
        for kind in Feedback
        if attributes.get(f"{kind}Topic")
    }
    # SES forwards feedback by email unless told not to (ForwardingEnabled defaults true).
    return Publisher(name, True, topics, forwarding=bool(attributes.get("ForwardingEnabled", True)))


def _configuration_set_names(clients: DoctorClients, reads: Reads) -> list[str] | None:
    ses = clients.ses

    def names() -> list[str]:
        pages = ses.get_paginator("list_configuration_sets").paginate()
        return [str(one["Name"]) for page in pages for one in page["ConfigurationSets"]]

    return reads.call(ses, "ListConfigurationSets", "configuration sets", names)


def _configuration_sets(
    clients: DoctorClients, reads: Reads, names: Sequence[str]
) -> tuple[Publisher, ...]:
    ses = clients.ses
    found: list[Publisher] = []
    for name in names:
        answer = reads.call(
            ses,
            "DescribeConfigurationSet",
            name,
            functools.partial(
                ses.describe_configuration_set,
                ConfigurationSetName=name,
                ConfigurationSetAttributeNames=["eventDestinations"],
            ),
        )
        if answer is not None:
            found.append(_configuration_set(name, answer.get("EventDestinations", [])))
    return tuple(found)


def _configuration_set(name: str, destinations: list[dict[str, Any]]) -> Publisher:
    to_sns = [d for d in destinations if d.get("Enabled") and d.get("SNSDestination")]
    topics = {
        kind: frozenset(
            d["SNSDestination"]["TopicARN"]
            for d in to_sns
            if _EVENT_TYPE[kind] in d.get("MatchingEventTypes", [])
        )
        for kind in Feedback
    }
    return Publisher(name, False, {kind: arns for kind, arns in topics.items() if arns})


def _topic(clients: DoctorClients, reads: Reads, arn: str) -> Topic:
    sns = clients.sns
    attributes = reads.call(
        sns,
        "GetTopicAttributes",
        arn,
        lambda: dict(sns.get_topic_attributes(TopicArn=arn)["Attributes"]),
        absent=_GONE,
    )
    if attributes is _GONE:
        return Topic(arn, exists=False)
    signature = None if attributes is None else attributes.get("SignatureVersion", "1")
    return Topic(arn, True, signature, _subscriptions(clients, reads, arn))


def _subscriptions(
    clients: DoctorClients, reads: Reads, arn: str
) -> tuple[TopicSubscription, ...] | None:
    sns = clients.sns

    def listed() -> list[dict[str, Any]]:
        pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
        return [dict(one) for page in pages for one in page["Subscriptions"]]

    found = reads.call(sns, "ListSubscriptionsByTopic", arn, listed)
    if found is None:
        return None
    return tuple(_subscription(clients, reads, one) for one in found)


def _subscription(
    clients: DoctorClients, reads: Reads, listed: dict[str, Any]
) -> TopicSubscription:
    arn = str(listed.get("SubscriptionArn", ""))
    protocol = str(listed.get("Protocol", ""))
    endpoint = str(listed.get("Endpoint", ""))
    if arn == PENDING_ARN or not protocol.startswith("http"):
        return TopicSubscription(arn, protocol, endpoint, arn == PENDING_ARN, None)
    sns = clients.sns
    attributes = reads.call(
        sns,
        "GetSubscriptionAttributes",
        arn,
        lambda: dict(sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]),
    )
    if attributes is None:
        return TopicSubscription(arn, protocol, endpoint, False, None)
    return TopicSubscription(
        arn,
        protocol,
        endpoint,
        attributes.get("PendingConfirmation") == "true",
        attributes.get("RawMessageDelivery") == "true",
    )


def _account(clients: DoctorClients, reads: Reads) -> Account | None:
    sesv2 = clients.sesv2
    answer = reads.call(sesv2, "GetAccount", "account", sesv2.get_account)
    if answer is None:
        return None
    return Account(
        sending_enabled=answer.get("SendingEnabled", True),
        enforcement_status=answer.get("EnforcementStatus", "HEALTHY"),
        production_access=answer.get("ProductionAccessEnabled", False),
        suppressed_reasons=frozenset(
            answer.get("SuppressionAttributes", {}).get("SuppressedReasons", [])
        ),
    )
