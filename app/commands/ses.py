"""``bouncer ses sync|drift``: bouncer's list and SES's account-level suppression list (SPEC §7)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from app.commands.output import FormatOption, console, emit
from app.commands.running import fail, load_settings, with_database
from app.errors import BouncerError, DatabaseUnavailable, InvalidInput
from app.logs import configure_logging

if TYPE_CHECKING:
    from app.db import Database
    from app.ses_sync import PassReport, RegionDrift
    from app.settings import Settings

app = typer.Typer(help="SES's account-level suppression list: sync it, measure the drift.")

# SES (AWS's answer, or no answer) stopped a region or an item: not the input, not the
# database. As `bouncer subscriptions confirm` exits when SNS does not confirm.
SES_FAILED = 4
EXIT_CODES = (
    "Exit codes: 0 done, 2 bad input, 3 database unreachable or not migrated, "
    f"{SES_FAILED} SES could not be reached or refused a change (the next pass retries it)."
)

DirectionOption = Annotated[
    Literal["pull", "push", "both"] | None,
    typer.Option(
        "--direction",
        help="pull: SES's list into bouncer; push: bouncer's bounces and complaints (and "
        "removals) into SES; both. Default: SES_SYNC's, pull when it is off.",
    ),
]
RegionOption = Annotated[
    list[str] | None,
    typer.Option("--region", help="only this region of SES_SYNC_REGIONS (repeatable)"),
]

_REPORT_COLUMNS = ("region", "pulled", "pushed", "deleted", "noted", "failed", "error")
_DRIFT_COLUMNS = ("region", "only_in_bouncer", "only_in_ses", "reason_differs", "checked_at")
_SAMPLE_COLUMNS = ("region", "email", "kind", "bouncer_reason", "ses_reason")


@app.command(epilog=EXIT_CODES)
def sync(
    direction: DirectionOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="read and plan only: print what would change")
    ] = False,
    region: RegionOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Run one sync pass now, whatever SES_SYNC says (an operator's explicit act), and
    print what it changed (or, with --dry-run, would change)."""
    settings = load_settings()
    configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL, settings.LOG_LEVEL_LIBRARIES)
    from app.services import build_ses_sync
    from app.suppression.ses_plan import Direction

    chosen = Direction(direction) if direction is not None else None

    async def job(database: Database) -> PassReport:
        ses_sync = build_ses_sync(settings, database)
        with _progress() as on_progress:
            return await ses_sync.run_pass(
                direction=chosen, regions=region, dry_run=dry_run, on_progress=on_progress
            )

    report = _run(job)
    rows = [_report_row(one.as_dict()) for one in report.regions]
    emit(rows, _REPORT_COLUMNS, fmt)
    if dry_run and fmt == "table":
        for one in report.regions:
            if one.plan is not None:
                _say_plan(one.region, one.plan)
    if any(row["failed"] or row["error"] for row in rows):
        raise typer.Exit(SES_FAILED)


@app.command(epilog=EXIT_CODES)
def drift(region: RegionOption = None, fmt: FormatOption = "table") -> None:
    """How far bouncer's list and SES's have drifted apart, per region (SES's list read
    now): entries only bouncer holds, only SES holds, and reasons that differ."""
    settings = load_settings()
    configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL, settings.LOG_LEVEL_LIBRARIES)
    from app.services import build_ses_sync

    async def job(database: Database) -> list[RegionDrift]:
        return await build_ses_sync(settings, database).drift(regions=region)

    found = [one.as_dict() for one in _run(job)]
    if fmt == "json":
        emit(found, (*_DRIFT_COLUMNS, "samples"), fmt)
        return
    emit([{c: one[c] for c in _DRIFT_COLUMNS} for one in found], _DRIFT_COLUMNS, fmt)
    samples = [{"region": one["region"], **s} for one in found for s in one["samples"]]
    if samples:
        emit(samples, _SAMPLE_COLUMNS, fmt)


def _run(job: Any) -> Any:
    """with_database, with SES's failures as exit 4 in words; bad input stays exit 2."""
    from app.errors import SesListUnavailable

    async def guarded(database: Database) -> Any:
        try:
            return await job(database)
        except (DatabaseUnavailable, InvalidInput):
            raise
        except SesListUnavailable as err:
            return err
        except BouncerError as err:  # another pass holds the lock past its wait, …
            return err

    result = with_database(guarded)
    if isinstance(result, BouncerError):
        raise fail(result.message, SES_FAILED)
    return result


def _report_row(row: dict[str, Any]) -> dict[str, Any]:
    return {column: row.get(column) for column in _REPORT_COLUMNS}


def _say_plan(region: str, plan: Any) -> None:
    err = console(err=True)
    lines = [
        ("pull", [p.email for p in plan.pull]),
        ("note", [n.email for n in plan.note]),
        ("put", [p.email for p in plan.put]),
        ("delete", [d.email for d in plan.delete]),
    ]
    for verb, emails in lines:
        if emails:
            shown = ", ".join(emails[:10]) + (
                f" … ({len(emails)} in all)" if len(emails) > 10 else ""
            )
            err.print(f"{region}: would {verb} {shown}", markup=False, highlight=False)


class _progress:
    """A progress line on stderr, on a terminal only: region, stage, count."""

    def __enter__(self) -> Any:
        if not sys.stderr.isatty():
            return None
        from rich.progress import Progress

        self._bar = Progress(console=console(err=True), transient=True)
        self._bar.__enter__()
        tasks: dict[tuple[str, str], Any] = {}

        def on_progress(region: str, stage: str, count: int) -> None:
            key = (region, stage)
            if key not in tasks:
                tasks[key] = self._bar.add_task(f"{region}: {stage}", total=None)
            # ``count`` is the advance (a page's entries, one delete), not a total.
            self._bar.advance(tasks[key], count)

        return on_progress

    def __exit__(self, *exc: object) -> None:
        if getattr(self, "_bar", None) is not None:
            self._bar.__exit__(None, None, None)


async def delete_from_ses(settings: Settings, database: Database, email: str) -> list[str]:
    """The removal, just committed, deleted from SES's list at once; what went wrong."""
    from app.errors import BouncerError
    from app.services import build_ses_sync

    try:
        reports = await build_ses_sync(settings, database).delete_removed(email)
    except BouncerError as err:  # the removal stands: only SES's delete waits
        return [f"could not delete {email} from SES's list now: {err.message}"]
    return [
        f"could not delete {email} from SES's list in {one.region} now: {one.error}"
        for one in reports
        if one.error is not None
    ]
