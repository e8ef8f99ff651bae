"""Many queued or replayed bodies at once (SPEC §8): each read and verified as `/sns` does,
then every notification among them stored in one transaction.

``take`` returns only once that transaction has committed, so a caller deletes from the
queue exactly what ``Taken.done`` says; an outage raises DatabaseUnavailable and nothing
of the batch is stored (the queue redelivers it all).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.db import Database
from app.errors import BouncerError, ConfirmationRefused, DatabaseUnavailable, Unavailable
from app.feedback import Applied
from app.ingest.queue_bodies import Unsigned, read_body
from app.ingest.receiving import Notification, count_applied, store_notifications
from app.ses.events import parse_ses_event
from app.sns.envelope import SnsMessage
from app.sns.verifier import Verifier
from app.sns_records.unit_of_work import transaction
from app.subscribing import Subscribing
from app.suppression import policy
from app.vocabulary import SnsMessageType

log = logging.getLogger("bouncer.queue")

# What each body came to. The first five are the answers /sns gives (SPEC §2); the queue
# deletes those. ``refused`` is permanent (left to the redrive policy, or deleted with
# SQS_DELETE_REFUSED); ``retry`` is not (a certificate host down, a message that failed
# on its own): the queue redelivers it.
DONE = frozenset({"processed", "duplicate", "confirmed", "pending", "unsubscribed"})
REFUSED, RETRY = "refused", "retry"


@dataclass(frozen=True, slots=True)
class Taken:
    status: str
    # sns (an envelope), ses (a bare SES event), eventbridge, or unknown (unreadable).
    shape: str
    # The SNS MessageId, or the id an unsigned event stands under; None if unreadable.
    id: str | None = None
    # Refused or retry: the error's short label (signature, topic, unsigned…) and words.
    cause: str | None = None
    reason: str | None = None

    @property
    def done(self) -> bool:
        return self.status in DONE


Pending = Notification | Unsigned


class QueueIngest:
    """Takes bodies from a queue or a file; a returned Taken of status in DONE is committed."""

    def __init__(
        self,
        *,
        database: Database,
        verifier: Verifier,
        subscribing: Subscribing,
        rules: policy.Rules,
        clock: Callable[[], datetime],
        accept_unsigned: bool,
    ) -> None:
        self.database = database
        self.verifier = verifier
        self.subscribing = subscribing
        self.rules = rules
        self.clock = clock
        self.accept_unsigned = accept_unsigned

    async def take(self, bodies: Sequence[str | bytes]) -> list[Taken]:
        """What each body came to, in order. Raises DatabaseUnavailable when the database
        failed the batch: nothing of it was stored."""
        results: list[Taken | None] = [None] * len(bodies)
        pending: list[tuple[int, Pending]] = []
        for i, body in enumerate(bodies):
            read = await self._read(body)
            if isinstance(read, Taken):
                results[i] = read
            elif isinstance(read, SnsMessage) and read.type != SnsMessageType.NOTIFICATION:
                results[i] = await self._subscription(read)
            elif isinstance(read, SnsMessage):
                pending.append((i, Notification(read, parse_ses_event(read.message))))
            else:
                pending.append((i, read))
        for i, taken in await self._store(pending):
            results[i] = taken
        return [taken for taken in results if taken is not None]

    async def _read(self, body: str | bytes) -> SnsMessage | Unsigned | Taken:
        shape, id_ = "unknown", None
        try:
            read = read_body(body, accept_unsigned=self.accept_unsigned)
            if isinstance(read, Unsigned):
                return read
            shape, id_ = "sns", read.message_id
            if not self.verifier.verify_signatures:
                log.warning(
                    "SNS_VERIFY_SIGNATURES=false: accepting %s without checking its signature",
                    read.message_id,
                )
            await self.verifier.verify(read, now=self.clock())
            return read
        except DatabaseUnavailable:
            raise
        except Unavailable as err:  # the certificate host: the message is fine, try later
            return _failed(RETRY, shape, id_, err)
        except BouncerError as err:
            return _failed(REFUSED, shape, id_, err)

    async def _subscription(self, message: SnsMessage) -> Taken:
        # As /sns does (SPEC §2, §8): confirmed only for an allowed topic, already checked.
        # Its own unit of work: what it raises is this message's answer, not the batch's.
        try:
            if message.type == SnsMessageType.SUBSCRIPTION_CONFIRMATION:
                status = await self.subscribing.subscribe(message)
            else:
                status = await self.subscribing.unsubscribed(message)
        except DatabaseUnavailable:
            raise
        except ConfirmationRefused as err:
            # A 4xx from SNS (the token's three days are over, say): /sns answers 503 and
            # SNS gives up within the hour, but a queue or a file would offer it for days.
            return _failed(REFUSED, "sns", message.message_id, err)
        except Unavailable as err:  # SNS or the SubscribeURL unreachable: try later
            return _failed(RETRY, "sns", message.message_id, err)
        except BouncerError as err:
            return _failed(REFUSED, "sns", message.message_id, err)
        log.info("SNS %s %s: %s", message.type, message.message_id, status)
        return Taken(status, "sns", message.message_id)

    async def _store(self, pending: list[tuple[int, Pending]]) -> list[tuple[int, Taken]]:
        if not pending:
            return []
        items = [item for _, item in pending]
        try:
            applied = await self._commit(items)
        except DatabaseUnavailable as err:
            if not err.conflict:
                raise
            # Another writer held the same rows and PostgreSQL broke the deadlock: the
            # batch was rolled back whole, and runs again once.
            applied = await self._commit(items)
        except Exception:
            log.exception("a batch of %d failed: storing each alone", len(items))
            return [(i, await self._alone(item)) for i, item in pending]
        return [(i, _outcome(item, one)) for (i, item), one in zip(pending, applied, strict=True)]

    async def _commit(self, items: Sequence[Pending]) -> list[Applied | None]:
        async with transaction(self.database) as session:
            applied = await store_notifications(session, items, rules=self.rules, now=self.clock())
        # Counted once committed, as /sns counts.
        for item, one in zip(items, applied, strict=True):
            if one is not None:
                count_applied(item.event, one)
        return applied

    async def _alone(self, item: Pending) -> Taken:
        try:
            [applied] = await self._commit([item])
        except DatabaseUnavailable:
            raise
        except Exception as err:
            log.exception("%s %s could not be stored: left on the queue", *_named(item))
            shape, id_ = _named(item)
            return Taken(RETRY, shape, id_, "error", f"storing it failed ({type(err).__name__})")
        return _outcome(item, applied)


def _outcome(item: Pending, applied: Applied | None) -> Taken:
    shape, id_ = _named(item)
    if applied is None or (isinstance(item, Unsigned) and applied.recorded == 0):
        status = "duplicate"
    else:
        status = "processed"
    log.info("%s %s: %s", shape, id_, status)
    return Taken(status, shape, id_)


def _named(item: Pending) -> tuple[str, str]:
    if isinstance(item, Unsigned):
        return item.shape, item.source_id
    return "sns", item.message.message_id


def _failed(status: str, shape: str, id_: str | None, err: BouncerError) -> Taken:
    log.warning(
        "%s queued message: %s",
        status,
        err.message,
        extra={"cause": err.cause, "shape": shape},
    )
    return Taken(status, shape, id_, err.cause, err.message)
