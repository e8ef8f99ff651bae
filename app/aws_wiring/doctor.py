"""``bouncer aws doctor``: read one region's wiring of SES to bouncer and judge it (SPEC
§11). Only reads; every finding says what is wrong and the command that fixes it.

The front door (app.commands.aws_doctor) adds the drift (app.aws_wiring.doctor_drift)
and, asked to, the mailbox simulator (app.aws_wiring.simulate), which need the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.aws_wiring.doctor_account import check_account
from app.aws_wiring.doctor_checks import Context, check_wiring
from app.aws_wiring.doctor_clients import DoctorClients, Reads
from app.aws_wiring.doctor_fixes import PLACEHOLDER_ENDPOINT, Fixes
from app.aws_wiring.doctor_reading import read_wiring
from app.aws_wiring.doctor_topics import is_bouncers
from app.aws_wiring.doctor_wiring import Wiring
from app.aws_wiring.findings import Finding
from app.aws_wiring.setup_request import masked
from app.sns.topics import TopicAllowlist

# The From of --simulate's messages under a verified domain, when --from is not given.
SIMULATE_LOCAL_PART = "bouncer-doctor"


@dataclass(frozen=True)
class Options:
    region: str
    endpoint: str | None  # --endpoint: bouncer's /sns URL, when known
    trusted: Sequence[str]  # SNS_TOPIC_ARNS
    configuration_set: str | None  # SES_CONFIGURATION_SET


@dataclass(frozen=True)
class Examined:
    wiring: Wiring
    findings: list[Finding]


def examine(clients: DoctorClients, options: Options) -> Examined:
    """Read the region's wiring through ``clients`` and judge it. Blocking (boto3):
    callers on an event loop run it in a thread. Raises AwsUnreachable."""
    reads = Reads()
    wiring = read_wiring(clients, reads, trusted=options.trusted)
    # A basic-auth password shown as SNS shows it, ****, for the operator to fill in.
    endpoint = masked(options.endpoint) if options.endpoint else found_endpoint(wiring)
    fixes = Fixes(options.region, endpoint or PLACEHOLDER_ENDPOINT)
    context = Context(
        TopicAllowlist(options.trusted), options.endpoint, options.configuration_set, fixes
    )
    findings = [
        *check_wiring(wiring, context),
        *check_account(wiring.account, options.region, fixes),
        *reads.problems,
    ]
    return Examined(wiring, findings)


def found_endpoint(wiring: Wiring) -> str | None:
    """bouncer's endpoint as a confirmed subscription names it, for the fix commands: a
    password as SNS shows it, ****, to fill in (left out, the fix would subscribe an
    endpoint without it, which bouncer answers 401)."""
    for topic in wiring.topics.values():
        for subscription in topic.subscriptions or ():
            if is_bouncers(subscription, None) and not subscription.pending:
                return masked(subscription.endpoint)
    return None


def sender_for(wiring: Wiring) -> str | None:
    """A From for --simulate: an address under a domain identity, else an email identity."""
    names = [publisher.name for publisher in wiring.identities or ()]
    domains = sorted(name for name in names if "@" not in name)
    if domains:
        return f"{SIMULATE_LOCAL_PART}@{domains[0]}"
    addresses = sorted(names)
    return addresses[0] if addresses else None
