"""One received batch: taken through the ingest core, then what it committed deleted.

A message is deleted only after ``QueueIngest.take`` returned, which it does once the
batch's transaction has committed: whatever fails before that stays on the queue, and
SQS delivers it again after its visibility timeout (at least once; a second delivery of
something already stored is a duplicate and changes nothing).
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from app import metrics
from app.errors import DatabaseUnavailable
from app.ingest import QueueIngest, Taken
from app.ingest.queued import REFUSED
from app.queues.database_gate import DatabaseGate
from app.sqs.problems import SqsProblem
from app.sqs.queue_client import QueueClient, QueuedMessage

log = logging.getLogger("bouncer.consume")


@dataclass(frozen=True)
class BatchTaker:
    ingest: QueueIngest
    gate: DatabaseGate
    # SQS_DELETE_REFUSED: delete refused messages rather than leave them to the queue's
    # redrive policy (which moves them to its dead-letter queue after maxReceiveCount).
    delete_refused: bool

    async def take(self, queue: QueueClient, messages: Sequence[QueuedMessage]) -> None:
        """Never raises but CancelledError (the stop's deadline): nothing is deleted then."""
        received = time.monotonic()
        _measure_lag(queue, messages)
        try:
            taken = await self.ingest.take([m.body for m in messages])
        except DatabaseUnavailable as err:
            metrics.SQS_MESSAGES.labels(queue.name, "unavailable").inc(len(messages))
            lost = f"{len(messages)} message(s) from {queue.url} not stored, not deleted"
            self.gate.close(err.what_failed, lost=lost)
            return
        except Exception:
            metrics.SQS_MESSAGES.labels(queue.name, "error").inc(len(messages))
            log.exception(
                "a batch of %d message(s) from %s failed: nothing deleted (SQS delivers it "
                "again after the visibility timeout)",
                len(messages),
                queue.url,
            )
            return
        doomed = [m for m, one in zip(messages, taken, strict=True) if self._deletes(queue, m, one)]
        await _delete(queue, doomed)
        metrics.SQS_BATCH_LATENCY.labels(queue.name).observe(time.monotonic() - received)

    def _deletes(self, queue: QueueClient, message: QueuedMessage, taken: Taken) -> bool:
        metrics.SQS_MESSAGES.labels(queue.name, taken.status).inc()
        if taken.done:
            return True
        context = {
            "queue": queue.url,
            "sqs_message_id": message.message_id,
            "sns_message_id": taken.id,
            "cause": taken.cause,
            "receive_count": message.receive_count,
        }
        if taken.status == REFUSED:
            fate = (
                "deleted (SQS_DELETE_REFUSED=true)"
                if self.delete_refused
                else "left to the queue's redrive policy (its dead-letter queue after "
                "maxReceiveCount receives)"
            )
            log.warning(
                "refused message %s from %s (%s: %s): %s",
                message.message_id,
                queue.url,
                taken.cause,
                taken.reason,
                fate,
                extra=context,
            )
            return self.delete_refused
        log.warning(
            "message %s from %s not taken this time (%s: %s): left on the queue, SQS "
            "delivers it again after the visibility timeout",
            message.message_id,
            queue.url,
            taken.cause,
            taken.reason,
            extra=context,
        )
        return False


async def _delete(queue: QueueClient, messages: Sequence[QueuedMessage]) -> None:
    if not messages:
        return
    try:
        failures = await queue.delete(messages)
    except SqsProblem as problem:
        metrics.SQS_ERRORS.labels(queue.name, "DeleteMessageBatch", problem.code).inc()
        log.warning(
            "%s: %d stored message(s) not deleted; SQS delivers them again after the "
            "visibility timeout, and they are then duplicates (harmless)",
            problem.message,
            len(messages),
            extra={"queue": queue.url, "code": problem.code},
        )
        return
    for failure in failures:
        metrics.SQS_ERRORS.labels(queue.name, "DeleteMessageBatch", failure.code).inc()
        log.warning(
            "SQS did not delete message %s from %s (%s): it comes back after the visibility "
            "timeout and is then a duplicate (harmless)",
            failure.message_id,
            queue.url,
            failure.code,
            extra={"queue": queue.url, "sqs_message_id": failure.message_id},
        )


def _measure_lag(queue: QueueClient, messages: Sequence[QueuedMessage]) -> None:
    sent = [m.sent_at for m in messages if m.sent_at is not None]
    if sent:
        metrics.SQS_QUEUE_LAG.labels(queue.name).set(max(0.0, time.time() - min(sent)))
