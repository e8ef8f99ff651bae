"""One SNS POST, end to end: parse, verify, store durably; subscriptions go to Subscribing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from app import metrics
from app.db import Database
from app.errors import BouncerError
from app.feedback import apply_event
from app.ses.events import parse_ses_event
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
        now = self.clock()
        event = parse_ses_event(message.message)
        async with transaction(self.database) as session:
            if not await messages.record_message(session, message, now=now):
                return Outcome("duplicate", message.message_id, message.type)
            # The hand-off to SES processing, in the same transaction: the message
            # and its effects commit together or not at all.
            applied = await apply_event(
                session, event, sns_message_id=message.message_id, rules=self.rules, now=now
            )
        # Counted once committed: a notification rolled back (503, SNS retries) changed
        # nothing, and its retry is counted when it takes effect.
        if applied.recorded:
            metrics.SES_EVENTS.labels(event.type).inc(applied.recorded)
        for reason in applied.reasons:
            metrics.SUPPRESSIONS_ADDED.labels(reason).inc()
        return Outcome("processed", message.message_id, message.type)
