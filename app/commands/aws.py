"""``bouncer aws …``: wiring SES to bouncer in an AWS account (SPEC §11).

Each command is one ``@app.command()`` on the group below (``setup`` here; ``doctor``
joins it the same way). None opens a database: wiring AWS comes before bouncer has one.
boto3 and the wiring package are imported when a command runs, not to build --help.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from app.commands.output import say, say_out
from app.commands.running import BAD_INPUT, fail

if TYPE_CHECKING:
    from app.aws_wiring.setup import AwsClients

app = typer.Typer(
    help="Wire SES to bouncer in AWS: topics, subscriptions, identities, configuration sets.",
    no_args_is_help=True,
)

# AWS refused a step or could not be reached.
AWS_FAILED = 1
SETUP_EXIT_CODES = (
    f"Exit codes: 0 done, {AWS_FAILED} AWS refused a step or could not be reached (one line "
    f"names the step; nothing after it was attempted), {BAD_INPUT} bad input."
)

AwsRegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        metavar="REGION",
        help="the SES region; default AWS_REGION, else the AWS configuration's, else us-east-1",
    ),
]


@app.command(epilog=SETUP_EXIT_CODES)
def setup(
    ctx: typer.Context,
    endpoint: Annotated[
        str,
        typer.Option(
            "--endpoint",
            metavar="URL",
            help="bouncer's POST /sns as SNS reaches it: https://host/sns",
        ),
    ],
    identity: Annotated[
        list[str] | None,
        typer.Option(
            "--identity",
            metavar="DOMAIN",
            help="an SES identity (domain or address) to publish its bounces, "
            "complaints and deliveries to the topics (repeatable)",
        ),
    ] = None,
    configuration_set: Annotated[
        list[str] | None,
        typer.Option(
            "--configuration-set",
            metavar="NAME",
            help="an SES configuration set to give SNS event "
            "destinations to the topics (repeatable)",
        ),
    ] = None,
    region: AwsRegionOption = None,
    topic_prefix: Annotated[
        str,
        typer.Option(
            "--topic-prefix", metavar="P", help="topics are P-bounces, P-complaints, P-deliveries"
        ),
    ] = "ses",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="read and print the plan only: change nothing")
    ] = False,
    no_delivery: Annotated[
        bool,
        typer.Option(
            "--no-delivery",
            help="publish no DELIVERY events (configuration sets) and set no "
            "Delivery topic (identities): bounces and complaints only",
        ),
    ] = False,
    no_subscription: Annotated[
        bool,
        typer.Option(
            "--no-subscription",
            help="leave SUBSCRIPTION (one-click unsubscribe) events out of configuration sets",
        ),
    ] = False,
    allow_http: Annotated[
        bool,
        typer.Option(
            "--allow-http",
            help="accept an http:// endpoint, for an emulator (LocalStack, "
            "moto): AWS delivers to http:// in clear text",
        ),
    ] = False,
) -> None:
    """Create or put back SES's SNS wiring to bouncer, and print SNS_TOPIC_ARNS to set.

    Topics with SignatureVersion 2 and a policy that lets only SES of this account publish;
    an HTTPS subscription of each to --endpoint (raw delivery off, the README's delivery
    policy); each identity's Bounce/Complaint/Delivery topics with feedback forwarding
    off; each configuration set's SNS event destinations. What exists is kept, what drifted
    is put back; running it twice changes nothing. Standard AWS credentials;
    AWS_ENDPOINT_URL_<SERVICE> for an emulator.
    """
    from app.aws_wiring.setup import connect, resolve_region, run_setup
    from app.aws_wiring.setup_calls import SetupFailed
    from app.aws_wiring.setup_request import build_request
    from app.errors import InvalidInput
    from app.settings import is_aws_region

    try:
        chosen, source = resolve_region(region)
    except SetupFailed as err:
        raise fail(err.message, AWS_FAILED) from None
    try:
        if not is_aws_region(chosen):
            raise InvalidInput(
                f"region {chosen[:60]!r} (from {source}) is not an AWS region code "
                "such as us-east-1",
                field="region",
            )
        request = build_request(
            endpoint=endpoint,
            identities=identity or [],
            configuration_sets=configuration_set or [],
            prefix=topic_prefix,
            region=chosen,
            allow_http=allow_http,
            delivery=not no_delivery,
            subscription=not no_subscription,
            dry_run=dry_run,
        )
    except InvalidInput as err:
        raise fail(err.message, BAD_INPUT) from None
    # A test hands in clients of its own (moto, a Stubber); otherwise the real ones.
    try:
        clients: AwsClients = ctx.obj if ctx.obj is not None else connect(request.region)
        outcome = run_setup(request, clients, say_out)
    except SetupFailed as err:
        raise fail(err.message, AWS_FAILED) from None
    if dry_run:
        say("dry run: nothing was changed")
    if not request.identities and not request.configuration_sets:
        say("no --identity or --configuration-set: SES publishes nothing to these topics yet")
    if not dry_run and any(
        s.status in ("created", "requested") and "Subscribe" in {c.operation for c in s.calls}
        for s in outcome.steps
    ):
        say(
            "SNS now sends bouncer a SubscriptionConfirmation per subscription: bouncer "
            "confirms it itself (with SNS_AUTO_CONFIRM=false: bouncer subscriptions confirm), "
            "but only for topics SNS_TOPIC_ARNS names, and SNS does not send it again: if "
            "bouncer did not have the value below yet, set it, restart bouncer and run setup "
            "again (it asks SNS to send the confirmation again)"
        )
    say("set this in bouncer's environment (SNS_TOPIC_ARNS), then check with: bouncer aws doctor")
    say_out(f"SNS_TOPIC_ARNS={outcome.topic_arns}")
