"""``bouncer events|stats``: what SES and SNS have told bouncer."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

import typer

from app.activity import event_log as history
from app.activity import stats
from app.commands.output import FormatOption, emit
from app.commands.running import EXIT_CODES, with_session
from app.suppression import entries

EVENT_COLUMNS = ("occurred_at", "type", "subtype", "verdict", "status", "diagnostic_code")


def register(cli: typer.Typer) -> None:
    cli.command(epilog=EXIT_CODES)(events)
    cli.command("stats", epilog=EXIT_CODES)(show_stats)


def events(email: str, fmt: FormatOption = "table") -> None:
    """The SES events recorded for an address, newest first."""
    # Parsed inside with_session, which answers InvalidInput with one line and exit 2.
    rows = with_session(lambda s: history.for_email(s, entries.parse_email(email)[0]))
    emit([{c: getattr(e, c) for c in EVENT_COLUMNS} for e in rows], EVENT_COLUMNS, fmt)


def show_stats(
    window: Annotated[str, typer.Option(help=", ".join(stats.WINDOWS))] = "24h",
    fmt: FormatOption = "table",
) -> None:
    """Bounce and complaint rates, against the SES review and pause levels."""
    if window not in stats.WINDOWS:
        raise typer.BadParameter(f"use one of {', '.join(stats.WINDOWS)}", param_hint="--window")
    result = asdict(with_session(lambda s: stats.compute(s, window=window, now=datetime.now(UTC))))
    if fmt == "table":
        emit([{"name": k, "value": v} for k, v in result.items()], ("name", "value"), fmt)
    else:
        emit([result], list(result), fmt)
