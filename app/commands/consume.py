"""``bouncer consume``: take SES events from SQS queues until SIGTERM (SPEC §8)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from app.commands.running import BAD_INPUT, NO_DATABASE, fail, load_settings
from app.logs import configure_logging

if TYPE_CHECKING:
    from app.db import Database
    from app.ingest import QueueIngest
    from app.queues.lifecycle import ConsumerSetup
    from app.settings import Settings

EXIT_CODES = (
    "Exit codes: 0 stopped by SIGTERM or SIGINT, 2 bad settings or options, "
    "3 database missing or not migrated."
)


def register(cli: typer.Typer) -> None:
    cli.command(epilog=EXIT_CODES)(consume)


def consume(
    queue_url: Annotated[
        list[str] | None,
        typer.Option(
            "--queue-url",
            metavar="URL",
            help="A queue to poll; repeat for several. Replaces SQS_QUEUE_URLS.",
            show_default=False,
        ),
    ] = None,
    health_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            metavar="PORT",
            help="Serve GET /healthz, /readyz and /metrics on this port (0: any free one).",
            show_default=False,
        ),
    ] = None,
    health_host: Annotated[
        str, typer.Option(metavar="HOST", help="The interface the health endpoints listen on.")
    ] = "127.0.0.1",
    max_in_flight: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            metavar="N",
            help="Batches taken (stored, then deleted) at once, across the queues.",
        ),
    ] = 4,
) -> None:
    """Take SES events from SQS queues (SNS or EventBridge delivering to them) until SIGTERM.

    Each queue is long-polled (SQS_WAIT_SECONDS), up to 10 messages at a time; a message
    is deleted once its effects are committed. Refused ones stay for the queue's redrive
    policy (SQS_DELETE_REFUSED=true deletes them); unsigned shapes need
    SQS_ACCEPT_UNSIGNED=true.
    """
    settings = load_settings()
    configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL, settings.LOG_LEVEL_LIBRARIES)
    urls = _queue_urls(queue_url or [], settings)
    import asyncio

    from app.errors import StartupError
    from app.queues import lifecycle
    from app.queues.consumer import ConsumeOptions
    from app.sqs.queue_client import close_queues, open_queues

    try:
        queues = open_queues(
            urls, endpoint_url=settings.SQS_ENDPOINT_URL, default_region=settings.AWS_REGION
        )
    except ValueError as err:  # botocore's words for an endpoint that is no URL
        raise fail(f"SQS_ENDPOINT_URL: {err}", BAD_INPUT) from None
    setup = lifecycle.ConsumerSetup(
        database_url=settings.database_url,
        configured=bool(settings.DATABASE_URL),
        statement_timeout=settings.statement_timeout,
        queues=queues,
        options=ConsumeOptions(wait_seconds=settings.SQS_WAIT_SECONDS, max_in_flight=max_in_flight),
        delete_refused=settings.SQS_DELETE_REFUSED,
        health=None if health_port is None else (health_host, health_port),
    )
    try:
        code = asyncio.run(_run(settings, setup))
    except StartupError as err:
        raise fail(str(err), NO_DATABASE) from None
    except lifecycle.HealthUnavailable as err:
        raise fail(str(err), BAD_INPUT) from None
    finally:
        close_queues(queues)
    raise typer.Exit(code)


async def _run(settings: Settings, setup: ConsumerSetup) -> int:
    from app.queues import lifecycle
    from app.services import Edges, build_queue_ingest, build_subscribing

    edges = Edges()  # the real world, as the service has it
    async with edges.http_client() as http:

        def make_ingest(database: Database) -> QueueIngest:
            # Looks the SNS clients up as the service does at start (for subscriptions
            # confirmed through a queue): it may ask the instance metadata service.
            subscribing = build_subscribing(settings, database, http, edges)
            return build_queue_ingest(
                settings,
                database,
                http,
                subscribing,
                edges,
                accept_unsigned=settings.SQS_ACCEPT_UNSIGNED,
            )

        return await lifecycle.consume(setup, make_ingest)


def _queue_urls(given: list[str], settings: Settings) -> list[str]:
    """--queue-url (all of them) or else SQS_QUEUE_URLS, each checked, each once."""
    from app.sqs import queue_urls

    source = "--queue-url" if given else "SQS_QUEUE_URLS"
    urls = list(dict.fromkeys(u.strip() for u in (given or settings.SQS_QUEUE_URLS)))
    if not urls:
        raise fail(
            "no queue to consume: set SQS_QUEUE_URLS (comma-separated) or pass --queue-url URL",
            BAD_INPUT,
        )
    for url in urls:
        if (problem := queue_urls.problem_with(url)) is not None:
            raise fail(f"{source}: {problem}", BAD_INPUT)
    return urls
