"""One SNS POST, end to end: parse, verify, store durably (group commit); subscriptions go to
Subscribing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.db import Database
from app.errors import BouncerError
from app.feedback import Applied, Notice, apply_batch
from app.ingest.group_commit import GroupCommit
from app.ingest.queue_bodies import Unsigned
from app.ses.events import SesEvent, parse_ses_event
from app.sns.envelope import SnsMessage, parse_envelope
from app.sns.verifier import Verifier
from app.sns_records import messages
from app.sns_records.unit_of_work import transaction
from app.subscribing import Subscribing
from app.suppression import policy
from app.vocabulary import SnsMessageType

log = logging.getLogger("bouncer.sns")


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | duplicate | confirmed | pending | unsubscribed
    message_id: str
    type: str


class Ingest:
    """Receives SNS POST bodies; a returned Outcome means the effects are committed."""

    def __init__(
        self,
        *,
        database: Database,
        verifier: Verifier,
        subscribing: Subscribing,
        rules: policy.Rules,
        clock: Callable[[], datetime],
    ) -> None:
        self.database = database
        self.verifier = verifier
        self.subscribing = subscribing
        self.rules = rules
        self.clock = clock
        self._commits: GroupCommit[Notification, Applied | None] = GroupCommit(
            lambda: transaction(self.database), self._store
        )

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> Outcome:
        kind = "unknown"
        try:
            message = parse_envelope(body, headers)
            kind = message.type
            if not self.verifier.verify_signatures:
                log.warning(
                    "SNS_VERIFY_SIGNATURES=false: accepting %s without checking its signature",
                    message.message_id,
                )
            await self.verifier.verify(message, now=self.clock())
            outcome = await self._handle(message)
        except BouncerError as err:
            metrics.SNS_MESSAGES.labels(kind, "refused").inc()
            metrics.SNS_REFUSALS.labels(err.cause).inc()
            log.warning(
                "refused SNS message: %s",
                err.message,
                extra={"status": err.status_code, "cause": err.cause},
            )
            raise
        metrics.SNS_MESSAGES.labels(kind, outcome.status).inc()
        log.info(
            "SNS %s %s: %s",
            outcome.type,
            outcome.message_id,
            outcome.status,
            extra={"topic_arn": message.topic_arn},
        )
        return outcome

    async def _handle(self, message: SnsMessage) -> Outcome:
        if message.type == SnsMessageType.SUBSCRIPTION_CONFIRMATION:
            status = await self.subscribing.subscribe(message)
        elif message.type == SnsMessageType.UNSUBSCRIBE_CONFIRMATION:
            status = await self.subscribing.unsubscribed(message)
        else:
            return await self._notification(message)
        return Outcome(status, message.message_id, message.type)

    async def _notification(self, message: SnsMessage) -> Outcome:
        event = parse_ses_event(message.message)
        applied = await self._commits.submit(Notification(message, event))
        if applied is None:
            return Outcome("duplicate", message.message_id, message.type)
        # Counted once committed: a notification rolled back (503, SNS retries) changed
        # nothing, and its retry is counted when it takes effect.
        count_applied(event, applied)
        return Outcome("processed", message.message_id, message.type)

    async def _store(
        self, session: AsyncSession, notifications: Sequence[Notification]
    ) -> list[Applied | None]:
        return await store_notifications(session, notifications, rules=self.rules, now=self.clock())


def count_applied(event: SesEvent, applied: Applied) -> None:
    """Count what a committed event did, in the metrics (/sns and the queues alike)."""
    if applied.recorded:
        metrics.SES_EVENTS.labels(event.type).inc(applied.recorded)
    for reason in applied.reasons:
        metrics.SUPPRESSIONS_ADDED.labels(reason).inc()


@dataclass(frozen=True, slots=True)
class Notification:
    """A verified SNS notification and the SES event it carries, waiting for its commit."""

    message: SnsMessage
    event: SesEvent


async def store_notifications(
    session: AsyncSession,
    notifications: Sequence[Notification | Unsigned],
    *,
    rules: policy.Rules,
    now: datetime,
) -> list[Applied | None]:
    """Store many verified notifications in the caller's transaction (a group commit, a
    batch from a queue): what each did, or None for an SNS message stored before.

    Each message and its effects are in the one transaction: they commit together or
    not at all. An unsigned event (SPEC §8) has no SNS MessageId to be known by: it is
    always applied, and its effects are counted once by SES's own ids (SPEC §3), so one
    seen before records nothing (``recorded == 0``).
    """
    new = await messages.record_messages(
        session,
        [item.message for item in notifications if isinstance(item, Notification)],
        now=now,
    )
    notices: list[Notice] = []
    taken: list[int] = []
    for i, item in enumerate(notifications):
        if isinstance(item, Unsigned):
            notices.append(Notice(item.event, item.source_id))
            taken.append(i)
        elif item.message.message_id in new:
            new.discard(item.message.message_id)  # the same message twice in one batch: once
            notices.append(Notice(item.event, item.message.message_id))
            taken.append(i)
    results: list[Applied | None] = [None] * len(notifications)
    applied = await apply_batch(session, notices, rules=rules, now=now)
    for i, one in zip(taken, applied, strict=True):
        results[i] = one
    return results
