"""Running one CLI job on the configured database, with exit codes scripts can trust.

Imported to build ``bouncer --help``: the database, settings and service modules are
imported inside the functions that run a job, so help needs none of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import typer

from app import moments
from app.commands.output import say, stdout_closed
from app.errors import DatabaseUnavailable, InvalidInput, StartupError, Unavailable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.db import Database
    from app.settings import Settings

T = TypeVar("T")

OK, FOUND, BAD_INPUT, NO_DATABASE = 0, 1, 2, 3
EXIT_CODES = "Exit codes: 0 ok, 2 bad input, 3 database unreachable or not migrated."


def fail(message: str, code: int) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def load_settings() -> Settings:
    """The settings, or exit 2 with one line naming each bad one: exit 1 would read as
    "suppressed" to a script running `bouncer suppressions check`."""
    from pydantic import ValidationError

    from app.settings import describe_settings_error, get_settings

    try:
        return get_settings()
    except ValidationError as err:
        raise fail(describe_settings_error(err), BAD_INPUT) from None


def with_database(job: Callable[[Database], Awaitable[T]]) -> T:
    """Open the existing, migrated database (never create or migrate one: SPEC §4
    Edges), say which on stderr, run ``job``, and map failures to exit codes."""
    import asyncio

    from app import opening

    settings = load_settings()
    url = settings.database_url

    async def main() -> T:
        database = await opening.open_existing(url, configured=bool(settings.DATABASE_URL))
        say(f"database: {opening.describe(url)}")
        try:
            return await job(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except StartupError as err:
        raise fail(str(err), NO_DATABASE) from None
    except BrokenPipeError:
        raise stdout_closed() from None
    except InvalidInput as err:
        raise fail(err.message, BAD_INPUT) from None
    except DatabaseUnavailable as err:
        # The sessions' boundary (app.db) said so; the line names the database and the
        # setting to check, as a failure to open it does.
        problem = opening.connection_problem(url, err.__cause__ or err)
        raise fail(str(problem or err.message), NO_DATABASE) from None
    except Unavailable as err:  # an import cut short says what is stored; entries contended
        raise fail(err.message, NO_DATABASE) from None


def with_session(job: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``with_database`` in one session that commits when ``job`` returns."""

    async def in_session(database: Database) -> T:
        async with database.session() as session:
            return await job(session)

    return with_database(in_session)


def parse_date(text: str | None, *, field: str) -> datetime | None:
    """An ISO 8601 date or time as aware UTC; without an offset it is UTC (SPEC §4 Edges)."""
    if text is None:
        return None
    try:
        return moments.parse_moment(text)
    except ValueError as err:
        raise fail(f"--{field.replace('_', '-')}: {err}", BAD_INPUT) from err
