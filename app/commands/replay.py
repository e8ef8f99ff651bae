"""``bouncer replay FILE``: SES events saved from a queue, taken as the queue consumer takes
them (SPEC §8), with a progress bar and a summary."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from typing import IO, TYPE_CHECKING, Annotated, Literal

import typer

from app.commands.output import console, emit, emit_object, say
from app.commands.running import BAD_INPUT, NO_DATABASE, OK, fail, load_settings, with_database
from app.logs import configure_logging

if TYPE_CHECKING:
    from rich.progress import Progress

    from app.db import Database
    from app.queues.replay import ReplayTally
    from app.settings import Settings

# app.queues.replay's DEFAULT_BATCH and MAX_BATCH, spelled here so `bouncer --help` imports
# no database code; tests/queue_replay holds them equal.
DEFAULT_BATCH, MAX_BATCH = 100, 1000
SummaryFormat = Literal["table", "json"]

EPILOG = (
    "Exit codes: 0 every message took effect or was a duplicate, 2 a message was refused "
    "(or bad options, an unreadable FILE), 3 the database is unreachable or a message must "
    "be tried again later."
)


def register(cli: typer.Typer) -> None:
    cli.command(epilog=EPILOG)(replay)


def replay(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="bodies one a line, SQS messages one a line, or `aws sqs receive-message` "
            "output (indented too); - for standard input",
        ),
    ],
    accept_unsigned: Annotated[
        bool,
        typer.Option(
            "--accept-unsigned",
            help="take bare SES and EventBridge events, which carry no signature "
            "(default: SQS_ACCEPT_UNSIGNED)",
        ),
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=MAX_BATCH, help="messages stored per transaction")
    ] = DEFAULT_BATCH,
    fmt: Annotated[SummaryFormat, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Take SES events saved from a queue (SNS envelopes, bare SES or EventBridge events),
    as `bouncer consume` takes them. Replaying a file twice changes nothing."""
    settings = load_settings()
    stream = _open(file)
    # Warnings and errors only unless LOG_LEVEL says otherwise: the summary tells what
    # each message came to.
    level = settings.LOG_LEVEL if "LOG_LEVEL" in settings.model_fields_set else "WARNING"
    configure_logging(settings.LOG_FORMAT, level, settings.LOG_LEVEL_LIBRARIES)
    try:
        accept = accept_unsigned or settings.SQS_ACCEPT_UNSIGNED
        tally = _run(settings, stream, accept=accept, batch_size=batch_size)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    _print(tally, fmt)
    raise typer.Exit(_verdict(tally, file, settings, _same_options(accept, batch_size, fmt)))


def _open(file: str) -> IO[bytes]:
    if file == "-":
        if sys.stdin.isatty():  # nothing piped in: say what it waits for
            say("reading SES events from standard input; end it with Ctrl-D")
        return sys.stdin.buffer
    try:
        return open(file, "rb")  # closed by the caller, once replayed
    except OSError as err:
        raise fail(f"cannot read {file}: {err.strerror or err}", BAD_INPUT) from None


def _run(settings: Settings, stream: IO[bytes], *, accept: bool, batch_size: int) -> ReplayTally:
    from rich.progress import Progress

    # On stderr: stdout carries the summary (and rich's default console is stdout).
    bar = console(err=True)
    with Progress(console=bar, disable=not sys.stderr.isatty(), transient=True) as progress:
        return with_database(lambda db: _replay(db, settings, stream, progress, accept, batch_size))


async def _replay(
    database: Database,
    settings: Settings,
    stream: IO[bytes],
    progress: Progress,
    accept: bool,
    batch_size: int,
) -> ReplayTally:
    from app.queues.replay import replay
    from app.queues.replay_lines import ReplayFile
    from app.services import Edges, build_queue_ingest, build_subscribing

    reader = ReplayFile(stream)
    task = progress.add_task("replay", total=_size(stream))
    edges = Edges()  # the real world: certificates, SubscribeURLs, SNS
    async with edges.http_client() as http:
        subscribing = build_subscribing(settings, database, http, edges)
        ingest = build_queue_ingest(
            settings, database, http, subscribing, edges, accept_unsigned=accept
        )
        return await replay(
            reader,
            ingest,
            batch_size=batch_size,
            on_batch=lambda _: progress.update(task, completed=reader.position),
        )


def _size(stream: IO[bytes]) -> int | None:
    """The file's size for the progress bar; None for a pipe (no end known)."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _print(tally: ReplayTally, fmt: SummaryFormat) -> None:
    from app.queues.replay import STATUSES

    summary = tally.summary()
    if fmt == "json":
        emit_object(summary)
        return
    rows: list[dict[str, object]] = [{"outcome": s, "count": summary[s]} for s in STATUSES]
    rows[-1:-1] = [
        {"outcome": f"  refused: {cause}", "count": n}
        for cause, n in summary["refused_by_cause"].items()
    ]
    emit(rows, ("outcome", "count"), "table")
    problems = [
        {"where": p.where, "status": p.status, "cause": p.cause, "reason": p.reason}
        for p in (*tally.refused, *tally.retry)
    ]
    if problems:
        emit(problems, ("where", "status", "cause", "reason"), "table")


def _same_options(accept: bool, batch_size: int, fmt: SummaryFormat) -> list[str]:
    """The options to continue with: without --accept-unsigned the rest of a file of
    unsigned events would all be refused."""
    options = ["--accept-unsigned"] if accept else []
    if batch_size != DEFAULT_BATCH:
        options += ["--batch-size", str(batch_size)]
    if fmt != "table":
        options += ["--format", fmt]
    return options


def _verdict(tally: ReplayTally, file: str, settings: Settings, options: list[str]) -> int:
    """The exit code, saying on stderr what is left to do (``options``: to do it with)."""
    from app import opening

    if tally.stopped is not None:
        at, error = tally.stopped.at, tally.stopped.error
        problem = opening.connection_problem(settings.database_url, error.__cause__ or error)
        done = tally.total - tally.counts["refused"] - tally.counts["retry"]
        again = shlex.join(["bouncer", "replay", "-", *options])
        tail = f" (`tail -n +{at.line} {shlex.quote(file)} | {again}`)"
        shown = at.index is None and file != "-"
        same = f" Give the same options: {shlex.join(options)}." if options and not shown else ""
        raise fail(
            f"{problem or tally.summary()['stopped']['error']}. Stopped at {at.where}: "
            f"everything before it is taken ({done} stored or duplicate), nothing from it "
            f"on. Replay the input from {at.where} on to continue{tail if shown else ''}, "
            f"or the whole input again: what is stored counts as duplicate.{same}",
            NO_DATABASE,
        )
    if tally.counts["refused"]:
        say(
            f"error: {tally.counts['refused']} message(s) refused (the first are named in "
            "the summary); the others took effect"
        )
    if tally.counts["retry"]:
        first = tally.retry[0]
        say(
            f"error: {tally.counts['retry']} message(s) could not be taken now and were "
            f"left out (first: {first.where}: {first.reason}); they are not refused: "
            "replay the input again later"
        )
        return NO_DATABASE
    return BAD_INPUT if tally.counts["refused"] else OK
