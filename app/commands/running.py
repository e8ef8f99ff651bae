"""Running one CLI job on the configured database, with exit codes scripts can trust."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app import moments, opening
from app.api.middleware import StartupError
from app.commands.output import say, stdout_closed
from app.db import Database
from app.errors import InvalidInput
from app.outages import is_database_outage
from app.settings import Settings, describe_settings_error, get_settings

T = TypeVar("T")

OK, FOUND, BAD_INPUT, NO_DATABASE = 0, 1, 2, 3
EXIT_CODES = "Exit codes: 0 ok, 2 bad input, 3 database unreachable or not migrated."


def fail(message: str, code: int) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def load_settings() -> Settings:
    """The settings, or exit 2 with one line naming each bad one: exit 1 would read as
    "suppressed" to a script running `bouncer suppressions check`."""
    try:
        return get_settings()
    except ValidationError as err:
        raise fail(describe_settings_error(err), BAD_INPUT) from None


def with_database(job: Callable[[Database], Awaitable[T]]) -> T:
    """Open the existing, migrated database (never create or migrate one: SPEC §4
    Edges), say which on stderr, run ``job``, and map failures to exit codes."""
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
    except Exception as err:
        if is_database_outage(err):
            problem = opening.connection_problem(url, err)
            raise fail(str(problem or err), NO_DATABASE) from None
        raise


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
