"""The ``bouncer`` command line: serve, migrate, manage the suppression list, read the rates.

Building the commands (``bouncer --help``) imports typer and the command modules only;
each command imports the database, settings and the services it runs when it runs, so
help answers at once and no command loads the web app (import-linter holds that).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from app.commands import (
    aws,
    aws_doctor,
    consume,
    replay,
    reports,
    ses,
    subscriptions,
    suppressions,
    webhooks,
)
from app.commands.running import NO_DATABASE, fail, load_settings
from app.errors import StartupError
from app.logs import configure_logging

if TYPE_CHECKING:
    from app.settings import Settings

cli = typer.Typer(
    help="bouncer keeps Amazon SES senders off addresses that bounce or complain.",
    no_args_is_help=True,
    add_completion=False,
    # Click's plain help and error format: typer's Rich panels import a Markdown parser
    # (rich.markdown), a third of a second of every `bouncer --help`, for markup no
    # docstring here uses. Every command, option and epilog is listed all the same.
    rich_markup_mode=None,
    # A traceback's locals would print DATABASE_URL's password.
    pretty_exceptions_show_locals=False,
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(suppressions.app, name="suppressions")
cli.add_typer(subscriptions.app, name="subscriptions")
cli.add_typer(ses.app, name="ses")
cli.add_typer(webhooks.app, name="webhooks")
aws_doctor.register(aws.app)
cli.add_typer(aws.app, name="aws")
reports.register(cli)
consume.register(cli)
replay.register(cli)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Migrate the database (AUTO_MIGRATE) and serve the API with uvicorn."""
    import asyncio

    import uvicorn

    from app import scrape
    from app.http_protocol import HeaderDeadlineProtocol

    settings = load_settings()
    configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL, settings.LOG_LEVEL_LIBRARIES)
    try:
        asyncio.run(_prepare(settings))
    except StartupError as err:
        raise fail(str(err), NO_DATABASE) from None
    # Several workers share their counters through files, so /metrics gives one answer.
    with scrape.worker_metrics(workers):
        uvicorn.run(
            "app.main:app",
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            proxy_headers=True,
            server_header=False,
            # uvicorn bounds idle keep-alive connections only: this also bounds headers.
            http=HeaderDeadlineProtocol,
        )


async def _prepare(settings: Settings) -> None:
    from app.opening import prepare_database

    database = await prepare_database(settings)
    await database.dispose()


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database schema to the newest migration."""
    import asyncio

    from app import migrate, opening

    settings = load_settings().model_copy(update={"AUTO_MIGRATE": True})
    configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL)  # the migrations log, as serve
    typer.echo(f"database: {opening.describe(settings.database_url)}", err=True)
    try:
        asyncio.run(_prepare(settings))
    except StartupError as err:
        raise fail(str(err), NO_DATABASE) from None
    typer.echo(f"database at {migrate.head_revision()}")


def main() -> None:
    cli(prog_name="bouncer")


if __name__ == "__main__":
    main()
