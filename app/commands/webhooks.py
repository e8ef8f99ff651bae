"""``bouncer webhooks list|add|remove|test``: the webhook endpoints from a terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.commands.output import FormatOption, emit, emit_object, say, say_out
from app.commands.running import EXIT_CODES, FOUND, fail, load_settings, with_database, with_session
from app.errors import NotFound
from app.vocabulary import ChangeType

if TYPE_CHECKING:
    from app.db import Database
    from app.webhooks.registry import Endpoint, Keyed, Pinged

app = typer.Typer(
    help="The webhook endpoints the change feed is delivered to.", no_args_is_help=True
)

COLUMNS = (
    "id", "url", "types", "status", "failing_since", "last_error", "created_at", "created_by",
)  # fmt: skip
NOT_FOUND_CODES = "Exit codes: 0 ok, 1 no such webhook, 2 bad input, 3 no database."
ACTOR = "cli"


def _row(endpoint: Endpoint, *, fmt: str) -> dict[str, Any]:
    row = {c: getattr(endpoint, c) for c in COLUMNS}
    row["status"] = str(endpoint.status)
    if fmt != "json":  # a list in one cell of a table or a CSV row
        row["types"] = " ".join(endpoint.types)
    return row


@app.command("list", epilog=EXIT_CODES)
def list_webhooks(fmt: FormatOption = "table") -> None:
    """Every endpoint, oldest first, with its status (active, or failing since when and
    why). The secrets are never shown again."""
    from app.webhooks import registry

    endpoints = with_session(registry.every)
    emit([_row(e, fmt=fmt) for e in endpoints], COLUMNS, fmt)


@app.command(epilog=EXIT_CODES)
def add(
    url: Annotated[
        str, typer.Argument(metavar="URL", help="http or https; it may carry credentials")
    ],
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            metavar="TYPE",
            help="an event type to deliver (repeat for more; default: all): "
            + ", ".join(ChangeType),
        ),
    ] = None,
    fmt: FormatOption = "table",
) -> None:
    """Add an endpoint (recorded as added by "cli"); prints its id and its secret, which
    is shown this once."""
    from app.webhooks import registry

    added = with_session(
        lambda s: registry.add(s, url, types=types or None, actor=ACTOR, now=datetime.now(UTC))
    )
    endpoint = added.endpoint
    if fmt == "json":  # the answer of POST /v1/webhooks, so one parser reads both
        emit_object(_row(endpoint, fmt=fmt) | {"secret": added.secret})
    else:
        for name in ("id", "url", "types"):
            say_out(f"{name}: {_row(endpoint, fmt=fmt)[name]}")
        say_out(f"secret: {added.secret}")
    say(
        "The secret is shown this once: give it to the receiver now, which verifies every "
        "delivery with it (`bouncer webhooks remove` and add again to get a new one)."
    )


@app.command(epilog=NOT_FOUND_CODES)
def remove(webhook_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Remove an endpoint and its deliveries: nothing more is sent to it."""
    from app.webhooks import registry

    async def job(database: Database) -> str | None:
        async with database.session() as session:
            try:
                await registry.remove(session, webhook_id)
            except NotFound as err:
                return err.message
        return None

    problem = with_database(job)
    if problem is not None:
        raise fail(problem, FOUND)
    say_out(f"removed {webhook_id}")


@app.command(
    epilog="Exit codes: 0 it answered 2xx, 1 it did not (or no such webhook), 3 no database."
)
def test(webhook_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Send the endpoint a signed `ping` event (data {}) now, once, as deliveries are
    sent (no retry, nothing recorded), and print its answer."""
    import httpx

    from app.webhooks import registry

    timeout = load_settings().WEBHOOK_TIMEOUT_SECONDS

    async def job(database: Database) -> tuple[Keyed, Pinged] | str:
        async with database.session() as session:
            try:
                target = await registry.keyed(session, webhook_id)
            except NotFound as err:
                return err.message
        # No session is held while the endpoint answers (or does not, for 10 s).
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            pinged = await registry.ping(
                client, target, now=datetime.now(UTC), total_seconds=timeout
            )
            return target, pinged

    done = with_database(job)
    if isinstance(done, str):
        raise fail(done, FOUND)
    target, pinged = done
    # The origin only: the path or query may hold a credential, and this line may be
    # pasted into a ticket.
    where = f"{webhook_id} ({target.endpoint.origin})"
    result = pinged.result
    if not result.delivered:
        hint = (
            f" (nothing answered within {timeout:g} s: is the receiver running and "
            "reachable from here?)"
            if result.status_code is None
            else ""
        )
        raise fail(f"{where}: ping {pinged.event_id} failed: {result.error}{hint}", FOUND)
    say_out(f"{where}: ping {pinged.event_id} answered {result.status_code}")
