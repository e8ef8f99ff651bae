"""What bouncer's wiring is, from the topic prefix: names, policies and event routing (pure).

``bouncer aws setup`` makes an account match this; nothing here calls AWS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from app.errors import InvalidInput

TopicKind = Literal["bounces", "complaints", "deliveries"]
KINDS: tuple[TopicKind, ...] = ("bounces", "complaints", "deliveries")

DEFAULT_PREFIX = "ses"
# Topic names are letters, digits, "_" and "-" (app.arns). Each topic's configuration-set
# event destination is named after it, and those names stop at 64 characters: the
# longest suffix ("-complaints", "-deliveries") leaves 53 for the prefix.
MAX_PREFIX = 53
_PREFIX = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)

# SES v1 identity notification types, and the topic each publishes to.
NOTIFICATION_KINDS: dict[str, TopicKind] = {
    "Bounce": "bounces",
    "Complaint": "complaints",
    "Delivery": "deliveries",
}

# SHA256 signatures (SNS signs with SHA1 unless a topic asks for version 2).
SIGNATURE_VERSION = "2"

# README "Wiring up SES and SNS", step 6: SNS retries an HTTPS delivery for about 37 of
# the 60 minutes it allows, so an outage of bouncer or its database loses nothing.
# tests/aws_setup check the README's copy against this one.
DELIVERY_POLICY: dict[str, Any] = {
    "healthyRetryPolicy": {
        "numRetries": 50,
        "numNoDelayRetries": 3,
        "minDelayTarget": 1,
        "maxDelayTarget": 60,
        "numMinDelayRetries": 2,
        "numMaxDelayRetries": 30,
        "backoffFunction": "exponential",
    },
    "throttlePolicy": {"maxReceivesPerSecond": 50},
}


def check_prefix(prefix: str) -> str:
    if _PREFIX.fullmatch(prefix) is None or len(prefix) > MAX_PREFIX:
        raise InvalidInput(
            f"--topic-prefix {prefix[:80]!r}: use 1 to {MAX_PREFIX} letters, digits, '_' or '-' "
            "(SNS topic names allow no other characters)",
            field="topic_prefix",
        )
    return prefix


def topic_name(prefix: str, kind: TopicKind) -> str:
    return f"{prefix}-{kind}"


def topic_arn(*, partition: str, region: str, account: str, name: str) -> str:
    """SNS names a topic's ARN from these alone, so setup knows it before the topic exists."""
    return f"arn:{partition}:sns:{region}:{account}:{name}"


def notification_types(*, delivery: bool) -> tuple[str, ...]:
    """The identity notification types setup points at the topics."""
    return ("Bounce", "Complaint", "Delivery") if delivery else ("Bounce", "Complaint")


@dataclass(frozen=True)
class Destination:
    """A configuration set's SNS event destination that setup manages."""

    name: str
    kind: TopicKind
    event_types: tuple[str, ...]


def destinations(prefix: str, *, delivery: bool, subscription: bool) -> list[Destination]:
    """One event destination per topic, named after it.

    A destination publishes all its event types to one topic, so "a topic per kind" takes
    a destination per topic. One destination carrying every type to the bounces topic
    would work for bouncer (one endpoint reads them all) but would break the promise of
    the names: the bounces topic would carry deliveries, its metrics and alarms would
    count them, and another subscriber to it would get them. Per topic, each topic carries
    the same kinds whether SES publishes through identity notifications or a
    configuration set, and leaving deliveries out is one destination fewer. It takes 3 of
    the 10 destinations SES allows a configuration set.

    SUBSCRIPTION (a recipient's one-click unsubscribe) goes with complaints: both are the
    recipient saying "stop", both are few, and bouncer suppresses on both.
    """
    complaints = ("COMPLAINT", "SUBSCRIPTION") if subscription else ("COMPLAINT",)
    wanted = [
        Destination(topic_name(prefix, "bounces"), "bounces", ("BOUNCE",)),
        Destination(topic_name(prefix, "complaints"), "complaints", complaints),
    ]
    if delivery:
        wanted.append(Destination(topic_name(prefix, "deliveries"), "deliveries", ("DELIVERY",)))
    return wanted


def topic_policy(arn: str, *, partition: str, account: str) -> dict[str, Any]:
    """The whole topic policy: only SES, acting for this account, may publish.

    The conditions stop the confused deputy: without them, SES acting for another
    account (whose identity names this topic) could publish to it.
    https://docs.aws.amazon.com/ses/latest/dg/configure-sns-notifications.html
    Principals of this account still manage the topic through their IAM policies.
    """
    return {
        "Version": "2012-10-17",
        "Id": "bouncer-ses-publish",
        "Statement": [
            {
                "Sid": "SesPublishesForThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "ses.amazonaws.com"},
                "Action": "SNS:Publish",
                "Resource": arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:ses:*:{account}:*"},
                },
            }
        ],
    }


def _canonical(value: Any) -> Any:
    # IAM reads ["x"] and "x" alike, and AWS may answer either for what was written.
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        return items[0] if len(items) == 1 else sorted(items, key=json.dumps)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def _parsed(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def same_policy(found: str | None, wanted: dict[str, Any]) -> bool:
    return bool(_canonical(_parsed(found)) == _canonical(wanted))


def describe_policy(found: str | None) -> str:
    """A topic policy in a few words, for "updated (was …)"."""
    parsed = _parsed(found)
    if parsed is None:
        return "no policy"
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    if not isinstance(statements, list):
        statements = [statements] if isinstance(statements, dict) else []
    sids = [str(s.get("Sid", "?")) for s in statements if isinstance(s, dict)]
    return f"a policy with statements {', '.join(sids) or '(none)'}"


def _contains(found: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(found, dict) and all(
            bool(k in found and _contains(found[k], v)) for k, v in wanted.items()
        )
    return bool(found == wanted)


def has_delivery_policy(found: str | None) -> bool:
    """Whether a subscription's DeliveryPolicy says what DELIVERY_POLICY says: keys SNS
    adds on its own (``sicklyRetryPolicy``, ``guaranteed``) are not drift."""
    return _contains(_parsed(found), DELIVERY_POLICY)
