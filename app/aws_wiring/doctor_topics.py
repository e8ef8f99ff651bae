"""Judging the topics SES publishes to (SPEC §11), pure: each exists, has a confirmed
subscription to bouncer (to ``--endpoint``, else an HTTPS endpoint ending in /sns) with
raw message delivery off, and signs with SignatureVersion 2."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.aws_wiring.doctor_fixes import Fixes
from app.aws_wiring.doctor_wiring import (
    REQUIRED,
    Feedback,
    Publisher,
    Topic,
    TopicSubscription,
    Wiring,
)
from app.aws_wiring.findings import CheckName, Finding, error, warning
from app.aws_wiring.setup_request import masked


def is_bouncers(subscription: TopicSubscription, endpoint: str | None) -> bool:
    """The subscription delivers to bouncer: to ``endpoint`` when given, else to an
    HTTPS endpoint whose path ends in /sns. SNS shows a password in the URL as ****,
    so the user-info part is never compared."""
    if subscription.protocol not in ("http", "https"):
        return False
    if endpoint is None:
        return subscription.protocol == "https" and _where(subscription.endpoint)[2].endswith(
            "/sns"
        )
    return _where(subscription.endpoint) == _where(endpoint)


def _where(url: str) -> tuple[str, str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.path, port)


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=host).geturl()


def check_topics(wiring: Wiring, *, endpoint: str | None, fixes: Fixes) -> list[Finding]:
    """Each topic SES publishes to (or SNS_TOPIC_ARNS names) exists, has a confirmed
    subscription to bouncer with raw delivery off, and signs with version 2."""
    carried: dict[str, set[Feedback]] = {}
    named_by: dict[str, list[Publisher]] = {}
    for publisher in wiring.publishers:
        for kind in Feedback:
            for arn in publisher.publishes(kind):
                carried.setdefault(arn, set()).add(kind)
                if publisher not in named_by.setdefault(arn, []):
                    named_by[arn].append(publisher)
    found: list[Finding] = []
    for arn, topic in wiring.topics.items():
        # Losing a bounce or complaint is an error; a delivery, or a trusted topic nothing
        # publishes to, a warning.
        severe = bool(carried.get(arn, set()) & set(REQUIRED))
        found += _topic(topic, severe, named_by.get(arn, []), endpoint, fixes)
    return found


def _topic(
    topic: Topic, severe: bool, named_by: list[Publisher], endpoint: str | None, fixes: Fixes
) -> list[Finding]:
    arn = topic.arn
    flag = error if severe else warning
    if not topic.exists:
        by = ", ".join(p.what for p in named_by[:10]) if named_by else "SNS_TOPIC_ARNS"
        # `bouncer aws setup` makes its own topics and points the publishers at them.
        fix = fixes.setup_for(named_by[:10])
        return [flag(CheckName.TOPIC, arn, f"topic {arn} does not exist (named by {by})", fix)]
    found: list[Finding] = []
    if topic.subscriptions is not None:
        ours = [s for s in topic.subscriptions if is_bouncers(s, endpoint)]
        confirmed = [s for s in ours if not s.pending]
        target = masked(endpoint) if endpoint else "an HTTPS endpoint ending in /sns"
        if not ours:
            found.append(
                flag(
                    CheckName.SUBSCRIPTION,
                    arn,
                    f"topic {arn} has no subscription to bouncer ({target}): SNS delivers "
                    "its messages elsewhere or nowhere",
                    fixes.subscribe(arn),
                )
            )
        elif not confirmed:
            found.append(
                flag(
                    CheckName.PENDING,
                    arn,
                    f"topic {arn}'s subscription to {without_credentials(ours[0].endpoint)} is "
                    "pending confirmation: SNS delivers nothing to it until it is confirmed. "
                    "bouncer confirms on receipt only topics SNS_TOPIC_ARNS names, and SNS "
                    "never resends a confirmation bouncer refused: subscribing again makes it "
                    "(with SNS_AUTO_CONFIRM=false, bouncer keeps it for "
                    f"`{fixes.confirm(arn)}`)",
                    fixes.subscribe(arn),
                )
            )
        found += [
            error(
                CheckName.RAW_DELIVERY,
                s.arn,
                f"the subscription of topic {arn} to {without_credentials(s.endpoint)} has "
                "raw message delivery on: raw messages carry no signature, and bouncer "
                "refuses them (400)",
                fixes.raw_delivery_off(s.arn),
            )
            for s in confirmed
            if s.raw
        ]
    if topic.signature_version not in (None, "2"):
        found.append(
            warning(
                CheckName.SIGNATURE_VERSION,
                arn,
                f"topic {arn} signs with SignatureVersion {topic.signature_version} (SHA1): "
                "set 2 (SHA256), then SNS_MIN_SIGNATURE_VERSION=2 to refuse SHA1 messages",
                fixes.signature_version_2(arn),
            )
        )
    return found
