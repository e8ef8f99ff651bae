"""The ``bouncer`` command line: serve, migrate, manage the suppression list, read the rates."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from app import migrate, scrape
from app.commands import reports, suppressions
from app.commands.running import fail
from app.logs import configure_logging
from app.main import prepare_database
from app.middleware import StartupError
from app.settings import Settings, load_settings

cli = typer.Typer(
    help="bouncer keeps Amazon SES senders off addresses that bounce or complain.",
    no_args_is_help=True,
    add_completion=False,
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(suppressions.app, name="suppressions")
reports.register(cli)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Migrate the database (AUTO_MIGRATE) and serve the API with uvicorn."""
    import uvicorn

    from app.http_protocol import HeaderDeadlineProtocol

    settings = load_settings()
    configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL)
    try:
        asyncio.run(_prepare(settings))
    except StartupError as err:
        raise fail(str(err), 1) from None
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
    database = await prepare_database(settings)
    await database.dispose()


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database schema to the newest migration."""
    settings = load_settings().model_copy(update={"AUTO_MIGRATE": True})
    try:
        asyncio.run(_prepare(settings))
    except StartupError as err:
        raise fail(str(err), 1) from None
    typer.echo(f"database at {migrate.head_revision()}")


def main() -> None:
    cli(prog_name="bouncer")


if __name__ == "__main__":
    main()
