"""``bouncer aws doctor``: check how SES, SNS and bouncer are wired in one region (SPEC §11).

``register(group)`` adds the command to the ``aws`` group. The AWS, database and service
modules are imported when it runs, so ``bouncer --help`` needs none of them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

import typer

from app.commands.output import pipe_guard, say
from app.commands.running import BAD_INPUT, fail, load_settings, with_database
from app.logs import configure_logging

if TYPE_CHECKING:
    from app.aws_wiring.doctor import Options
    from app.aws_wiring.findings import Finding
    from app.db import Database
    from app.settings import Settings

# Neither credentials nor an answer from AWS: nothing could be checked.
AWS_UNREACHABLE = 4
EXIT_CODES = (
    "Exit codes: 0 no error found, 1 an error found, 2 bad input, 3 database unreachable "
    f"or not migrated (--simulate), {AWS_UNREACHABLE} no AWS credentials or no answer from AWS."
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_HEADINGS = {"error": "errors", "warning": "warnings", "info": "info"}


def register(group: typer.Typer) -> None:
    group.command("doctor", epilog=EXIT_CODES)(doctor)


def doctor(
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="bouncer's SNS endpoint, https://host/sns; default: any HTTPS endpoint "
            "whose path ends in /sns counts as bouncer's"
        ),
    ] = None,
    region: Annotated[str | None, typer.Option(help="the SES region; default AWS_REGION")] = None,
    fmt: Annotated[
        Literal["text", "json"],
        typer.Option("--format", help="text (grouped by severity) or json (a list)"),
    ] = "text",
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate",
            help="also send to SES's mailbox simulator through bouncer and wait for the "
            "events to come back (needs the database)",
        ),
    ] = False,
    wait: Annotated[
        float, typer.Option(min=0, max=900, help="--simulate: seconds to wait for the events")
    ] = 60.0,
    from_address: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="--simulate: the verified sender; default bouncer-doctor@ a domain identity",
        ),
    ] = None,
) -> None:
    """Check how SES, SNS and bouncer are wired (only reads): identities and configuration
    sets publish bounces and complaints to topics bouncer trusts (SNS_TOPIC_ARNS), each
    subscribed to bouncer, confirmed, not raw, signing with version 2; sending enabled;
    the account-level suppression list on; and the drift from SES's list when there is a
    database. Each finding: severity, what is wrong, the command that fixes it."""
    settings = load_settings()
    configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL, settings.LOG_LEVEL_LIBRARIES)
    from app.aws_wiring.doctor import Options
    from app.aws_wiring.doctor_clients import AwsUnreachable
    from app.aws_wiring.findings import has_error, ordered

    options = Options(
        region=_region(region or settings.AWS_REGION),
        endpoint=_endpoint(endpoint),
        trusted=tuple(settings.SNS_TOPIC_ARNS),
        configuration_set=settings.SES_CONFIGURATION_SET,
    )
    sender = _sender(from_address)
    try:
        if simulate:
            findings = with_database(
                lambda database: _run(settings, options, database, sender=sender, wait=wait)
            )
        else:
            import asyncio

            findings = asyncio.run(_run(settings, options, None, sender=sender, wait=None))
    except AwsUnreachable as err:
        raise fail(str(err), AWS_UNREACHABLE) from None
    _emit(ordered(findings), fmt, options.region)
    raise typer.Exit(1 if has_error(findings) else 0)


async def _run(
    settings: Settings,
    options: Options,
    database: Database | None,
    *,
    sender: str | None,
    wait: float | None,
) -> list[Finding]:
    """The AWS reads (in a thread: boto3 blocks), the drift and, with ``wait``, the
    simulator's round trip."""
    import asyncio

    from app.aws_wiring import doctor, doctor_clients, doctor_drift
    from app.aws_wiring.findings import CheckName, error
    from app.aws_wiring.simulate import simulate
    from app.sending import SesSender
    from app.services import build_ses_sync

    clients = await asyncio.to_thread(doctor_clients.connect, options.region)
    try:
        examined = await asyncio.to_thread(doctor.examine, clients, options)
    finally:
        clients.close()
    findings = list(examined.findings)
    # The drift of the region examined, whichever regions SES_SYNC_REGIONS names.
    in_region = settings.model_copy(update={"SES_SYNC_REGIONS": [options.region]})
    findings += await doctor_drift.check_drift(
        settings, options.region, lambda db: build_ses_sync(in_region, db), database=database
    )
    if wait is None or database is None:
        return findings
    sender = sender or doctor.sender_for(examined.wiring)
    if sender is None:
        return [
            *findings,
            error(CheckName.SIMULATE, "identities", "no identity to send from: give --from"),
        ]
    say(f"simulating: sending from {sender} to SES's mailbox simulator, waiting up to {wait:g} s")
    ses = SesSender.from_settings(settings, database)
    try:
        return findings + await simulate(ses, database, from_address=sender, wait=wait)
    finally:
        await ses.aclose()


def _region(region: str) -> str:
    from app.settings import region_problem

    region = region.strip().lower()
    if (problem := region_problem(region)) is not None:
        raise fail(f"--region: {problem}: give a region code such as us-east-1", BAD_INPUT)
    return region


def _endpoint(endpoint: str | None) -> str | None:
    if endpoint is None:
        return None
    from app.aws_wiring.setup_request import masked

    endpoint = endpoint.strip()
    try:
        parts = urlsplit(endpoint)
        _ = parts.port  # raises ValueError for a port that is no port number
        host = parts.hostname
    except ValueError:  # an unbalanced "[" in the host, a port that is not a number
        host = None
    if host is None or parts.scheme not in ("https", "http"):
        raise fail(
            f"--endpoint: {masked(endpoint)[:300]!r} is not a URL: give bouncer's SNS "
            "endpoint, https://host/sns",
            BAD_INPUT,
        )
    return endpoint


def _sender(from_address: str | None) -> str | None:
    if from_address is None:
        return None
    from app.addresses import parse_address

    try:
        parse_address(from_address)
    except ValueError as err:
        raise fail(f"--from: {err}", BAD_INPUT) from None
    return from_address.strip()  # as given: SES keeps a display name


def _emit(findings: list[Finding], fmt: str, region: str) -> None:
    import json

    with pipe_guard():
        if fmt == "json":
            typer.echo(json.dumps([finding.as_dict() for finding in findings]))
            return
        for severity, heading in _HEADINGS.items():
            group = [f for f in findings if f.severity == severity]
            if group:
                typer.echo(f"{heading} ({len(group)})")
            for finding in group:
                typer.echo(f"  - [{finding.check}] {_plain(finding.message)}")
                if finding.fix:
                    typer.echo(f"    fix: {_plain(finding.fix)}")
        counts = {s: sum(f.severity == s for f in findings) for s in _HEADINGS}
        typer.echo(
            f"{region}: {counts['error']} error(s), {counts['warning']} warning(s), "
            f"{counts['info']} info"
        )


def _plain(text: str) -> str:
    """AWS's texts shown as data: a control character (a terminal escape) as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
