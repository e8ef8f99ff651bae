"""``bouncer aws setup``: read the account, plan the differences, apply them in order.

Synchronous boto3: a command that makes a few dozen calls one after another, each
depending on the one before, gains nothing from an event loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app.aws_wiring.setup_calls import Client, SetupFailed, call
from app.aws_wiring.setup_plan import Step, Topics, plan
from app.aws_wiring.setup_read import (
    Caller,
    Observed,
    read_caller,
    read_destinations,
    read_identities,
    read_subscription,
    read_topic,
)
from app.aws_wiring.setup_request import SetupRequest

# The service's own default (app.settings AWS_REGION): where bouncer sends, unless told.
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class AwsClients:
    sts: Client
    sns: Client
    ses: Client  # SES v1: identity notifications exist only there
    sesv2: Client

    def for_service(self, service: str) -> Client:
        return getattr(self, service)


def connect(region: str) -> AwsClients:
    """Clients on the standard credential chain; boto3 itself honours AWS_ENDPOINT_URL and
    AWS_ENDPOINT_URL_<SERVICE> (SNS, SES, SESV2, STS) for emulators."""
    import boto3
    from botocore.config import Config

    # Few retries and short connect timeouts: an operator waits at a prompt.
    config = Config(
        retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30
    )
    with _configuration():
        session = boto3.session.Session(region_name=region)
        return AwsClients(
            **{name: session.client(name, config=config) for name in ("sts", "sns", "ses", "sesv2")}
        )


@contextmanager
def _configuration() -> Iterator[None]:
    """A profile that does not exist or a config file that does not parse, as one line."""
    from botocore.exceptions import BotoCoreError

    try:
        yield
    except BotoCoreError as err:
        raise SetupFailed(
            f"reading the AWS configuration: {err}: check AWS_PROFILE and AWS_CONFIG_FILE"
        ) from None


def resolve_region(given: str | None) -> tuple[str, str]:
    """The region and where it came from: --region, else AWS_REGION (the setting bouncer
    sends with), else the AWS configuration's (AWS_DEFAULT_REGION, the profile), else the
    service's default."""
    if given:
        return given, "--region"
    if os.environ.get("AWS_REGION"):
        return os.environ["AWS_REGION"], "AWS_REGION"
    import boto3

    with _configuration():
        configured = boto3.session.Session().region_name
    if configured:
        return configured, "the AWS configuration"
    return DEFAULT_REGION, "bouncer's default"


@dataclass(frozen=True)
class SetupOutcome:
    caller: Caller
    topics: Topics
    steps: list[Step]

    @property
    def topic_arns(self) -> str:
        return ",".join(self.topics.arns.values())


def observe(request: SetupRequest, clients: AwsClients, caller: Caller, topics: Topics) -> Observed:
    """Everything setup manages, as the account has it now."""
    observed = Observed()
    for kind, arn in topics.arns.items():
        name = topics.names[kind]
        observed.topics[arn] = read_topic(clients.sns, name, arn, caller)
        if observed.topics[arn] is not None:
            observed.subscriptions[arn] = read_subscription(clients.sns, name, arn, request, caller)
    if request.identities:
        observed.identities = read_identities(clients.ses, request.identities, request, caller)
    for configuration_set in request.configuration_sets:
        observed.destinations[configuration_set] = read_destinations(
            clients.sesv2, configuration_set, request, caller
        )
    return observed


def run_setup(
    request: SetupRequest, clients: AwsClients, say: Callable[[str], None]
) -> SetupOutcome:
    """Read, plan, and (unless a dry run) apply each step, saying each as it is done.

    A step that fails raises SetupFailed and nothing after it is attempted: what was done
    stays done, and running setup again finds it and goes on from there.
    """
    caller = read_caller(clients.sts)
    say(f"account {caller.account} ({caller.arn}), region {request.region}")
    topics = Topics.of(request, caller)
    steps = plan(request, caller, topics, observe(request, clients, caller, topics))
    for done, step in enumerate(steps):
        if not request.dry_run:
            try:
                for planned in step.calls:
                    client = clients.for_service(planned.service)
                    call(
                        client, step.subject, planned.operation, caller=caller.arn, **planned.params
                    )
            except SetupFailed as err:
                raise SetupFailed(
                    f"{err.message} ({done} of {len(steps)} steps done before it, nothing after "
                    "it attempted: run setup again once it is fixed, and it goes on from there)"
                ) from None
        say(step.said(dry_run=request.dry_run))
    return SetupOutcome(caller, topics, steps)
