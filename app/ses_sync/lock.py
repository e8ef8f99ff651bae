"""One sync pass at a time across every replica sharing the database (SPEC §7).

PostgreSQL: a session-level advisory lock held by a connection of the pass's own for the
whole pass; SQLite: a file lock beside the database file, as app.migrate takes for
migrations. Either is released when its holder dies, so a crashed replica never blocks
the others for long. Waiting polls the non-blocking form: a blocking
``pg_advisory_lock`` would outlive the service's statement timeout, and a blocking file
lock the event loop.

The advisory lock also goes when only its connection does (idle_session_timeout, a
proxy's idle cut, an operator's pg_terminate_backend) while the pass runs on. So on
PostgreSQL the pass also holds a lease (ses_sync_lease), renewed every RENEW_EVERY: a
replica that gets the advisory lock while another's lease is fresh stays off, and the
pass itself checks its lock (``check``) before each region and each write phase and
stops there when it is gone. A crashed replica's lease goes stale after LEASE_FRESH_FOR.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from filelock import FileLock, Timeout
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from app import outages
from app.db import Database, sqlite_path
from app.errors import BouncerError, SyncBusy
from app.suppression import ses_lease_store

log = logging.getLogger("bouncer.ses_sync")

# pg_advisory_lock key shared by every bouncer process: "ses-sync" in ASCII (app.migrate
# holds another). pg_locks shows a bigint key as classid (high half), objid (low half)
# and objsubid 1: https://www.postgresql.org/docs/current/view-pg-locks.html
_PG_LOCK_KEY = 0x7365732D73796E63
_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1)"
)
RENEW_EVERY = 5.0  # seconds
LEASE_FRESH_FOR = timedelta(seconds=30)
_BUSY = "a pass over SES's suppression list is already running; try again when it ends"
_RETRY_HINT = "the sync pass did not start; retry"
_LOST = (
    "the sync pass lost its database lock (its connection dropped) and stopped here, so "
    "that no two passes run at once; the next pass carries on"
)


class LockLost(Exception):
    """The pass's advisory lock is gone: it must stop before its next write."""

    def __init__(self) -> None:
        super().__init__(_LOST)
        self.message = _LOST


class PassLock:
    def __init__(self, database: Database, *, poll_seconds: float = 0.5) -> None:
        self.database = database
        self.poll_seconds = poll_seconds
        self._local = asyncio.Lock()  # this process's passes queue here first
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._connection: AsyncConnection | None = None  # the advisory lock's, while held

    @asynccontextmanager
    async def held(self, *, wait: bool) -> AsyncIterator[None]:
        """Held for the block; SyncBusy at once when another pass runs and not ``wait``."""
        if not wait and self._local.locked():
            raise SyncBusy(_BUSY)
        async with self._local:
            if self.database.engine.dialect.name == "postgresql":
                async with self._advisory(wait=wait), self._lease(wait=wait):
                    yield
            else:
                async with self._file(wait=wait):
                    yield

    async def check(self) -> None:
        """LockLost when the advisory lock is no longer held (a file lock cannot be lost)."""
        if self._connection is None:
            return
        high, low = _PG_LOCK_KEY >> 32, _PG_LOCK_KEY & 0xFFFFFFFF
        try:
            held = await self._connection.scalar(_HELD, {"high": high, "low": low})
        except (SQLAlchemyError, OSError) as err:
            log.warning("SES sync: the lock's connection is gone (%s)", err)
            held = False
        if not held:
            raise LockLost

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
            self._connection = connection
            try:
                yield
            finally:
                self._connection = None
                await _unlock(connection)
        finally:
            await connection.close()

    @asynccontextmanager
    async def _lease(self, *, wait: bool) -> AsyncIterator[None]:
        while (other := await self._take_lease()) is not None:
            # Its advisory lock went with its connection, and its pass still runs.
            log.info("SES sync: %s's pass still runs (its lease is fresh)", other)
            if not wait:
                raise SyncBusy(_BUSY)
            await asyncio.sleep(self.poll_seconds)
        renewing = asyncio.create_task(self._renew(), name="ses-sync-lease")
        try:
            yield
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            try:
                async with self.database.session() as session:
                    await ses_lease_store.drop(session, self._holder)
            except BouncerError as err:  # stale after LEASE_FRESH_FOR all the same
                log.warning("SES sync: could not drop the pass's lease: %s", err.message)

    async def _take_lease(self) -> str | None:
        async with self.database.session(retry_hint=_RETRY_HINT) as session:
            return await ses_lease_store.take(session, self._holder, fresh_for=LEASE_FRESH_FOR)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                async with self.database.session() as session:
                    if not await ses_lease_store.renew(session, self._holder):
                        log.warning("SES sync: the pass's lease was taken over")
            except BouncerError as err:  # the next turn may get through
                log.warning("SES sync: could not renew the pass's lease: %s", err.message)

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
        log.warning("SES sync: could not release the lock (%s); dropping its connection", err)
        await connection.invalidate()
