"""Judging a region's wiring (SPEC §11), pure: who publishes bounces and complaints to a
topic bouncer trusts, and whether each such topic reaches bouncer, signed and not raw.

Severity follows what reaches bouncer: ``error`` when a bounce or complaint can be lost
or refused, ``warning`` when it arrives but something is off (or another path covers
the gap), ``info`` when nothing is wrong but it is worth knowing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.aws_wiring import doctor_fixes
from app.aws_wiring.doctor_fixes import Fixes
from app.aws_wiring.doctor_wiring import (
    REQUIRED,
    Feedback,
    Publisher,
    Subscription,
    Topic,
    Wiring,
)
from app.aws_wiring.findings import Check, Finding, error, info, warning
from app.sns.topics import TopicAllowlist

_NAMED = 10  # publishers named in one aggregated finding


@dataclass(frozen=True)
class Context:
    """What the checks hold the wiring against: SNS_TOPIC_ARNS, bouncer's endpoint
    (``--endpoint``, or None: any HTTPS endpoint ending in /sns), SES_CONFIGURATION_SET."""

    trust: TopicAllowlist
    endpoint: str | None
    configuration_set: str | None
    fixes: Fixes


def check_wiring(wiring: Wiring, context: Context) -> list[Finding]:
    return [
        *_trust_setting(context),
        *_default_set(wiring, context),
        *_publishing(wiring, context),
        *_both_publishing(wiring, context),
        *_topics(wiring, context),
    ]


def reaches_bouncer(publisher: Publisher, kind: Feedback, trust: TopicAllowlist) -> bool:
    return any(trust.is_allowed(topic) for topic in publisher.publishes(kind))


def covers(publisher: Publisher, trust: TopicAllowlist) -> bool:
    """Bounces and complaints both go to topics bouncer trusts."""
    return all(reaches_bouncer(publisher, kind, trust) for kind in REQUIRED)


def is_bouncers(subscription: Subscription, endpoint: str | None) -> bool:
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


def _words(kinds: Iterable[Feedback]) -> str:
    names = [f"{kind.lower()}s" for kind in kinds]
    return " or ".join(names) if len(names) <= 2 else ", ".join(names)


def _names(publishers: Sequence[Publisher]) -> str:
    shown = ", ".join(p.name for p in publishers[:_NAMED])
    return shown + (f" and {len(publishers) - _NAMED} more" if len(publishers) > _NAMED else "")


def _trust_setting(context: Context) -> list[Finding]:
    if context.trust.patterns:
        return []
    return [
        error(
            Check.TRUST,
            "SNS_TOPIC_ARNS",
            "SNS_TOPIC_ARNS is empty: bouncer refuses every SNS message (403)",
            "set SNS_TOPIC_ARNS to the topics SES publishes to (`bouncer aws setup` prints "
            "the value) and restart bouncer",
        )
    ]


def _default_set(wiring: Wiring, context: Context) -> list[Finding]:
    name = context.configuration_set
    if name is None or wiring.configuration_set_names is None:
        return []
    if name in wiring.configuration_set_names:
        return []
    return [
        error(
            Check.CONFIGURATION_SET,
            name,
            f"SES_CONFIGURATION_SET names {name}, which does not exist in {wiring.region}: "
            "SES refuses every send through bouncer",
            context.fixes.create_configuration_set(name),
        )
    ]


def _publishing(wiring: Wiring, context: Context) -> list[Finding]:
    trust = context.trust
    default = next(
        (s for s in wiring.configuration_sets if s.name == context.configuration_set), None
    )
    set_covers = default is not None and covers(default, trust)
    identities = wiring.identities or ()
    identities_cover = bool(identities) and all(covers(i, trust) for i in identities)
    found: list[Finding] = []
    no_deliveries: list[Publisher] = []
    for publisher in wiring.publishers:
        fix = context.fixes.setup_for([publisher])
        check = Check.IDENTITY if publisher.is_identity else Check.CONFIGURATION_SET
        for topic in sorted({t for k in Feedback for t in publisher.publishes(k)}):
            if not trust.is_allowed(topic):
                kinds = [k for k in Feedback if topic in publisher.publishes(k)]
                found.append(
                    error(
                        Check.TRUST,
                        publisher.name,
                        f"{publisher.what} publishes {_words(kinds)} to {topic}, which "
                        "bouncer does not trust (SNS_TOPIC_ARNS): bouncer refuses them (403)",
                        doctor_fixes.trust(topic),
                    )
                )
        missing = [kind for kind in REQUIRED if not publisher.publishes(kind)]
        if missing:
            covered = set_covers if publisher.is_identity else identities_cover
            found.append(_gap(publisher, missing, covered, context, check, fix))
            continue
        if publisher.is_identity and publisher.forwarding:
            found.append(
                warning(
                    Check.FEEDBACK_FORWARDING,
                    publisher.name,
                    f"{publisher.what} still has feedback forwarding on: SES emails each "
                    "bounce and complaint to the sender as well (double mail)",
                    fix,
                )
            )
        if not publisher.publishes(Feedback.DELIVERY):
            no_deliveries.append(publisher)
    if no_deliveries:
        found.append(_no_deliveries(no_deliveries, context))
    return found


def _no_deliveries(publishers: list[Publisher], context: Context) -> Finding:
    one = publishers[0]
    what = one.what if len(publishers) == 1 else _names(publishers)
    verb = "publishes" if len(publishers) == 1 else "publish"
    return info(
        Check.IDENTITY if one.is_identity else Check.CONFIGURATION_SET,
        _names(publishers),
        f"{what} {verb} no deliveries: a delivery does not clear an address's soft-bounce "
        "count, and `--simulate` cannot confirm success@",
        context.fixes.setup_for(publishers[:_NAMED]),
    )


def _gap(
    publisher: Publisher,
    missing: list[Feedback],
    covered: bool,
    context: Context,
    check: Check,
    fix: str,
) -> Finding:
    message = f"{publisher.what} publishes no {_words(missing)} to SNS"
    if not covered:
        return error(check, publisher.name, message + ": bouncer never hears of them", fix)
    if publisher.is_identity:
        why = (
            f"mail sent through bouncer uses configuration set {context.configuration_set} "
            "(SES_CONFIGURATION_SET), which does; mail sent any other way from it reports "
            "none to bouncer"
        )
    else:
        why = "every identity's notifications carry them for mail sent with it"
    return warning(check, publisher.name, f"{message}: {why}", fix)


def _both_publishing(wiring: Wiring, context: Context) -> list[Finding]:
    trust = context.trust
    identities = [
        i for i in wiring.identities or () if any(reaches_bouncer(i, k, trust) for k in REQUIRED)
    ]
    if not identities:
        return []
    return [
        info(
            Check.BOTH_PUBLISHING,
            one.name,
            f"{one.what} and the notifications of identity {_names(identities)} both "
            "publish bounces and complaints: mail sent with it is reported twice, which is "
            "harmless: bouncer counts each bounce and complaint once (by its feedbackId)",
        )
        for one in wiring.configuration_sets
        if any(reaches_bouncer(one, k, trust) for k in REQUIRED)
    ]


def _topics(wiring: Wiring, context: Context) -> list[Finding]:
    carried: dict[str, set[Feedback]] = {}
    named_by: dict[str, list[str]] = {}
    for publisher in wiring.publishers:
        for kind in Feedback:
            for arn in publisher.publishes(kind):
                carried.setdefault(arn, set()).add(kind)
                if publisher.what not in named_by.setdefault(arn, []):
                    named_by[arn].append(publisher.what)
    found: list[Finding] = []
    for arn, topic in wiring.topics.items():
        # Losing a bounce or complaint is an error; a delivery, or a trusted topic nothing
        # publishes to, a warning.
        severe = bool(carried.get(arn, set()) & set(REQUIRED))
        found += _topic(topic, severe, named_by.get(arn, []), context)
    return found


def _topic(topic: Topic, severe: bool, named_by: list[str], context: Context) -> list[Finding]:
    arn, fixes = topic.arn, context.fixes
    flag = error if severe else warning
    if not topic.exists:
        by = f"named by {', '.join(named_by)}" if named_by else "named in SNS_TOPIC_ARNS"
        by = f" ({by})"
        return [flag(Check.TOPIC, arn, f"topic {arn} does not exist{by}", fixes.setup())]
    found: list[Finding] = []
    if topic.subscriptions is not None:
        ours = [s for s in topic.subscriptions if is_bouncers(s, context.endpoint)]
        confirmed = [s for s in ours if not s.pending]
        target = context.endpoint or "an HTTPS endpoint ending in /sns"
        if not ours:
            found.append(
                flag(
                    Check.SUBSCRIPTION,
                    arn,
                    f"topic {arn} has no subscription to bouncer ({target}): SNS delivers "
                    "its messages elsewhere or nowhere",
                    fixes.subscribe(arn),
                )
            )
        elif not confirmed:
            found.append(
                flag(
                    Check.PENDING,
                    arn,
                    f"topic {arn}'s subscription to {without_credentials(ours[0].endpoint)} is "
                    "pending confirmation: SNS delivers nothing to it until it is confirmed "
                    "(bouncer confirms on receipt unless SNS_AUTO_CONFIRM=false; a "
                    "confirmation unanswered for 3 days lapses: subscribe again)",
                    fixes.confirm(arn),
                )
            )
        found += [
            error(
                Check.RAW_DELIVERY,
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
                Check.SIGNATURE_VERSION,
                arn,
                f"topic {arn} signs with SignatureVersion {topic.signature_version} (SHA1): "
                "set 2 (SHA256), then SNS_MIN_SIGNATURE_VERSION=2 to refuse SHA1 messages",
                fixes.signature_version_2(arn),
            )
        )
    return found
