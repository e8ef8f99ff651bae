"""`bouncer consume` from start to exit: the database opened (never created), the health
endpoints, the consumer, and SIGTERM or SIGINT ending it all within SQS_WAIT_SECONDS + 10 s.

The bound holds whatever hangs: the batches in hand are cancelled at a deadline a few
seconds short of it, and a watchdog thread ends the process at the bound should anything
still hold it (a driver's thread stuck on a dead database). Nothing is lost either way:
a message is deleted only after its batch committed, and SQS delivers the rest again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app import opening
from app.db import Database
from app.ingest import QueueIngest
from app.outages import is_database_outage
from app.queues.batches import BatchTaker
from app.queues.consumer import ConsumeOptions, Consumer
from app.queues.database_gate import DatabaseGate, check_database
from app.queues.health import HealthServer
from app.queues.retry_delays import RetryDelays
from app.sqs.queue_client import QueueClient

log = logging.getLogger("bouncer.consume")

# Of SQS_WAIT_SECONDS + 10 s: the batches in hand get all but the last few, which are left
# for closing the database and the interpreter's own exit.
_CLOSING_SECONDS = 4.0
_WATCHDOG_MARGIN = 1.0


class HealthUnavailable(Exception):
    """The health endpoints cannot listen where asked (the port taken, say)."""


@dataclass(frozen=True)
class ConsumerSetup:
    database_url: str
    # DATABASE_URL was set (else the default file under DATA_DIR: said in the error).
    configured: bool
    statement_timeout: float
    queues: Sequence[QueueClient]
    options: ConsumeOptions
    delete_refused: bool
    health: tuple[str, int] | None

    @property
    def grace(self) -> float:
        """SPEC §8: from SIGTERM to exit, at most SQS_WAIT_SECONDS + 10 s."""
        return self.options.wait_seconds + 10.0


async def open_database(setup: ConsumerSetup) -> tuple[Database, str | None]:
    """The existing database, and why it cannot be used yet (None: it can).

    Missing, not bouncer's or not migrated: DatabaseNotReady (exit 3), as for every
    command. Unreachable: the consumer starts all the same and waits for it (SPEC §8).
    """
    reason: str | None = None
    try:
        checked = await opening.open_existing(setup.database_url, configured=setup.configured)
    except opening.DatabaseNotReady as err:
        # open_existing words the driver's failure; the failure itself is its context.
        if err.__context__ is None or not is_database_outage(err.__context__):
            raise
        reason = str(err)
    else:
        await checked.dispose()
    # Statements bounded as the service bounds them: a connection gone silent mid-batch
    # fails the batch rather than holding its messages until the visibility timeout.
    url = opening.no_create_url(setup.database_url)
    return Database(url, statement_timeout=setup.statement_timeout), reason


class Stopping:
    """SIGTERM or SIGINT: the deadline for the batches in hand, and the watchdog. A second
    signal exits at once: nothing is deleted before it is stored, so nothing is lost."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.requested = asyncio.Event()
        self.deadline = 0.0

    def on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self.requested.is_set():
            _exit_now(f"a second {name}")
        self.deadline = asyncio.get_running_loop().time() + self.grace - _CLOSING_SECONDS
        log.info("%s: stopping (within %.0f s)", name, self.grace)
        seconds = self.grace - _WATCHDOG_MARGIN
        watchdog = threading.Timer(
            max(0.0, seconds), _exit_now, [f"stopping took longer than {seconds:.0f} s"]
        )
        watchdog.daemon = True
        watchdog.start()
        self.requested.set()


async def consume(setup: ConsumerSetup, make_ingest: Callable[[Database], QueueIngest]) -> int:
    """Run until SIGTERM or SIGINT; the exit code (0). Raises DatabaseNotReady (a missing
    or unmigrated database) and HealthUnavailable before consuming anything."""
    loop = asyncio.get_running_loop()
    stopping = Stopping(setup.grace)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.on_signal, signum)
    try:
        database, reason = await open_database(setup)
        try:
            await _consume(setup, make_ingest(database), database, reason, stopping)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(database.dispose(), _CLOSING_SECONDS / 2)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped")
    return 0


async def _consume(
    setup: ConsumerSetup,
    ingest: QueueIngest,
    database: Database,
    reason: str | None,
    stopping: Stopping,
) -> None:
    log.info("database: %s", opening.describe(setup.database_url))
    delays = RetryDelays(setup.options.first_delay, setup.options.max_delay)
    gate = DatabaseGate(lambda: check_database(database), delays)
    consumer = Consumer(
        setup.queues, BatchTaker(ingest, gate, delete_refused=setup.delete_refused), setup.options
    )
    health = None
    if setup.health is not None:
        health = HealthServer(consumer.not_ready, host=setup.health[0], port=setup.health[1])
        try:
            await health.start()
        except OSError as err:
            raise HealthUnavailable(
                f"cannot serve the health endpoints on {health.host}:{health.port} "
                f"({err.strerror or err}): choose another --health-port or --health-host"
            ) from None
    try:
        if reason is not None:
            gate.close(reason, lost="nothing received yet")
        _say_started(setup)
        consumer.start()
        await stopping.requested.wait()
        await consumer.stop(deadline=stopping.deadline)
    finally:
        if health is not None:
            await health.close()


def _say_started(setup: ConsumerSetup) -> None:
    log.info(
        "consuming %d queue(s) (SQS_WAIT_SECONDS=%d, up to %d batch(es) in flight; refused "
        "messages %s): %s",
        len(setup.queues),
        setup.options.wait_seconds,
        setup.options.max_in_flight,
        "deleted" if setup.delete_refused else "left to the redrive policy",
        ", ".join(q.url for q in setup.queues),
    )


def _exit_now(why: str) -> None:
    log.error(
        "%s: exiting now. Nothing unfinished was deleted; SQS delivers it again after the "
        "visibility timeout",
        why,
    )
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    sys.stdout.flush()
    # SPEC §8: exit 0 within the bound, even with the database gone. os._exit, since a
    # driver's thread stuck on a dead database would hold an ordinary exit.
    os._exit(0)
