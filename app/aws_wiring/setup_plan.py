"""The steps of ``bouncer aws setup``: what exists is kept, what drifted is put back (pure).

Each step is one thing setup manages, with the AWS calls that make it what bouncer needs
(none when it already is). The order is AWS's: topics before anything that names them,
an identity's Bounce and Complaint topics before its feedback forwarding goes off (SES
refuses to turn it off while no topic would carry them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from app.aws_wiring import names
from app.aws_wiring.names import Destination, TopicKind
from app.aws_wiring.setup_calls import Call
from app.aws_wiring.setup_read import (
    Caller,
    DestinationState,
    IdentityState,
    Observed,
    SubscriptionState,
    TopicState,
)
from app.aws_wiring.setup_request import SetupRequest

# "requested": a subscription awaiting confirmation, whose confirmation SNS is asked to
# send again.
Status = Literal["exists", "updated", "created", "requested"]


@dataclass(frozen=True)
class Step:
    subject: str
    status: Status
    was: str | None = None
    calls: tuple[Call, ...] = ()
    note: str | None = None

    def said(self, *, dry_run: bool) -> str:
        if self.status == "exists":
            text = "exists"
        elif self.status == "requested":
            asked = "would ask" if dry_run else "asked"
            text = f"pending confirmation: {asked} SNS to send the confirmation again"
        else:
            text = f"would be {self.status}" if dry_run else self.status
            if self.was:
                text += f" (was {self.was})"
        if self.note:
            text += f" ({self.note})"
        return f"{self.subject}: {text}"


@dataclass(frozen=True)
class Topics:
    """The three topics of a prefix in this account and region."""

    names: dict[TopicKind, str]
    arns: dict[TopicKind, str]

    @classmethod
    def of(cls, request: SetupRequest, caller: Caller) -> Topics:
        topic_names = {kind: names.topic_name(request.prefix, kind) for kind in names.KINDS}
        arns = {
            kind: names.topic_arn(
                partition=caller.partition,
                region=request.region,
                account=caller.account,
                name=name,
            )
            for kind, name in topic_names.items()
        }
        return cls(topic_names, arns)


def plan(request: SetupRequest, caller: Caller, topics: Topics, observed: Observed) -> list[Step]:
    steps = [
        _topic(kind, topics, caller, observed.topics.get(topics.arns[kind])) for kind in names.KINDS
    ]
    steps += [
        _subscription(kind, topics, request, observed.subscriptions.get(topics.arns[kind]))
        for kind in names.KINDS
    ]
    for identity in request.identities:
        steps += _identity(identity, topics, request, observed.identities[identity])
    wanted = names.destinations(
        request.prefix, delivery=request.delivery, subscription=request.subscription
    )
    for configuration_set in request.configuration_sets:
        found = observed.destinations[configuration_set]
        steps += [_destination(configuration_set, d, topics, found.get(d.name)) for d in wanted]
    return steps


def _topic(kind: TopicKind, topics: Topics, caller: Caller, found: TopicState | None) -> Step:
    name, arn = topics.names[kind], topics.arns[kind]
    policy = names.topic_policy(arn, partition=caller.partition, account=caller.account)
    subject = f"topic {name}"
    if found is None:
        attributes = {"SignatureVersion": names.SIGNATURE_VERSION, "Policy": json.dumps(policy)}
        create = Call("sns", "CreateTopic", {"Name": name, "Attributes": attributes})
        return Step(subject, "created", calls=(create,))
    calls: list[Call] = []
    was: list[str] = []
    if found.signature_version != names.SIGNATURE_VERSION:
        was.append(f"SignatureVersion {found.signature_version}")
        calls.append(_set_topic(arn, "SignatureVersion", names.SIGNATURE_VERSION))
    if not names.same_policy(found.policy, policy):
        was.append(names.describe_policy(found.policy))
        calls.append(_set_topic(arn, "Policy", json.dumps(policy)))
    return _changes(subject, was, calls)


def _set_topic(arn: str, attribute: str, value: str) -> Call:
    params = {"TopicArn": arn, "AttributeName": attribute, "AttributeValue": value}
    return Call("sns", "SetTopicAttributes", params)


def _subscription(
    kind: TopicKind, topics: Topics, request: SetupRequest, found: SubscriptionState | None
) -> Step:
    subject = f"subscription of {topics.names[kind]} to {request.endpoint.shown}"
    policy = json.dumps(names.DELIVERY_POLICY)
    if found is None:
        params = {
            "TopicArn": topics.arns[kind],
            "Protocol": request.endpoint.protocol,
            "Endpoint": request.endpoint.url,
            "Attributes": {"RawMessageDelivery": "false", "DeliveryPolicy": policy},
            "ReturnSubscriptionArn": True,
        }
        return Step(subject, "created", calls=(Call("sns", "Subscribe", params),))
    if found.arn is None:
        # SNS takes any answer below 500 as delivered and never resends a confirmation by
        # itself: one bouncer refused (403, before SNS_TOPIC_ARNS named the topic) stays
        # pending until it lapses. Subscribe again makes SNS send it again. No attributes:
        # those it was made with stay (SNS shows them once it is confirmed, and the next
        # run puts back any that differ), and different ones would be refused.
        params = {
            "TopicArn": topics.arns[kind],
            "Protocol": request.endpoint.protocol,
            "Endpoint": request.endpoint.url,
            "ReturnSubscriptionArn": True,
        }
        return Step(subject, "requested", calls=(Call("sns", "Subscribe", params),))
    calls: list[Call] = []
    was: list[str] = []
    if found.raw_message_delivery:
        was.append("RawMessageDelivery true")
        calls.append(_set_subscription(found.arn, "RawMessageDelivery", "false"))
    if not names.has_delivery_policy(found.delivery_policy):
        was.append("another DeliveryPolicy" if found.delivery_policy else "no DeliveryPolicy")
        calls.append(_set_subscription(found.arn, "DeliveryPolicy", policy))
    return _changes(subject, was, calls)


def _set_subscription(arn: str, attribute: str, value: str) -> Call:
    params = {"SubscriptionArn": arn, "AttributeName": attribute, "AttributeValue": value}
    return Call("sns", "SetSubscriptionAttributes", params)


def _identity(
    identity: str, topics: Topics, request: SetupRequest, found: IdentityState
) -> list[Step]:
    steps = []
    for kind in names.notification_types(delivery=request.delivery):
        topic = names.NOTIFICATION_KINDS[kind]
        subject = f"identity {identity} {kind} notifications to {topics.names[topic]}"
        current = found.topics.get(kind)
        if current == topics.arns[topic]:
            steps.append(Step(subject, "exists"))
            continue
        params = {"Identity": identity, "NotificationType": kind, "SnsTopic": topics.arns[topic]}
        set_topic = Call("ses", "SetIdentityNotificationTopic", params)
        steps.append(Step(subject, "updated", was=current or "none", calls=(set_topic,)))
    subject = f"identity {identity} feedback forwarding off"
    if not found.forwarding:
        steps.append(Step(subject, "exists"))
    else:
        # Bounces and complaints arrive as notifications now: no email copies as well.
        params_off = {"Identity": identity, "ForwardingEnabled": False}
        off = Call("ses", "SetIdentityFeedbackForwardingEnabled", params_off)
        steps.append(Step(subject, "updated", was="on", calls=(off,)))
    return steps


def _destination(
    configuration_set: str,
    wanted: Destination,
    topics: Topics,
    found: DestinationState | None,
) -> Step:
    arn = topics.arns[wanted.kind]
    subject = (
        f"configuration set {configuration_set} event destination {wanted.name} "
        f"({', '.join(wanted.event_types)} to {topics.names[wanted.kind]})"
    )
    params = {
        "ConfigurationSetName": configuration_set,
        "EventDestinationName": wanted.name,
        "EventDestination": {
            "Enabled": True,
            "MatchingEventTypes": list(wanted.event_types),
            "SnsDestination": {"TopicArn": arn},
        },
    }
    if found is None:
        create = Call("sesv2", "CreateConfigurationSetEventDestination", params)
        return Step(subject, "created", calls=(create,))
    was: list[str] = []
    if not found.enabled:
        was.append("disabled")
    if found.event_types != frozenset(wanted.event_types):
        was.append(f"events {', '.join(sorted(found.event_types)) or 'none'}")
    if found.topic_arn != arn:
        was.append(f"topic {found.topic_arn or 'none'}")
    if found.others:
        was.append(f"also {', '.join(found.others)}")
    update = Call("sesv2", "UpdateConfigurationSetEventDestination", params)
    return _changes(subject, was, [update] if was else [])


def _changes(subject: str, was: list[str], calls: list[Call]) -> Step:
    if not calls:
        return Step(subject, "exists")
    return Step(subject, "updated", was="; ".join(was), calls=tuple(calls))
