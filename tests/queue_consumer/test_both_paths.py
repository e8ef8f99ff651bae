"""One SES event through /sns and through a queue: one effect (SPEC §8)."""

from __future__ import annotations

import json

from app.settings import Settings
from tests.conftest import TOPIC, AppMaker
from tests.queue_consumer.conftest import Sqs, queue_empty, running_consumer, state
from tests.queue_consumer.test_taking import eventbridge
from tests.ses_payloads import bounce
from tests.signing import SnsSigner, post_args


async def test_the_same_bounce_by_sns_and_by_queue_counts_once(
    make_client: AppMaker, consumer_settings: Settings, sqs: Sqs, signer: SnsSigner
) -> None:
    client, _ = await make_client()
    notification = bounce(["mia@example.com"], feedback_id="fb-both", message_id="m-both")
    envelope = signer.make_notification(notification, topic_arn=TOPIC)
    body, headers = post_args(envelope)
    answer = await client.post("/sns", content=body, headers=headers)
    assert answer.json() == {"status": "processed"}

    event = bounce(["mia@example.com"], feedback_id="fb-both", message_id="m-both", shape="event")
    queue, _ = sqs.queue()
    sqs.send(
        queue,
        envelope,  # the very same SNS message, delivered to the queue too
        signer.make_notification(event, topic_arn=TOPIC),  # the event-publishing shape
        eventbridge(event),  # and SES's EventBridge event
        event,  # and raw delivery's bare event
    )
    async with running_consumer(consumer_settings, [queue], SQS_ACCEPT_UNSIGNED=True):
        await queue_empty(sqs, queue)
    held = await state(consumer_settings.database_url)
    assert [row[:2] for row in held["suppression"]] == [("mia@example.com", "bounce")]
    assert [row[1:3] for row in held["event"]] == [("Bounce", "mia@example.com")]
    assert [row[:2] for row in held["change"]] == [("mia@example.com", "added")]
    looked_up = await client.get(
        "/v1/suppressions/mia@example.com",
        headers={"Authorization": "Bearer write-token-for-tests"},
    )
    assert json.loads(looked_up.text)["reason"] == "bounce"
