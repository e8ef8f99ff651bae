"""``bouncer events|stats``: what SES and SNS have told bouncer."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

import typer

from app.commands.output import FormatOption, emit
from app.commands.running import EXIT_CODES, with_session

EVENT_COLUMNS = ("occurred_at", "type", "subtype", "verdict", "status", "diagnostic_code")
# app.activity.stats.WINDOWS' names, spelled here so `bouncer --help` imports no database
# code (tests/test_cli_imports.py holds the two equal).
WINDOWS = ("24h", "7d", "30d")


def register(cli: typer.Typer) -> None:
    cli.command(epilog=EXIT_CODES)(events)
    cli.command("stats", epilog=EXIT_CODES)(show_stats)


def events(email: str, fmt: FormatOption = "table") -> None:
    """The SES events recorded for an address, newest first."""
    from app.activity import event_log
    from app.suppression import entries

    # Parsed inside with_session, which answers InvalidInput with one line and exit 2.
    rows = with_session(lambda s: event_log.for_email(s, entries.parse_email(email)[0]))
    emit([{c: getattr(e, c) for c in EVENT_COLUMNS} for e in rows], EVENT_COLUMNS, fmt)


def show_stats(
    window: Annotated[str, typer.Option(help=", ".join(WINDOWS))] = "24h",
    fmt: FormatOption = "table",
) -> None:
    """Bounce and complaint rates, against the SES review and pause levels."""
    if window not in WINDOWS:
        raise typer.BadParameter(f"use one of {', '.join(WINDOWS)}", param_hint="--window")
    from app.activity import stats

    result = asdict(with_session(lambda s: stats.compute(s, window=window, now=datetime.now(UTC))))
    if fmt == "table":
        emit([{"name": k, "value": v} for k, v in result.items()], ("name", "value"), fmt)
    else:
        emit([result], list(result), fmt)
