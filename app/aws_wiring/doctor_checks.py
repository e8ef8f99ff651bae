"""Judging a region's wiring (SPEC §11), pure: who publishes bounces and complaints to a
topic bouncer trusts (the topics themselves: app.aws_wiring.doctor_topics).

Severity follows what reaches bouncer: ``error`` when a bounce or complaint can be lost
or refused, ``warning`` when it arrives but something is off (or another path covers
the gap), ``info`` when nothing is wrong but it is worth knowing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.aws_wiring import doctor_fixes
from app.aws_wiring.doctor_fixes import Fixes
from app.aws_wiring.doctor_topics import check_topics
from app.aws_wiring.doctor_wiring import REQUIRED, Feedback, Publisher, Wiring
from app.aws_wiring.findings import CheckName, Finding, error, info, warning
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
        *_unverified(wiring),
        *_both_publishing(wiring, context),
        *check_topics(wiring, endpoint=context.endpoint, fixes=context.fixes),
    ]


def reaches_bouncer(publisher: Publisher, kind: Feedback, trust: TopicAllowlist) -> bool:
    return any(trust.is_allowed(topic) for topic in publisher.publishes(kind))


def covers(publisher: Publisher, trust: TopicAllowlist) -> bool:
    """Bounces and complaints both go to topics bouncer trusts."""
    return all(reaches_bouncer(publisher, kind, trust) for kind in REQUIRED)


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
            CheckName.TRUST,
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
            CheckName.CONFIGURATION_SET,
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
        check = CheckName.IDENTITY if publisher.is_identity else CheckName.CONFIGURATION_SET
        for topic in sorted({t for k in Feedback for t in publisher.publishes(k)}):
            if not trust.is_allowed(topic):
                kinds = [k for k in Feedback if topic in publisher.publishes(k)]
                found.append(
                    error(
                        CheckName.TRUST,
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
                    CheckName.FEEDBACK_FORWARDING,
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


def _unverified(wiring: Wiring) -> list[Finding]:
    return [
        info(
            CheckName.UNVERIFIED_IDENTITY,
            name,
            f"identity {name} is not verified (VerificationStatus {status}): SES sends "
            "nothing from it and takes no notification topics for it, so it is not checked; "
            "verify it, or delete it if it is not used",
        )
        for name, status in wiring.unverified.items()
    ]


def _no_deliveries(publishers: list[Publisher], context: Context) -> Finding:
    one = publishers[0]
    what = one.what if len(publishers) == 1 else _names(publishers)
    verb = "publishes" if len(publishers) == 1 else "publish"
    return info(
        CheckName.IDENTITY if one.is_identity else CheckName.CONFIGURATION_SET,
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
    check: CheckName,
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
            CheckName.BOTH_PUBLISHING,
            one.name,
            f"{one.what} and the notifications of identity {_names(identities)} both "
            "publish bounces and complaints: mail sent with it is reported twice, which is "
            "harmless: bouncer counts each bounce and complaint once (by its feedbackId)",
        )
        for one in wiring.configuration_sets
        if any(reaches_bouncer(one, k, trust) for k in REQUIRED)
    ]
