"""The SNS subscriptions bouncer is sent: confirm or keep pending, record removals, list them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from app.db import Database
from app.errors import InvalidInput, NotFound, Unavailable
from app.models import Subscription
from app.sns.confirmation import Confirmation, SubscriptionConfirmer
from app.sns.envelope import SnsMessage
from app.sns_records import messages
from app.sns_records import subscriptions as rows
from app.sns_records.unit_of_work import transaction
from app.vocabulary import ConfirmedVia, SubscriptionStatus

log = logging.getLogger("bouncer.sns")

# What a (un)subscribe message came to, besides a subscription status.
DUPLICATE = "duplicate"


class Subscribing:
    """Handles verified (Un)SubscriptionConfirmation messages and operators' confirmations."""

    def __init__(
        self,
        *,
        database: Database,
        confirmer: SubscriptionConfirmer,
        auto_confirm: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self.database = database
        self.confirmer = confirmer
        self.auto_confirm = auto_confirm
        self.clock = clock

    async def subscribe(self, message: SnsMessage) -> str:
        """A verified SubscriptionConfirmation: ``confirmed``, ``pending`` or ``duplicate``."""
        async with transaction(self.database) as session:
            if await messages.is_known_message(session, message.message_id):
                return DUPLICATE
        via: ConfirmedVia | None = None
        if self.auto_confirm:
            # Outside any transaction: a slow AWS call must not hold database locks.
            via = await self._confirm(Confirmation.of(message), message_id=message.message_id)
        status = SubscriptionStatus.CONFIRMED if via else SubscriptionStatus.PENDING
        async with transaction(self.database) as session:
            if not await messages.record_message(session, message, now=self.clock()):
                return DUPLICATE
            await rows.save_subscription(
                session, message, status=status, now=self.clock(), confirmed_via=via
            )
        if via is None:
            log.info(
                "subscription to %s kept pending (SNS_AUTO_CONFIRM=false): "
                "confirm it with POST /v1/subscriptions/confirm",
                message.topic_arn,
            )
        return status

    async def unsubscribed(self, message: SnsMessage) -> str:
        """A verified UnsubscribeConfirmation: ``unsubscribed`` or ``duplicate``."""
        # Recorded and logged; its SubscribeURL would re-subscribe, so it is never requested.
        async with transaction(self.database) as session:
            if not await messages.record_message(session, message, now=self.clock()):
                return DUPLICATE
            await rows.save_subscription(
                session, message, status=SubscriptionStatus.UNSUBSCRIBED, now=self.clock()
            )
        log.warning(
            "SNS subscription to %s was removed: bouncer no longer receives its events; "
            "subscribe the endpoint again if that was not intended",
            message.topic_arn,
        )
        return SubscriptionStatus.UNSUBSCRIBED

    async def confirm_pending(self, topic_arn: str) -> str:
        """Confirm a subscription an operator approved; returns its status afterwards."""
        async with transaction(self.database) as session:
            row = await rows.get_subscription(session, topic_arn)
        if row is None:
            raise NotFound(f"no subscription for {topic_arn} has been seen at /sns")
        if row.status == SubscriptionStatus.CONFIRMED:
            return SubscriptionStatus.CONFIRMED
        pending = (SubscriptionStatus.PENDING, SubscriptionStatus.FAILED)
        if row.status not in pending or not row.token or not row.subscribe_url:
            raise InvalidInput(
                f"the subscription to {topic_arn} is {row.status}, not pending: "
                "subscribe the endpoint again from SNS",
                field="topic_arn",
            )
        # The message it came in was verified when it arrived; the row kept what confirming
        # takes.
        confirmation = Confirmation(row.topic_arn, row.token, row.subscribe_url)
        via = await self._confirm(confirmation, message_id=row.last_message_id)
        async with transaction(self.database) as session:
            await rows.mark_confirmed(session, topic_arn, via=via, now=self.clock())
        log.info("subscription to %s confirmed by an operator (%s)", topic_arn, via)
        return SubscriptionStatus.CONFIRMED

    async def list(self) -> Sequence[Subscription]:
        async with transaction(self.database) as session:
            return await rows.list_subscriptions(session)

    async def _confirm(self, confirmation: Confirmation, *, message_id: str) -> ConfirmedVia:
        """Confirm; a failure to reach SNS is recorded as status ``failed`` (listed by
        /v1/subscriptions, retried by SNS or with POST /v1/subscriptions/confirm) and raised
        as before. A refusal (a SubscribeURL bouncer will not request) is a refused message:
        like every refused message at /sns, it leaves nothing stored."""
        try:
            return await self.confirmer.confirm(confirmation)
        except Unavailable as err:
            log.warning(
                "confirming the subscription to %s failed: %s",
                confirmation.topic_arn,
                err.message,
                extra={"topic_arn": confirmation.topic_arn},
            )
            try:
                async with transaction(self.database) as session:
                    await rows.mark_failed(
                        session,
                        confirmation,
                        message_id=message_id,
                        error=err.message,
                        now=self.clock(),
                    )
            except Unavailable:
                log.warning("could not record the failed confirmation: the database is down")
            raise
