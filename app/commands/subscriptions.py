"""``bouncer subscriptions [list]|confirm``: the SNS subscriptions seen at /sns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from app.commands.output import FormatOption, emit, say_out
from app.commands.running import (
    BAD_INPUT,
    EXIT_CODES,
    fail,
    load_settings,
    with_database,
)
from app.errors import BouncerError, DatabaseUnavailable, NotFound
from app.logs import configure_logging

if TYPE_CHECKING:
    from app.db import Database

app = typer.Typer(help="The SNS subscriptions seen at /sns.")

COLUMNS = ("topic_arn", "status", "confirmed_via", "created_at", "updated_at", "last_error")
# SNS (or the SubscribeURL) did not confirm: AWS's answer, not the database's nor the input's.
NOT_CONFIRMED = 4


@app.callback(invoke_without_command=True, epilog=EXIT_CODES)
def subscriptions(ctx: typer.Context, fmt: FormatOption = "table") -> None:
    """The SNS subscriptions seen: topic, status, when (`bouncer subscriptions` lists them)."""
    if ctx.invoked_subcommand is None:
        list_subscriptions(fmt)


@app.command("list", epilog=EXIT_CODES)
def list_subscriptions(fmt: FormatOption = "table") -> None:
    """The SNS subscriptions seen: topic, status (pending, confirmed, unsubscribed), when."""

    from app.sns_records import subscriptions as rows

    async def job(database: Database) -> list[dict[str, object]]:
        async with database.session() as session:
            found = await rows.list_subscriptions(session)
        return [{c: getattr(r, c) for c in COLUMNS} for r in found]

    emit(with_database(job), COLUMNS, fmt)


@app.command(
    epilog="Exit codes: 0 confirmed, 2 no such pending subscription, 3 no database, "
    f"{NOT_CONFIRMED} SNS did not confirm."
)
def confirm(topic_arn: str) -> None:
    """Confirm a pending subscription (SNS_AUTO_CONFIRM=false), as POST
    /v1/subscriptions/confirm does: through the SNS API with AWS credentials, else its
    SubscribeURL."""
    settings = load_settings()
    # The service's code logs what it does: in the service's format, on this process's
    # stderr.
    configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL)
    # Imported here, not at the top: `bouncer --help` needs none of them.
    from app.services import Edges, build_subscribing

    async def job(database: Database) -> tuple[int, str]:
        edges = Edges()  # the real world, as the service has it
        async with edges.http_client() as http:
            # Looks the SNS clients up as the service does at start: it may ask the
            # instance metadata service.
            subscribing = build_subscribing(settings, database, http, edges)
            try:
                return 0, await subscribing.confirm_pending(topic_arn)
            except NotFound as err:
                return BAD_INPUT, err.message
            except DatabaseUnavailable:
                raise  # the sessions' boundary said so: with_database answers exit 3
            except BouncerError as err:
                if err.status_code == 422:
                    raise
                return NOT_CONFIRMED, err.message

    code, answer = with_database(job)
    if code:
        raise fail(answer, code)
    say_out(f"{topic_arn} {answer}")
