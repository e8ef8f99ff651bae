"""One SNS POST, end to end: parse, verify, store durably, confirm subscriptions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.db import Database
from app.errors import BouncerError, InvalidInput, NotFound, Unavailable
from app.feedback import apply_event
from app.models import Subscription
from app.outages import is_database_outage
from app.ses.events import parse_ses_event
from app.sns.confirmation import SubscriptionConfirmer
from app.sns.envelope import SnsMessage, parse_envelope
from app.sns.verifier import Verifier
from app.sns_records import store
from app.suppression import policy

log = logging.getLogger("bouncer.sns")


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | duplicate | confirmed | pending | unsubscribed
    message_id: str
    type: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Ingest:
    """Receives SNS POST bodies; a returned Outcome means the effects are committed."""

    def __init__(
        self,
        *,
        database: Database,
        verifier: Verifier,
        confirmer: SubscriptionConfirmer,
        auto_confirm: bool,
        rules: policy.Rules,
        verify_signatures: bool = True,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.database = database
        self.verifier = verifier
        self.confirmer = confirmer
        self.auto_confirm = auto_confirm
        self.rules = rules
        self.verify_signatures = verify_signatures
        self.clock = clock

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> Outcome:
        kind = "unknown"
        try:
            message = parse_envelope(body, headers)
            kind = message.type
            if not self.verify_signatures:
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
        if message.type == "SubscriptionConfirmation":
            return await self._subscribe(message)
        if message.type == "UnsubscribeConfirmation":
            return await self._unsubscribed(message)
        return await self._notification(message)

    async def _notification(self, message: SnsMessage) -> Outcome:
        now = self.clock()
        event = parse_ses_event(message.message)
        async with self._transaction() as session:
            if not await store.record_message(session, message, now=now):
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

    async def _subscribe(self, message: SnsMessage) -> Outcome:
        async with self._transaction() as session:
            if await store.is_known_message(session, message.message_id):
                return Outcome("duplicate", message.message_id, message.type)
        via: str | None = None
        if self.auto_confirm:
            # Outside any transaction: a slow AWS call must not hold database locks.
            via = await self._confirm(message)
        status = "confirmed" if via else "pending"
        async with self._transaction() as session:
            if not await store.record_message(session, message, now=self.clock()):
                return Outcome("duplicate", message.message_id, message.type)
            await store.save_subscription(
                session, message, status=status, now=self.clock(), confirmed_via=via
            )
        if via is None:
            log.info(
                "subscription to %s kept pending (SNS_AUTO_CONFIRM=false): "
                "confirm it with POST /v1/subscriptions/confirm",
                message.topic_arn,
            )
        return Outcome(status, message.message_id, message.type)

    async def _unsubscribed(self, message: SnsMessage) -> Outcome:
        # Recorded and logged; its SubscribeURL would re-subscribe, so it is never requested.
        async with self._transaction() as session:
            if not await store.record_message(session, message, now=self.clock()):
                return Outcome("duplicate", message.message_id, message.type)
            await store.save_subscription(session, message, status="unsubscribed", now=self.clock())
        log.warning(
            "SNS subscription to %s was removed: bouncer no longer receives its events; "
            "subscribe the endpoint again if that was not intended",
            message.topic_arn,
        )
        return Outcome("unsubscribed", message.message_id, message.type)

    async def confirm_pending(self, topic_arn: str) -> str:
        """Confirm a subscription an operator approved; returns its status afterwards."""
        async with self._transaction() as session:
            row = await store.get_subscription(session, topic_arn)
        if row is None:
            raise NotFound(f"no subscription for {topic_arn} has been seen at /sns")
        if row.status == "confirmed":
            return "confirmed"
        if row.status not in ("pending", "failed") or not row.token or not row.subscribe_url:
            raise InvalidInput(
                f"the subscription to {topic_arn} is {row.status}, not pending: "
                "subscribe the endpoint again from SNS",
                field="topic_arn",
            )
        # Only what confirming needs: the verified message was checked when it arrived.
        message = SnsMessage(
            type="SubscriptionConfirmation",
            message_id=row.last_message_id,
            topic_arn=row.topic_arn,
            message="",
            timestamp=row.updated_at,
            timestamp_raw="",
            signature_version="",
            signature="",
            signing_cert_url="",
            subject=None,
            token=row.token,
            subscribe_url=row.subscribe_url,
            unsubscribe_url=None,
            raw={},
        )
        via = await self._confirm(message)
        async with self._transaction() as session:
            await store.mark_confirmed(session, topic_arn, via=via, now=self.clock())
        log.info("subscription to %s confirmed by an operator (%s)", topic_arn, via)
        return "confirmed"

    async def _confirm(self, message: SnsMessage) -> Literal["api", "url"]:
        """Confirm; a failure to reach SNS is recorded as status ``failed`` (listed by
        /v1/subscriptions, retried by SNS or with POST /v1/subscriptions/confirm) and raised
        as before. A refusal (a SubscribeURL bouncer will not request) is a refused message:
        like every refused message at /sns, it leaves nothing stored."""
        try:
            return await self.confirmer.confirm(message)
        except Unavailable as err:
            log.warning(
                "confirming the subscription to %s failed: %s",
                message.topic_arn,
                err.message,
                extra={"topic_arn": message.topic_arn},
            )
            try:
                async with self._transaction() as session:
                    await store.mark_failed(session, message, error=err.message, now=self.clock())
            except Unavailable:
                log.warning("could not record the failed confirmation: the database is down")
            raise

    async def subscriptions(self) -> Sequence[Subscription]:
        async with self._transaction() as session:
            return await store.list_subscriptions(session)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """A committed unit of work; an unreachable database becomes 503 (SNS retries)."""
        try:
            async with self.database.session() as session:
                yield session
        except BouncerError:
            raise
        except Exception as err:
            if not is_database_outage(err):
                raise
            if isinstance(err, PoolTimeout):
                # The database answers; bouncer has more work than connections.
                raise Unavailable(
                    "bouncer is overloaded: no database connection came free in time; "
                    "nothing was stored; SNS will retry this message"
                ) from err
            raise Unavailable(
                f"the database is unreachable ({type(err).__name__}): nothing was stored; "
                "SNS will retry this message"
            ) from err
