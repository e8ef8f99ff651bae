"""The change feed's upkeep (SPEC §10), a loop every replica of the service runs: the
expiry sweep (``suppression.expired`` within a minute of an entry's expires_at passing;
app.suppression.expiry_store) and retention (the feed's events and the finished webhook
deliveries older than CHANGES_RETENTION_DAYS are deleted).

A turn every EVERY seconds, jittered so replicas started together do not knock at once;
whichever replica takes the sweep's row does the turn, the others skip it. Each pass of a
turn is one short transaction of bounded batches; a turn runs passes until the sweep has
caught up, so a backlog of expiries (a bulk import's shared expires_at) is cleared within
the turn, never in one long transaction. Retention takes at most PRUNE_PASSES batches a
turn: a feed switched to a shorter retention shrinks over a few turns, never holding up
the next sweep. A failed turn (the database down) is one log line; the next comes on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.activity import change_feed
from app.db import Database
from app.errors import BouncerError
from app.suppression import expiry_store
from app.webhooks import webhook_store

log = logging.getLogger("bouncer.changes")

# SPEC §10 wants the event within a minute: EVERY (+ JITTER) + expiry_store.SETTLE.
EVERY = 15.0
JITTER = 0.2
FIRST_TURN_WITHIN = 5.0
SWEEP_BATCH = 2000
PRUNE_BATCH = 5000
PRUNE_PASSES = 20


@dataclass(frozen=True)
class Turn:
    """What one turn did."""

    expired: int = 0
    pruned_events: int = 0
    pruned_deliveries: int = 0
    # Another replica was sweeping: this one did nothing.
    busy: bool = False


async def run_turn(
    database: Database,
    *,
    now: datetime,
    retention: timedelta,
    sweep_batch: int = SWEEP_BATCH,
    prune_batch: int = PRUNE_BATCH,
) -> Turn:
    """Sweep the expiries due at ``now`` and prune what is older than ``retention``."""
    before = now - retention
    expired = events = deliveries = passes = 0
    while True:
        passes += 1
        pruning = passes <= PRUNE_PASSES
        async with database.session() as session:
            swept = await expiry_store.sweep(session, now=now, limit=sweep_batch)
            if swept.busy:
                return Turn(busy=True)
            # Under the sweep's lock, so two replicas never delete the same rows at once.
            gone_events = gone_deliveries = 0
            if pruning:
                gone_events = await change_feed.prune(session, before=before, limit=prune_batch)
                gone_deliveries = await webhook_store.prune(
                    session, before=before, limit=prune_batch
                )
        expired += swept.expired
        events += gone_events
        deliveries += gone_deliveries
        more_to_prune = pruning and prune_batch in (gone_events, gone_deliveries)
        if not swept.full and not more_to_prune:
            return Turn(expired, events, deliveries)


async def run_periodically(
    database: Database,
    *,
    clock: Callable[[], datetime],
    retention_days: int,
    every: float = EVERY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> None:
    """Runs until cancelled; a failed turn is logged and the next one comes on time."""
    chance = rng or random.Random()  # noqa: S311  (spreading replicas out, not secrecy)
    retention = timedelta(days=retention_days)
    await sleep(chance.uniform(0.5, 1.0) * min(every, FIRST_TURN_WITHIN))
    while True:
        await _one_turn(database, clock=clock, retention=retention)
        await sleep(every * chance.uniform(1 - JITTER, 1 + JITTER))


async def _one_turn(
    database: Database, *, clock: Callable[[], datetime], retention: timedelta
) -> None:
    try:
        turn = await run_turn(database, now=clock(), retention=retention)
    except BouncerError as err:
        log.warning("change feed upkeep failed: %s", err.message, extra={"cause": err.cause})
        return
    except Exception:  # the loop must outlive any one turn; the next one may succeed
        log.exception("change feed upkeep failed")
        return
    if turn.busy:
        log.debug("change feed upkeep: another replica is sweeping; skipping this turn")
    elif turn.expired or turn.pruned_events or turn.pruned_deliveries:
        log.info(
            "change feed upkeep: %d expired, %d events and %d deliveries pruned",
            turn.expired,
            turn.pruned_events,
            turn.pruned_deliveries,
        )


def start(
    database: Database, *, clock: Callable[[], datetime], retention_days: int, every: float
) -> asyncio.Task[None]:
    """The loop as a task of the service's, for ``stop`` at shutdown."""
    return asyncio.create_task(
        run_periodically(database, clock=clock, retention_days=retention_days, every=every),
        name="changes-upkeep",
    )


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
