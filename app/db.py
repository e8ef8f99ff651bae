"""The declarative base, the async engine and the sessions that commit or roll back as a unit."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from app import outages
from app.errors import RETRY_SHORTLY
from app.private_files import make_private_dir

# Stable constraint names, so migrations can name what they alter on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both databases.

    SQLite has no time zones and hands back naive values; this stores UTC and
    always returns aware UTC, so comparisons never mix naive and aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for an in-memory database."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.query.get("uri") == "true" and database and database.startswith("file:"):
        # A SQLite URI (app/opening.py's mode=rw): the path is percent-encoded, options follow.
        database = unquote(database.removeprefix("file:").split("?", 1)[0])
        if database.startswith("//"):
            database = database[2:]
    if not database or database == ":memory:":
        return None
    return Path(database)


# Without a statement timeout (the CLI's long imports and migrations), a SQLite writer
# waits this long for another's lock.
SQLITE_BUSY_SECONDS = 30.0


def make_engine(url: str, *, statement_timeout: float | None = None, **kwargs: Any) -> AsyncEngine:
    """The engine for ``url``; ``statement_timeout`` bounds every statement, in seconds.

    On PostgreSQL it is asyncpg's ``command_timeout``: measured by the client, so it also
    ends a statement on a connection gone silent (a host vanished without a reset), which
    would otherwise wait for the kernel's TCP timeout. On SQLite it is the busy timeout,
    how long a writer waits for another's lock.
    """
    # A failed statement's error text (logged with its traceback when a batch or a request
    # fails) then shows the SQL but not its values: addresses, diagnostic codes and the
    # messages themselves stay out of the logs.
    # https://docs.sqlalchemy.org/en/20/core/engines.html#sqlalchemy.create_engine.params.hide_parameters
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        kwargs.setdefault("pool_timeout", 5)
        # A bounded connect, so an unreachable database answers 503 within SNS's 15 s.
        connect_args: dict[str, Any] = {"timeout": 5}
        if statement_timeout is not None:
            connect_args["command_timeout"] = statement_timeout
        kwargs.setdefault("connect_args", connect_args)
        engine = create_async_engine(url, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            _ping_idle_connections(engine)
        return engine

    path = sqlite_path(url)
    if path is not None and make_url(url).query.get("mode") not in ("rw", "ro"):
        # Not for app/opening.py's mode=rw: opening an existing file creates nothing.
        make_private_dir(path.parent, setting="the SQLite database's directory")
    busy = SQLITE_BUSY_SECONDS if statement_timeout is None else statement_timeout
    kwargs.setdefault("connect_args", {"timeout": busy})
    engine = create_async_engine(url, **kwargs)
    _configure_sqlite(engine, busy_seconds=busy)
    return engine


# A pooled connection idle longer than this is pinged before it is used again. SQLAlchemy's
# pool_pre_ping pings on every checkout, which with asyncpg is three round trips (BEGIN,
# an empty query, ROLLBACK): a seventh of a notification's time (bench/README.md). Busy
# connections are proven by their last use; a connection that breaks under load fails
# its request as a database outage (a 503, which SNS retries), and the pool then
# replaces every connection opened before the failure. What the ping is for is the quiet
# stretch: a database restarted or failed over while the pool sat idle.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    # SQLAlchemy's "custom pessimistic ping" recipe: DisconnectionError from a checkout
    # listener makes the pool drop that connection and check out another.
    # https://docs.sqlalchemy.org/en/20/core/pooling.html#disconnect-handling-pessimistic
    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as err:
            raise DisconnectionError(f"pooled connection failed its ping: {err}") from err


def _configure_sqlite(engine: AsyncEngine, *, busy_seconds: float) -> None:
    # pysqlite's implicit BEGIN breaks SAVEPOINT and defers the write lock until the
    # first write, where two writers then fail with "database is locked" instead of
    # waiting. The SQLAlchemy SQLite dialect docs ("Serializable isolation /
    # Savepoints / Transactional DDL") give this recipe: take over BEGIN ourselves.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so concurrent writers queue on
        # busy_timeout rather than deadlocking on a lock upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# Both databases store UTF-8: a lone UTF-16 surrogate (JSON allows "\\ud800") has no UTF-8
# form, and PostgreSQL refuses NUL in text. Either would fail the insert (a 500 that SNS
# retries for an hour, then drops), so each is kept as U+FFFD.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str | None, *, limit: int | None = None) -> str | None:
    """Text both databases accept, within ``limit`` characters when its column has one.

    A signed SNS Message may legally carry \\u0000 or a lone surrogate escape. A value
    longer than its column (only identifiers have one, at several times AWS's longest)
    is clipped deliberately, ending in a marker that says how long it was:
    ``…[truncated: 10000 characters]``. Such a value is not one AWS wrote; keys built from
    it (``activity.event_log.dedupe_key``) use the whole value, so two never merge.
    """
    if text is None:
        return None
    # ASCII holds no surrogate: str.replace is several times faster than the regex on the
    # notification path, where messages run to 256 KiB.
    text = text.replace("\x00", "\ufffd") if text.isascii() else _UNSTORABLE.sub("\ufffd", text)
    if limit is not None and len(text) > limit:
        marker = f"…[truncated: {len(text)} characters]"
        # A column too narrow for the marker (a few characters) takes the first ones only.
        text = text[: limit - len(marker)] + marker if len(marker) < limit else text[:limit]
    return text


def insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_nothing``/``on_conflict_do_update``.

    Idempotency is a unique key plus a conflict-tolerant insert, never read-then-write.
    """
    return dialect_insert(session.get_bind().dialect.name)


def dialect_insert(dialect_name: str) -> Any:
    """``insert_for`` by dialect name, for statements built once per dialect."""
    if dialect_name == "postgresql":
        return postgresql.insert
    if dialect_name == "sqlite":
        return sqlite.insert
    raise ValueError(f"unsupported database dialect {dialect_name}")


def table_of(model: type[Base]) -> Table:
    """A mapped class's Table, for Core statements on the hot path."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


class Database:
    """One engine and its sessionmaker, built once per process (in the app's lifespan)."""

    def __init__(
        self, url: str, *, statement_timeout: float | None = None, **engine_kwargs: Any
    ) -> None:
        self.url = url
        self.engine = make_engine(url, statement_timeout=statement_timeout, **engine_kwargs)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL: one statement needs no BEGIN and COMMIT around it, two round trips
        # of the three a send's suppression check took. SQLite keeps its own BEGIN
        # handling (_configure_sqlite), which an isolation-level switch would undo.
        self._reads = (
            async_sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
            )
            if self.engine.dialect.name == "postgresql"
            else None
        )

    @asynccontextmanager
    async def session(self, *, retry_hint: str = RETRY_SHORTLY) -> AsyncIterator[AsyncSession]:
        """A unit of work: it commits when the block ends and rolls back on error.

        This is bouncer's one database error boundary: an outage anywhere in the block
        (connect, a statement, the commit) leaves it as DatabaseUnavailable (503), whose
        message ends with ``retry_hint`` (who retries, and when).
        """
        with outages.as_unavailable(retry_hint=retry_hint):
            async with self.sessionmaker() as session:
                try:
                    yield session
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise

    @asynccontextmanager
    async def read(self, *, retry_hint: str = RETRY_SHORTLY) -> AsyncIterator[AsyncSession]:
        """A session for one read statement on the hot path (a send's suppression check).

        Each statement sees the database as of its own start; use ``session()`` where
        several reads must agree or anything is written. Outages as ``session()``.
        """
        if self._reads is None:
            async with self.session(retry_hint=retry_hint) as session:
                yield session
            return
        with outages.as_unavailable(retry_hint=retry_hint):
            async with self._reads() as session:
                yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
