"""Review of issue #16: a signed SNS envelope whose Message is SES's EventBridge event.

SES → EventBridge → an SNS topic → SQS (or /sns) is a wiring AWS offers (an EventBridge
rule may target an SNS topic). The envelope verifies, the topic is allowed, and the
message is answered "processed" and deleted from the queue, yet the bounce inside
`detail` has no effect: the address is not suppressed and the event is kept as Unknown.
Either the SES event in `detail` is taken, or the message is refused (left to the DLQ);
"processed" with nothing done loses the bounce silently.
"""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from app.db import Database
from app.models import Suppression
from tests.conftest import TOPIC
from tests.queue.test_queued import Maker, make_queue_ingest  # noqa: F401 (a fixture)
from tests.signing import SnsSigner


async def _suppressed(url: str) -> set[str]:
    database = Database(url)
    try:
        async with database.session() as session:
            return set(await session.scalars(select(Suppression.email)))
    finally:
        await database.dispose()


async def test_a_confirmation_whose_token_expired_is_refused_not_retried_for_ever(
    make_queue_ingest: Maker,  # noqa: F811
    signer: SnsSigner,
) -> None:
    # A SubscriptionConfirmation's token lasts three days; a DLQ dump replayed later, or a
    # queue drained after a long outage, holds confirmations SNS now answers 403 to. Taken
    # as "retry" (with the words "SNS will retry", which no one does for a queue), it is
    # never deleted even with SQS_DELETE_REFUSED=true, and `bouncer replay` exits 3 ("replay
    # the input again later") on every run, for ever.
    def expired(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            text="<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code>"
            "<Message>Token expired</Message></Error></ErrorResponse>",
        )

    ingest = await make_queue_ingest(transport=httpx.MockTransport(expired), SNS_AUTO_CONFIRM=True)
    confirmation = signer.make_subscription_confirmation(topic_arn=TOPIC)
    [taken] = await ingest.take([json.dumps(confirmation)])
    assert taken.status == "refused", taken
