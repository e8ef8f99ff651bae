"""What the CLI prints on stdout: rows as a table, JSON or CSV, shown as data, never cut.

Stored text comes from strangers (a bounce's diagnostic is written by the remote mail
server), so it is never read as Rich markup, and control characters (an escape sequence
can make a terminal link or rewrite the screen) are shown escaped in tables.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    # Rich is imported where a table is printed, not to build `bouncer --help`.
    from rich.console import Console
    from rich.text import Text

OutputFormat = Literal["table", "json", "csv"]
# The --format option of every command that prints rows.
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv")]

# Exit status when the reader of stdout went away (`bouncer … | head`): 128 + SIGPIPE,
# what a shell reports for coreutils in the same place, so `set -o pipefail` treats
# bouncer like `cat`. Nothing more is written and nothing is reported.
STDOUT_CLOSED = 141

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _shown(value: object) -> Text:
    """A cell as plain Text (never markup), its control characters escaped as \\xNN."""
    from rich.text import Text

    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", _text(value))
    return Text(text)


def console(*, err: bool = False) -> Console:
    """A console that prints data as data; off a terminal, as wide as the data."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    terminal = stream.isatty()
    return Console(
        file=stream,
        markup=False,
        highlight=False,
        emoji=False,
        # A pipe or a file gets whole lines however long; a terminal folds long cells.
        width=None if terminal else 1_000_000,
    )


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: OutputFormat) -> None:
    """Rows as a table, a JSON array, or CSV with a header, on stdout."""
    with pipe_guard():
        if fmt == "json":
            typer.echo(
                json.dumps([{c: row.get(c) for c in columns} for row in rows], default=_text)
            )
        elif fmt == "csv":
            # Here, not at the top: `bouncer --help` imports this module, and the transfer
            # package brings the database layer with it.
            from app.suppression.transfer.columns import guarded

            writer = csv.writer(sys.stdout)
            writer.writerow(columns)
            # Guarded as the export's cells are (SPEC §4): a spreadsheet runs none of them.
            writer.writerows([[guarded(_text(row.get(c))) for c in columns] for row in rows])
        else:
            from rich.table import Column, Table

            # overflow="fold": a cell too wide for the terminal wraps, it is never cut.
            table = Table(*(Column(c, overflow="fold") for c in columns))
            for row in rows:
                table.add_row(*(_shown(row.get(c)) for c in columns))
            console().print(table)
        sys.stdout.flush()


def emit_object(value: dict[str, Any]) -> None:
    """One JSON object on stdout."""
    with pipe_guard():
        typer.echo(json.dumps(value, default=_text))


def say_out(line: str) -> None:
    """A line of the answer on stdout, as written (never markup)."""
    with pipe_guard():
        typer.echo(line)


def say(message: str) -> None:
    """A line for the operator on stderr (stdout stays data)."""
    typer.echo(message, err=True)


@contextmanager
def pipe_guard() -> Iterator[None]:
    """Turn a closed stdout into a quiet exit STDOUT_CLOSED."""
    try:
        yield
    except BrokenPipeError:
        raise stdout_closed() from None


def stdout_closed() -> typer.Exit:
    # Point stdout at /dev/null, so the interpreter's last flush at exit does not fail
    # again and print "Exception ignored" (https://docs.python.org/3/library/signal.html,
    # "Note on SIGPIPE").
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # no file descriptor behind stdout (a test's runner): nothing will flush it
    return typer.Exit(STDOUT_CLOSED)
