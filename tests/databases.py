"""Throw-away test databases: a migrated template per run, a fresh copy per test.

SQLite copies a migrated file; PostgreSQL clones a migrated template database
(CREATE DATABASE … TEMPLATE, ~50 ms) and drops it afterwards off the tests' path
(Dropper: DROP DATABASE waits for a checkpoint). Each test thus sees real commits, real
separate connections (for concurrency and outage tests) and nothing left over
from any other test. The template is built by `alembic upgrade head`, so every
run exercises the migrations.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.db import Database
from app.migrate import upgrade_to_head
from app.models import Base
from app.settings import normalize_database_url

T = TypeVar("T")


# One thread for the whole run, not one per call: a thread that dies after SQLAlchemy ran
# greenlets in it leaves greenlet to tear its state down later from another thread, and
# that teardown once spun for ever in a test (greenlet 3.5, under pytest-xdist). A thread
# that lives on is never torn down, and costs no thread start per call.
_ISOLATED = ThreadPoolExecutor(1, thread_name_prefix="isolated-loop")


def run_isolated(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on its own loop in a thread of its own (safe inside pytest-asyncio).
    Calls queue for that one thread: a coroutine run here must not call run_isolated."""
    return _ISOLATED.submit(lambda: asyncio.run(_await(make))).result()


async def _await(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


async def execute(url: str, statement: str) -> None:
    """One committed statement on the database at ``url`` (to set up a broken state)."""
    database = Database(url)
    try:
        async with database.session() as session:
            await session.execute(text(statement))
    finally:
        await database.dispose()


async def count_rows(url: str, model: type[Base]) -> int:
    """How many rows ``model``'s table holds, read on a connection of its own."""
    database = Database(url)
    try:
        async with database.session() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await database.dispose()


def server_url() -> str | None:
    """TEST_DATABASE_URL names a PostgreSQL server (any database on it) to test against."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    return normalize_database_url(url) if url else None


async def migrate(url: str) -> None:
    database = Database(url)
    try:
        await upgrade_to_head(database.engine)
    finally:
        await database.dispose()


class PostgresServer:
    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.prefix = f"bouncer_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    async def _admin(self, *statements: str) -> None:
        connection = await asyncpg.connect(
            host=self.url.host,
            port=self.url.port or 5432,
            user=self.url.username,
            password=self.url.password,
            database=self.url.database or "postgres",
        )
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    def create(self, name: str, *, template: str | None = None) -> str:
        clause = f" TEMPLATE {template}" if template else ""
        run_isolated(lambda: self._admin(f'CREATE DATABASE "{name}"{clause}'))
        return self.url_for(name)

    def drop(self, *names: str) -> None:
        """Drop ``names`` at once, each on a connection of its own: PostgreSQL ends every
        DROP DATABASE with a checkpoint it waits for, and drops waiting together share one."""
        run_isolated(lambda: self.drop_all(names))

    async def drop_all(self, names: tuple[str, ...]) -> None:
        await asyncio.gather(
            *(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)') for name in names)
        )


class Dropper:
    """Drops released databases off the tests' path: in a thread of its own, a batch at a
    time. A test's teardown thus never waits for PostgreSQL's checkpoint; at most BATCH
    released databases (a few MB each) wait on disk for their turn."""

    BATCH = 8

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self._waiting: list[str] = []
        self._thread = ThreadPoolExecutor(1)
        self._batches: list[Future[None]] = []

    def drop(self, name: str) -> None:
        self._waiting.append(name)
        if len(self._waiting) >= self.BATCH:
            self._send()

    def _send(self) -> None:
        names, self._waiting = tuple(self._waiting), []
        for batch in [b for b in self._batches if b.done()]:
            batch.result()  # a failed drop stops the run at the next batch, not only at the end
            self._batches.remove(batch)
        if names:
            # Its own loop in its own thread: queued behind run_isolated, the drops would
            # hold up the next test's CREATE DATABASE.
            drop = self.server.drop_all
            self._batches.append(self._thread.submit(lambda: asyncio.run(drop(names))))

    def close(self) -> None:
        """Drop what is left and wait for every batch; a batch that failed raises here."""
        self._send()
        self._thread.shutdown(wait=True)
        for batch in self._batches:
            batch.result()


class DatabaseFactory:
    """Hands out fresh, migrated databases on SQLite or PostgreSQL."""

    def __init__(self, root: Path) -> None:
        self.root = root
        url = server_url()
        self.server = PostgresServer(url) if url else None
        self.dropper = Dropper(self.server) if self.server else None
        self.backend = "postgresql" if self.server else "sqlite"
        self._template: str | None = None
        self._made: list[str] = []
        self._count = itertools.count()

    def _build_template(self) -> str:
        if self.server is None:
            path = self.root / "template.db"
            run_isolated(lambda: migrate(f"sqlite+aiosqlite:///{path}"))
            return str(path)
        name = f"{self.server.prefix}_tmpl"
        url = self.server.create(name)
        run_isolated(lambda: migrate(url))
        return name

    def fresh(self, *, migrated: bool = True) -> str:
        """A new database URL: migrated (a template copy) or empty."""
        n = next(self._count)
        if self.server is None:
            path = self.root / f"db{n}" / "bouncer.db"
            path.parent.mkdir(parents=True)
            if migrated:
                self._template = self._template or self._build_template()
                shutil.copyfile(self._template, path)
            return f"sqlite+aiosqlite:///{path}"
        name = f"{self.server.prefix}_{n}"
        if migrated:
            self._template = self._template or self._build_template()
        url = self.server.create(name, template=self._template if migrated else None)
        self._made.append(name)
        return url

    def release(self, url: str) -> None:
        if self.dropper is not None:
            name = make_url(url).database
            if name in self._made:
                self.dropper.drop(name)
                self._made.remove(name)

    def close(self) -> None:
        if self.server is not None and self.dropper is not None:
            self.dropper.close()
            self.server.drop(*[name for name in [*self._made, self._template] if name])
