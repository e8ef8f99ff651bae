"""One sync pass at a time across every replica sharing the database (SPEC §7).

PostgreSQL: a session-level advisory lock held by a connection of the pass's own for the
whole pass; SQLite: a file lock beside the database file, as app.migrate takes for
migrations. Either is released when its holder dies, so a crashed replica never blocks
the others. Waiting polls the non-blocking form: a blocking ``pg_advisory_lock`` would
outlive the service's statement timeout, and a blocking file lock the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from filelock import FileLock, Timeout
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import outages
from app.db import Database, sqlite_path
from app.errors import SyncBusy

log = logging.getLogger("bouncer.ses_sync")

# pg_advisory_lock key shared by every bouncer process: "ses-sync" in ASCII (app.migrate
# holds another).
_PG_LOCK_KEY = 0x7365732D73796E63
_BUSY = "a pass over SES's suppression list is already running; try again when it ends"
_RETRY_HINT = "the sync pass did not start; retry"


class PassLock:
    def __init__(self, database: Database, *, poll_seconds: float = 0.5) -> None:
        self.database = database
        self.poll_seconds = poll_seconds
        self._local = asyncio.Lock()  # this process's passes queue here first

    @asynccontextmanager
    async def held(self, *, wait: bool) -> AsyncIterator[None]:
        """Held for the block; SyncBusy at once when another pass runs and not ``wait``."""
        if not wait and self._local.locked():
            raise SyncBusy(_BUSY)
        async with self._local:
            if self.database.engine.dialect.name == "postgresql":
                async with self._advisory(wait=wait):
                    yield
            else:
                async with self._file(wait=wait):
                    yield

    @asynccontextmanager
    async def _advisory(self, *, wait: bool) -> AsyncIterator[None]:
        with outages.as_unavailable(retry_hint=_RETRY_HINT):
            connection = await self.database.engine.connect()
        try:
            with outages.as_unavailable(retry_hint=_RETRY_HINT):
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                while not await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": _PG_LOCK_KEY}
                ):
                    if not wait:
                        raise SyncBusy(_BUSY)
                    await asyncio.sleep(self.poll_seconds)
            try:
                yield
            finally:
                await _unlock(connection)
        finally:
            await connection.close()

    @asynccontextmanager
    async def _file(self, *, wait: bool) -> AsyncIterator[None]:
        path = sqlite_path(self.database.url)
        if path is None:  # an in-memory database lives in this process only
            yield
            return
        lock = FileLock(f"{path}.ses-sync.lock", mode=0o600)
        while True:
            try:
                # Non-blocking, on the loop's thread: FileLock's state is per thread.
                lock.acquire(timeout=0)
                break
            except Timeout:
                if not wait:
                    raise SyncBusy(_BUSY) from None
                await asyncio.sleep(self.poll_seconds)
        try:
            yield
        finally:
            lock.release()


async def _unlock(connection: AsyncConnection) -> None:
    try:
        await connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
    except Exception as err:  # the connection broke: the server dropped its locks with it
        log.warning("could not release the SES sync lock (%s); dropping its connection", err)
        await connection.invalidate()
