"""The service's delivery loop: a step of the Deliverer every POLL_SECONDS or so, on
every replica (the claims let each delivery go to one of them at a time).

It outlives any error: a database that fails a step pauses delivery (one warning when it
starts, one line when it ends) and the next step tries again; nothing is lost meanwhile
(app.webhooks.delivery). Stopping lets the step under way finish (its tries are bounded
by WEBHOOK_TIMEOUT_SECONDS) rather than cut it off between a try and its record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from app.errors import DatabaseUnavailable
from app.webhooks.delivery import Deliverer

log = logging.getLogger("bouncer.webhooks")

# How often a replica looks for new events and due retries: a webhook follows its change
# within about this long. A step with nothing to do is one short query.
POLL_SECONDS = 0.5
JITTER = 0.2  # each wait is the interval ± 20 %, so replicas do not knock together
# While the database is down, the waits double up to this (each failed step logs a line
# at the database boundary).
OUTAGE_POLL_SECONDS = 5.0
# Beyond its tries' time-out, how long stopping waits for the step under way.
STOP_GRACE_SECONDS = 5.0


class DeliveryLoop:
    def __init__(
        self,
        deliverer: Deliverer,
        *,
        interval: float = POLL_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self._deliverer = deliverer
        self._interval = interval
        self._chance = rng or random.Random()  # noqa: S311  (spreading replicas out)
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._outage: str | None = None  # what failed, while the database does
        self._wait = interval

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    async def stop(self) -> None:
        """Let the step under way end (bounded), then stop."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        grace = self._deliverer.timeout_seconds + STOP_GRACE_SECONDS
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            log.warning("webhook delivery did not stop within %.0f s: cut off", grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        # The first step comes soon, not at once: replicas started together spread out.
        await self._pause(self._interval * self._chance.uniform(0.5, 1.0))
        while not self._stopping.is_set():
            if not await self.step():
                await self._pause(self._wait * self._chance.uniform(1 - JITTER, 1 + JITTER))

    async def step(self) -> bool:
        """One step; whether the next should come at once (more work may be waiting)."""
        try:
            done = await self._deliverer.run_once()
        except DatabaseUnavailable as err:
            if self._outage is None:
                log.warning(
                    "webhook delivery paused: %s; the deliveries wait, and the database is "
                    "tried again shortly",
                    err.what_failed,
                )
            self._outage = err.what_failed
            self._wait = min(self._wait * 2, OUTAGE_POLL_SECONDS)
            return False
        except Exception:  # the loop must outlive any one step; the next may succeed
            log.exception("webhook delivery step failed; trying again shortly")
            return False
        if self._outage is not None:
            log.info("webhook delivery resumed: the database answers again")
            self._outage = None
            self._wait = self._interval
        return done.busy

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
