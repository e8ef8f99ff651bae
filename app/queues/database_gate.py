"""Whether the consumer may receive: closed once the database fails a batch, or a check
made while the queues are quiet finds it failing; open again when a check finds it
answering (and its schema at head).

While it is closed nothing is received, so an outage does not spend the receive counts
of messages still waiting: each receive counts towards the redrive policy's
maxReceiveCount, after which SQS moves a message to the dead-letter queue.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from app import migrate
from app.db import Database
from app.errors import RETRY_SHORTLY, DatabaseUnavailable
from app.outages import as_unavailable
from app.queues.retry_delays import RetryDelays

log = logging.getLogger("bouncer.consume")

# What a check says: None when the database answers at head, else why not.
Check = Callable[[], Awaitable[str | None]]
CHECK_TIMEOUT_SECONDS = 10.0
# While no message arrives no batch can fail, so the database is checked on an empty
# receive, at most this often: /readyz then says "not ready" within about this long of an
# outage, a quiet night included (SPEC §8), for one cheap query per interval.
IDLE_CHECK_SECONDS = 15.0


async def check_database(database: Database) -> str | None:
    """None when ``database`` answers and its schema is at head; else what is wrong."""
    try:
        with as_unavailable(retry_hint=RETRY_SHORTLY):
            # Bounded: a connection gone silent (a host vanished) would wait for TCP.
            current = await asyncio.wait_for(
                migrate.current_revision(database.engine), CHECK_TIMEOUT_SECONDS
            )
    except DatabaseUnavailable as err:
        return err.what_failed
    head = migrate.head_revision()
    if current != head:
        return (
            f"the database's schema is at {current or 'nothing'}, not {head}: "
            "run `bouncer db upgrade`"
        )
    return None


class DatabaseGate:
    def __init__(
        self, check: Check, delays: RetryDelays, *, idle_check_seconds: float = IDLE_CHECK_SECONDS
    ) -> None:
        self._check = check
        self._delays = delays
        self._idle_check_seconds = idle_check_seconds
        # The loop's time of the last check made while open; None: none yet.
        self._checked_at: float | None = None
        self._open = asyncio.Event()
        self._open.set()
        self.reason: str | None = None
        self._recovery: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    async def wait_open(self) -> None:
        await self._open.wait()

    async def check_while_idle(self) -> None:
        """After an empty receive: check the database if the last check is older than the
        interval (one check at a time, whichever queue comes first), and close the gate if
        it fails. Closed, the recovery checks it already."""
        now = asyncio.get_running_loop().time()
        due = self._checked_at is None or now - self._checked_at >= self._idle_check_seconds
        if not self.is_open or not due:
            return
        self._checked_at = now  # before awaiting: the other pollers skip this round
        reason = await self._check()
        if reason is not None and self.is_open:
            self.close(reason, lost="checked while the queues are quiet (nothing in hand)")

    def close(self, reason: str, *, lost: str) -> None:
        """The database failed: ``lost`` says what stays on the queue. One log line."""
        if not self._open.is_set():
            log.warning("%s: %s (the database is still unavailable)", lost, reason)
            return
        self._open.clear()
        self.reason = reason
        delay = self._delays.next()
        log.error(
            "%s: %s. Receiving is paused; the database is checked again in %.1f s "
            "(SQS delivers the messages again after their visibility timeout)",
            lost,
            reason,
            delay,
        )
        self._recovery = asyncio.create_task(self._recover(delay), name="database check")

    async def _recover(self, delay: float) -> None:
        while True:
            await asyncio.sleep(delay)
            reason = await self._check()
            if reason is None:
                break
            self.reason = reason
            delay = self._delays.next()
            log.warning("%s: checked again in %.1f s", reason, delay)
        self._delays.reset()
        self.reason = None
        self._checked_at = asyncio.get_running_loop().time()
        self._open.set()
        log.info("the database answers again: receiving")

    async def stop(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
