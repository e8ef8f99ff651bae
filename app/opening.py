"""Opening the configured database: migrated to head at start (``prepare_database``, for
the service and ``bouncer db upgrade``), or as it is (``open_existing``), never a new one.

Every operator command but ``serve`` and ``db upgrade``, and the in-process ``Sender``,
work on the list that is already there (SPEC §4 Edges). A missing SQLite file, a
mistyped path or a PostgreSQL database without bouncer's schema must not become a new,
empty list: an empty list answers "not suppressed" for everyone.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from urllib.parse import quote

import aiosqlite
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from app import migrate
from app.db import Database, is_sqlite, sqlite_path
from app.errors import StartupError
from app.outages import is_database_outage
from app.private_files import UnsafePath, make_private_dir
from app.settings import Settings

log = logging.getLogger("bouncer")


class DatabaseNotReady(StartupError):
    """The database is missing, unreachable or not at the newest migration (CLI exit 3)."""


def describe(url: str) -> str:
    """The URL to show an operator: no password, a SQLite file by its absolute path."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return parsed.render_as_string(hide_password=True)
    path = sqlite_path(url)
    return f"{parsed.drivername}:///{path.absolute() if path else ':memory:'}"


def no_create_url(url: str) -> str:
    """For a SQLite file, the URL that opens it read-write but never creates it.

    SQLite's ``mode=rw`` URI (https://www.sqlite.org/uri.html) fails with "unable to open
    database file" where a plain path would make a new, empty file: checking first and
    then connecting would leave a window in which the file could go.
    """
    parsed = make_url(url)
    path = sqlite_path(url)
    if parsed.get_backend_name() != "sqlite" or path is None or parsed.query.get("uri"):
        return url
    uri = URL.create(
        parsed.drivername,
        database="file:" + quote(str(path.absolute())),
        query={**parsed.query, "mode": "rw", "uri": "true"},
    )
    return uri.render_as_string(hide_password=False)


def connection_problem(url: str, err: BaseException) -> DatabaseNotReady | None:
    """One line for a failure to reach the database, or None when ``err`` is not one."""
    if not (is_database_outage(err) or isinstance(err, sa_exc.DBAPIError)):
        return None
    cause = getattr(err, "orig", None) or err
    text = " ".join(str(cause).split()) or type(cause).__name__
    return DatabaseNotReady(
        f"cannot reach the database at {describe(url)} ({type(cause).__name__}: {text}): "
        "check DATABASE_URL"
    )


def _missing_file(url: str, path: Path, *, configured: bool) -> DatabaseNotReady | None:
    where = describe(url)
    # Run from another directory, the default ./data is the likely mistake: say so.
    why = "" if configured else " (DATABASE_URL is unset: the default is DATA_DIR/bouncer.db)"
    setting = "DATABASE_URL" if configured else "DATABASE_URL or DATA_DIR"
    if path.is_dir():
        return DatabaseNotReady(f"{where} is a directory, not a SQLite file{why}: check {setting}")
    if not path.exists():
        return DatabaseNotReady(
            f"no database at {where}: the file does not exist{why}. Check {setting}, "
            "or create it with `bouncer db upgrade`"
        )
    return None


async def _sqlite_revision(url: str, path: Path) -> str | None:
    """The file's migration, read through a read-only connection: a file that turns out
    not to be bouncer's is left byte for byte as it was (the engine's connections would
    switch it to WAL first)."""
    uri = "file:" + quote(str(path.absolute())) + "?mode=ro"
    try:
        async with aiosqlite.connect(uri, uri=True) as connection:
            found = await connection.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            )
            if not found:
                return None
            rows = list(
                await connection.execute_fetchall("SELECT version_num FROM alembic_version")
            )
    except sqlite3.Error as err:
        raise DatabaseNotReady(
            f"cannot read {describe(url)} as a SQLite database ({err}): check DATABASE_URL"
        ) from None
    return str(rows[0][0]) if rows else None


async def verify(database: Database, *, configured: bool = True) -> None:
    """Raise DatabaseNotReady unless ``database`` exists and is at the newest migration."""
    url = database.url
    path = sqlite_path(url) if is_sqlite(url) else None
    if path is not None and (problem := _missing_file(url, path, configured=configured)):
        raise problem
    try:
        if path is not None:
            revision = await _sqlite_revision(url, path)
        else:
            revision = await migrate.current_revision(database.engine)
    except Exception as err:
        if problem := connection_problem(url, err):
            raise problem from None
        raise
    head = migrate.head_revision()
    if revision == head:
        return
    if revision is None:
        raise DatabaseNotReady(
            f"the database at {describe(url)} has no bouncer schema: check DATABASE_URL, "
            "or create the schema with `bouncer db upgrade`"
        )
    raise DatabaseNotReady(
        f"the database at {describe(url)} is at migration {revision}, not {head}: "
        "run `bouncer db upgrade` (or use the bouncer that migrated it)"
    )


async def open_existing(url: str, *, configured: bool = True) -> Database:
    """A Database on ``url`` once ``verify`` passes; nothing is created or migrated."""
    database = Database(no_create_url(url))  # engines connect lazily: nothing opened yet
    try:
        await verify(database, configured=configured)
    except BaseException:
        await database.dispose()
        raise
    return database


async def prepare_database(
    settings: Settings, *, statement_timeout: float | None = None
) -> Database:
    """Connect and, with AUTO_MIGRATE, upgrade to head; a failure is one clear line.

    The Database returned bounds each statement by ``statement_timeout`` (the service).
    On PostgreSQL the migration runs on an engine without it, since a migration or the
    wait for another replica's (pg_advisory_lock) may rightly take longer; SQLite's
    migrations wait on a file lock, not on the database, so one engine serves both.
    """
    url = settings.database_url
    try:
        if settings.DATABASE_URL is None:  # the SQLite file under DATA_DIR
            make_private_dir(settings.DATA_DIR, setting="DATA_DIR")
        database = Database(url, statement_timeout=statement_timeout if is_sqlite(url) else None)
    except UnsafePath as err:
        raise StartupError(str(err)) from None
    try:
        if settings.AUTO_MIGRATE:
            await migrate.upgrade_to_head(database.engine)
        elif not await migrate.is_at_head(database.engine):
            raise StartupError(
                "the database schema is not at head and AUTO_MIGRATE=false: "
                "run `bouncer db upgrade` first"
            )
    except StartupError:
        await database.dispose()
        raise
    except Exception as err:
        await database.dispose()
        # A wrong role or database name is a DBAPIError too: one line, not a traceback.
        if problem := connection_problem(settings.database_url, err):
            raise problem from err
        raise
    log.info("database: %s", describe(url))
    if statement_timeout is None or is_sqlite(url):
        return database
    await database.dispose()
    return Database(url, statement_timeout=statement_timeout)
