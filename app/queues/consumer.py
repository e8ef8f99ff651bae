"""`bouncer consume`'s loop (SPEC §8): each queue long-polled concurrently, a bounded
number of batches in flight, each taken and then deleted, and a stop that finishes the
batches in hand by a deadline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from app import metrics
from app.queues.batches import BatchTaker
from app.queues.database_gate import DatabaseGate
from app.queues.retry_delays import RetryDelays
from app.sqs.problems import SqsProblem
from app.sqs.queue_client import QueueClient, QueuedMessage

log = logging.getLogger("bouncer.consume")


@dataclass(frozen=True)
class ConsumeOptions:
    # SQS_WAIT_SECONDS: ReceiveMessage's WaitTimeSeconds (long polling, 0-20).
    wait_seconds: int = 20
    # --max-in-flight: batches being taken and deleted at once, across all queues (each
    # queue's poller may hold one more, received, waiting for its turn).
    max_in_flight: int = 4
    # After an empty short poll (wait_seconds 0), so an empty queue is not asked in a loop.
    idle_pause: float = 1.0
    # Back-off after a failed receive (per queue) and a failed batch (the database).
    first_delay: float = 1.0
    max_delay: float = 30.0


class Consumer:
    def __init__(
        self,
        queues: Sequence[QueueClient],
        taker: BatchTaker,
        options: ConsumeOptions,
    ) -> None:
        self.queues = list(queues)
        self.taker = taker
        self.gate: DatabaseGate = taker.gate
        self.options = options
        self._slots = asyncio.Semaphore(options.max_in_flight)
        self._pollers: list[asyncio.Task[None]] = []
        self._batches: set[asyncio.Task[None]] = set()
        # The last failed receive of each queue that has not received since.
        self.queue_problems: dict[str, str] = {}
        self.stopping = False

    def start(self) -> None:
        self._pollers = [
            asyncio.create_task(self._poll(queue), name=f"poll {queue.name}")
            for queue in self.queues
        ]

    def not_ready(self) -> str | None:
        """Why the consumer is not ready (/readyz), or None when it is."""
        if self.stopping:
            return "stopping"
        if not self._pollers:
            return "starting"
        if stopped := [t.get_name() for t in self._pollers if t.done()]:
            return f"stopped polling: {', '.join(stopped)} (see the log)"
        if not self.gate.is_open:
            return self.gate.reason or "the database is unavailable"
        if self.queue_problems:
            return "; ".join(self.queue_problems.values())
        return None

    async def _poll(self, queue: QueueClient) -> None:
        delays = RetryDelays(self.options.first_delay, self.options.max_delay)
        while True:
            await self.gate.wait_open()
            # Receive only while a batch could be taken now: a message received is hidden
            # from other consumers until deleted or its visibility timeout passes. The slot
            # is taken after the receive, so a long poll on a quiet queue never holds one
            # that a busy queue's batch could use.
            await self._slots.acquire()
            self._slots.release()
            try:
                messages = await queue.receive(wait_seconds=self.options.wait_seconds)
            except SqsProblem as problem:
                await asyncio.sleep(self._receive_failed(queue, problem, delays))
                continue
            except Exception:  # a bug: logged, and the queue polled again after a while
                delay = delays.next()
                log.exception("polling %s failed: again in %.1f s", queue.url, delay)
                await asyncio.sleep(delay)
                continue
            delays.reset()
            if self.queue_problems.pop(queue.url, None) is not None:
                log.info("receiving from %s again", queue.url)
            if messages:
                await self._slots.acquire()  # given back when the batch is done
                self._spawn(queue, messages)
                continue
            # Nothing waits on this queue: its lag is none, not the last batch's.
            metrics.SQS_QUEUE_LAG.labels(queue.name).set(0)
            await self.gate.check_while_idle()
            if self.options.wait_seconds == 0:
                await asyncio.sleep(self.options.idle_pause)

    def _receive_failed(
        self, queue: QueueClient, problem: SqsProblem, delays: RetryDelays
    ) -> float:
        metrics.SQS_ERRORS.labels(queue.name, "ReceiveMessage", problem.code).inc()
        delay = delays.next() if problem.transient else delays.longest()
        self.queue_problems[queue.url] = problem.message
        log.warning(
            "%s: trying again in %.1f s",
            problem.message,
            delay,
            extra={"queue": queue.url, "code": problem.code},
        )
        return delay

    def _spawn(self, queue: QueueClient, messages: list[QueuedMessage]) -> None:
        task = asyncio.create_task(self.taker.take(queue, messages), name=f"batch {queue.name}")
        self._batches.add(task)
        task.add_done_callback(self._batch_done)

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        self._batches.discard(task)
        self._slots.release()

    async def stop(self, *, deadline: float) -> None:
        """Stop receiving at once, finish the batches in hand until ``deadline`` (the
        loop's clock), and cancel what is left.

        A long poll in progress is abandoned, and so is a batch received but still waiting
        for its turn: what they hold comes back after the visibility timeout, as does
        whatever a cancelled batch had not deleted (a duplicate then, if it was stored).
        """
        self.stopping = True
        for poller in self._pollers:
            poller.cancel()
        await asyncio.gather(*self._pollers, return_exceptions=True)
        loop = asyncio.get_running_loop()
        if self._batches:
            log.info("stopping: finishing %d batch(es) in hand", len(self._batches))
            _, late = await asyncio.wait(
                set(self._batches), timeout=max(0.0, deadline - loop.time())
            )
            if late:
                log.warning(
                    "stopping: %d batch(es) not finished in time, cancelled: SQS delivers "
                    "what they had not deleted again after the visibility timeout",
                    len(late),
                )
                for task in late:
                    task.cancel()
                # A driver may take a moment to give up a dead connection; not for ever.
                await asyncio.wait(late, timeout=2.0)
        await self.gate.stop()
