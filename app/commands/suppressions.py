"""``bouncer suppressions list|check|add|remove|import|export``: the list from a terminal."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from app.commands.output import FormatOption, console, emit, emit_object, say, say_out
from app.commands.running import (
    BAD_INPUT,
    EXIT_CODES,
    FOUND,
    fail,
    load_settings,
    parse_date,
    with_database,
    with_session,
)

if TYPE_CHECKING:
    from rich.progress import Progress

    from app.db import Database
    from app.suppression import transfer

app = typer.Typer(help="The suppression list.", no_args_is_help=True)

COLUMNS = ("email", "reason", "subtype", "source", "note", "created_at", "expires_at")
# The list's own values (app.suppression.transfer.Format, listing.MAX_PAGE), spelled here
# so `bouncer --help` imports no database code: the service modules are imported inside
# each command. tests/test_cli_imports.py holds them equal.
TransferFormat = Literal["csv", "ndjson"]
MAX_PAGE = 1000


def _row(entry: object) -> dict[str, object]:
    return {c: getattr(entry, c) for c in COLUMNS}


@app.command("list", epilog=EXIT_CODES)
def list_entries(
    reason: Annotated[str | None, typer.Option(help="bounce, soft_bounce, complaint, …")] = None,
    domain: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option(help="created at or after (ISO 8601, UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="created before (ISO 8601, UTC)")] = None,
    q: Annotated[str | None, typer.Option(help="address prefix")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE)] = 100,
    fmt: FormatOption = "table",
) -> None:
    """List active entries, newest first."""
    from app.suppression import listing

    filters = listing.Filters(
        reason, domain, parse_date(since, field="since"), parse_date(until, field="until"), q
    )
    page = with_session(
        lambda s: listing.page(s, filters, cursor=None, limit=limit, now=datetime.now(UTC))
    )
    emit([_row(e) for e in page.items], COLUMNS, fmt)


@app.command(epilog="Exit codes: 0 none suppressed, 1 any suppressed, 2 bad input, 3 no database.")
def check(emails: list[str], fmt: FormatOption = "table") -> None:
    """Which of these addresses are suppressed? Exits 1 when any is; an invalid address is
    named on stderr and the others are still answered (exit 2 when none is suppressed)."""
    from app.suppression import entries

    result = with_session(lambda s: entries.check_each(s, emails, now=datetime.now(UTC)))
    rows = [
        {"email": e, "suppressed": e in result.suppressed, "reason": result.suppressed.get(e)}
        for e in emails
        if e in result.suppressed or e in result.allowed
    ]
    emit(rows, ("email", "suppressed", "reason"), fmt)
    for bad in result.invalid:
        say(f"error: {bad.email}: {bad.error}")
    if result.suppressed:
        raise typer.Exit(FOUND)
    if result.invalid:
        raise typer.Exit(BAD_INPUT)


HISTORY_COLUMNS = ("at", "action", "reason", "expires_at", "source", "actor", "note")


@app.command(epilog="Exit codes: 0 not suppressed, 1 suppressed, 2 bad input, 3 no database.")
def show(email: str, fmt: FormatOption = "table") -> None:
    """One address: its entry, note and every change to it (removals too: who, why),
    suppressed now or not. Exits 1 when it is."""
    from app.suppression import entries

    detail = with_session(lambda s: entries.lookup(s, email, now=datetime.now(UTC)))
    entry = _row(detail.entry) if detail.entry is not None else None
    history = [{c: getattr(change, c) for c in HISTORY_COLUMNS} for change in detail.changes]
    if fmt == "table":
        say_out(f"{email}: " + (f"suppressed ({entry['reason']})" if entry else "not suppressed"))
        if entry:
            emit([entry], COLUMNS, fmt)
        if history:
            emit(history, HISTORY_COLUMNS, fmt)
        else:
            say_out("no changes recorded")
    elif fmt == "json":
        emit_object(
            {"email": email, "suppressed": entry is not None, "entry": entry, "history": history}
        )
    else:  # csv: the change log, one change a row
        emit(history, HISTORY_COLUMNS, fmt)
    if entry is not None:
        raise typer.Exit(FOUND)


@app.command(epilog=EXIT_CODES)
def add(
    email: str,
    reason: Annotated[str, typer.Option()] = "manual",
    note: Annotated[str | None, typer.Option(help="why")] = None,
    expires_at: Annotated[str | None, typer.Option(help="ISO 8601; no offset is UTC")] = None,
    fmt: FormatOption = "table",
) -> None:
    """Add or update an entry (recorded as done by "cli")."""
    from app.suppression import entries
    from app.vocabulary import Source

    until = parse_date(expires_at, field="expires_at")
    row, _ = with_session(
        lambda s: entries.add(
            s, email, reason=reason, note=note, expires_at=until,
            actor="cli", source=Source.CLI, now=datetime.now(UTC),
        )
    )  # fmt: skip
    emit([_row(row)], COLUMNS, fmt)


@app.command(epilog="Exit codes: 0 removed, 1 not on the list, 2 bad input, 3 no database.")
def remove(email: str, note: Annotated[str | None, typer.Option(help="why")] = None) -> None:
    """Remove an entry; the removal stays in its history with the note. With SES_SYNC=both
    the address is also deleted from SES's list at once (what fails there waits for the
    next sync pass)."""
    from app.suppression import entries

    settings = load_settings()
    regions = settings.ses_removal_regions
    if regions:  # SES is called: its warnings are logged as `bouncer ses sync` logs them
        from app.logs import configure_logging

        configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL, settings.LOG_LEVEL_LIBRARIES)

    async def job(database: Database) -> tuple[bool, list[str]]:
        async with database.session() as session:
            removed = await entries.remove(
                session, email, actor="cli", note=note, now=datetime.now(UTC), ses_regions=regions
            )
        if not removed or not regions:
            return removed, []
        from app.commands.ses import delete_from_ses

        return True, await delete_from_ses(settings, database, email)

    removed, problems = with_database(job)
    if not removed:
        raise fail(f"{email} is not on the list", FOUND)
    typer.echo(f"removed {email}")
    for problem in problems:
        say(f"warning: {problem}; the outbox keeps the removal for the next sync pass")


async def _read(path: Path, progress: Progress | None) -> AsyncIterator[bytes]:
    task = progress.add_task("import", total=path.stat().st_size) if progress else None
    with path.open("rb") as file:
        while chunk := file.read(256 * 1024):
            if progress is not None and task is not None:
                progress.advance(task, len(chunk))
            yield chunk


@app.command("import", epilog=EXIT_CODES)
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    fmt: Annotated[TransferFormat | None, typer.Option("--format", help="csv or ndjson")] = None,
) -> None:
    """Add or update entries from a CSV or NDJSON file; prints the counts as JSON."""
    from rich.progress import Progress

    from app.suppression import transfer

    chosen = format_of(file, fmt)
    # On stderr: stdout carries the counts a script reads.
    with Progress(
        console=console(err=True), disable=not sys.stderr.isatty(), transient=True
    ) as progress:

        async def job(database: Database) -> transfer.ImportResult:
            chunks = _read(file, progress)
            return await transfer.import_(
                database, chunks, chosen, actor="cli", now=datetime.now(UTC)
            )

        result = with_database(job)
    # The API's answer (POST /v1/suppressions/import), so one parser reads both.
    emit_object(
        {
            k: getattr(result, k)
            for k in (
                "inserted",
                "updated",
                "unchanged",
                "duplicates",
                "rejected",
                "rejected_total",
            )
        }
    )
    for bad in result.rejected:
        typer.echo(f"line {bad['line']}: {bad['error']}", err=True)
    if result.rejected_total:
        raise typer.Exit(BAD_INPUT)


def format_of(file: Path | None, given: TransferFormat | None) -> TransferFormat:
    """--format when given, else the file's extension (.ndjson/.jsonl, else CSV)."""
    if given is not None:
        return given
    suffix = file.suffix.lower() if file is not None else ""
    return "ndjson" if suffix in (".ndjson", ".jsonl") else "csv"


@app.command(epilog=EXIT_CODES + " 141: stdout was closed (`| head`).")
def export(
    file: Annotated[
        Path | None, typer.Argument(dir_okay=False, help="default (or -): stdout")
    ] = None,
    fmt: Annotated[
        TransferFormat | None,
        typer.Option("--format", help="csv or ndjson; default: from FILE's extension, else csv"),
    ] = None,
) -> None:
    """Write every active entry as CSV or NDJSON; says how many and where on stderr."""
    from rich.progress import Progress

    from app.suppression import transfer

    if file is not None and str(file) == "-":
        file = None  # "-" is stdout, as for cat, tar or curl -o
    chosen = format_of(file, fmt)
    count = 0
    with Progress(
        console=console(err=True),
        disable=not sys.stderr.isatty() or file is None,
        transient=True,
    ) as progress:
        task = progress.add_task("export", total=None)

        def advance(n: int) -> None:
            nonlocal count
            count += n
            progress.advance(task, n)

        async def job(database: Database) -> None:
            chunks = await transfer.export(
                database, chosen, now=datetime.now(UTC), progress=advance
            )
            # Closed here, whatever stops the writing (a closed pipe): left to asyncio.run's
            # shutdown, the stream would close after the database was disposed, and
            # asyncpg's cancel of the query in flight would find the event loop closed.
            async with aclosing(chunks):
                if file is None:
                    async for chunk in chunks:
                        sys.stdout.write(chunk)
                    sys.stdout.flush()
                    return
                try:
                    out = file.open("w", encoding="utf-8", newline="")
                except OSError as err:
                    # Not the database's fault: bad input, before anything was written.
                    raise fail(f"cannot write {file}: {err.strerror}", BAD_INPUT) from None
                with out:
                    async for chunk in chunks:
                        out.write(chunk)

        with_database(job)
    entries_word = "entry" if count == 1 else "entries"
    say(f"exported {count} {entries_word} as {chosen} to {file if file else 'stdout'}")
