"""Signed envelopes through a real SQS queue into the database: taken, deleted, once."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from prometheus_client import REGISTRY

from app import metrics
from app.queues.consumer import ConsumeOptions
from app.settings import Settings
from app.sqs.queue_urls import name_of
from tests.conftest import TOPIC
from tests.queue_consumer.conftest import (
    Sqs,
    queue_empty,
    queue_holds,
    running_consumer,
    signed_bounce,
    state,
    wait_for,
)
from tests.ses_payloads import bounce
from tests.signing import SnsSigner


class TestSignedBounce:
    async def test_suppressed_and_deleted(
        self, consumer_settings: Settings, sqs: Sqs, signer: SnsSigner
    ) -> None:
        url, _ = sqs.queue()
        sqs.send(url, signed_bounce(signer, "ann@example.com", feedback_id="fb-1"))
        async with running_consumer(consumer_settings, [url]):
            await queue_empty(sqs, url)
        held = await state(consumer_settings.database_url)
        assert [row[:2] for row in held["suppression"]] == [("ann@example.com", "bounce")]
        assert len(held["event"]) == 1

    async def test_the_same_message_twice_has_one_effect_and_both_go(
        self, consumer_settings: Settings, sqs: Sqs, signer: SnsSigner
    ) -> None:
        url, _ = sqs.queue()
        envelope = signed_bounce(signer, "bob@example.com")
        sqs.send(url, envelope, envelope)
        async with running_consumer(consumer_settings, [url]):
            await queue_empty(sqs, url)
        held = await state(consumer_settings.database_url)
        assert len(held["sns"]) == 1
        assert len(held["event"]) == 1
        assert [row[0] for row in held["suppression"]] == ["bob@example.com"]


def sample(queue_url: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "bouncer_sqs_messages_total", {"queue": name_of(queue_url), "outcome": outcome}
    )
    return value or 0.0


def eventbridge(detail: str, *, source: str = "aws.ses") -> dict[str, Any]:
    """An EventBridge event as a rule targeting a queue delivers it."""
    # https://docs.aws.amazon.com/ses/latest/dg/monitoring-eventbridge.html
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Email Bounced",
        "source": source,
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(detail),
    }


class TestOutcomesCounted:
    async def test_processed_then_duplicate(
        self, consumer_settings: Settings, sqs: Sqs, signer: SnsSigner
    ) -> None:
        url, _ = sqs.queue()
        envelope = signed_bounce(signer, "cy@example.com")
        async with running_consumer(consumer_settings, [url]):
            sqs.send(url, envelope)
            await queue_empty(sqs, url)
            sqs.send(url, envelope)
            await queue_empty(sqs, url)
        assert (sample(url, "processed"), sample(url, "duplicate")) == (1.0, 1.0)
        name = {"queue": name_of(url)}
        assert REGISTRY.get_sample_value("bouncer_sqs_batch_duration_seconds_count", name) == 2
        lag = REGISTRY.get_sample_value("bouncer_sqs_queue_lag_seconds", name)
        assert lag is not None
        assert 0 <= lag < 30

    async def test_the_lag_is_none_once_the_queue_is_empty(
        self, consumer_settings: Settings, sqs: Sqs
    ) -> None:
        url, _ = sqs.queue()
        name = {"queue": name_of(url)}
        metrics.SQS_QUEUE_LAG.labels(name_of(url)).set(999.0)  # a batch long ago
        async with running_consumer(consumer_settings, [url]):
            await wait_for(
                lambda: REGISTRY.get_sample_value("bouncer_sqs_queue_lag_seconds", name) == 0,
                what="the lag to be 0 after an empty receive",
            )

    async def test_short_polling_takes_as_well(
        self, consumer_settings: Settings, sqs: Sqs, signer: SnsSigner
    ) -> None:
        url, _ = sqs.queue()
        quick = ConsumeOptions(wait_seconds=0, idle_pause=0.05, max_in_flight=1)
        async with running_consumer(consumer_settings, [url], options=quick):
            sqs.send(url, *[signed_bounce(signer, f"s{n}@example.com") for n in range(25)])
            await queue_empty(sqs, url)
        assert sample(url, "processed") == 25.0


class TestRefused:
    async def test_a_tampered_envelope_stays_then_goes_to_the_dead_letter_queue(
        self, consumer_settings: Settings, sqs: Sqs, signer: SnsSigner, caplog: Any
    ) -> None:
        url, dlq = sqs.queue(visibility=0, dead_letter_after=2)
        assert dlq is not None
        tampered = signed_bounce(signer, "dee@example.com")
        tampered["Message"] = tampered["Message"].replace("dee@", "eve@")
        [sqs_id] = sqs.send(url, tampered)
        async with running_consumer(consumer_settings, [url]):
            await queue_holds(sqs, dlq, 1)
        assert sqs.count(url) == 0
        assert sample(url, "refused") == 2.0  # received twice, refused twice, never deleted
        held = await state(consumer_settings.database_url)
        assert held["suppression"] == []
        assert held["event"] == []
        refusals = [r for r in caplog.records if "refused message" in r.getMessage()]
        assert refusals
        assert all(sqs_id in r.getMessage() for r in refusals)
        assert "signature" in refusals[0].getMessage()
        assert "dee@" not in caplog.text
        assert "eve@" not in caplog.text

    async def test_deleted_with_sqs_delete_refused(
        self, consumer_settings: Settings, sqs: Sqs, signer: SnsSigner
    ) -> None:
        url, dlq = sqs.queue(visibility=5, dead_letter_after=2)
        tampered = signed_bounce(signer, "fay@example.com")
        tampered["Signature"] = tampered["Signature"][::-1]
        sqs.send(url, tampered)
        async with running_consumer(consumer_settings, [url], SQS_DELETE_REFUSED=True):
            await queue_empty(sqs, url)
        assert dlq is not None
        assert sqs.count(dlq) == 0
        assert sample(url, "refused") == 1.0

    async def test_not_json_and_no_shape_are_refused(
        self, consumer_settings: Settings, sqs: Sqs
    ) -> None:
        url, _ = sqs.queue()
        sqs.send(url, "not json at all", {"hello": "world"})
        async with running_consumer(consumer_settings, [url]):
            await wait_for(lambda: sample(url, "refused") == 2.0, what="two refusals")
        assert sqs.count(url) == 2  # in flight until the visibility timeout, not deleted


class TestUnsignedShapes:
    async def test_refused_without_sqs_accept_unsigned(
        self, consumer_settings: Settings, sqs: Sqs
    ) -> None:
        url, _ = sqs.queue()
        sqs.send(
            url,
            bounce(["gus@example.com"], shape="event"),
            eventbridge(bounce(["hal@example.com"], shape="event")),
        )
        async with running_consumer(consumer_settings, [url]):
            await wait_for(lambda: sample(url, "refused") == 2.0, what="two refusals")
        assert sqs.count(url) == 2
        assert (await state(consumer_settings.database_url))["suppression"] == []

    async def test_taken_with_sqs_accept_unsigned(
        self, consumer_settings: Settings, sqs: Sqs
    ) -> None:
        url, _ = sqs.queue()
        sqs.send(
            url,
            bounce(["ida@example.com"], shape="event"),
            bounce(["jon@example.com"]),  # identity notification shape, raw delivery
            eventbridge(bounce(["kim@example.com"], shape="event")),
        )
        async with running_consumer(consumer_settings, [url], SQS_ACCEPT_UNSIGNED=True):
            await queue_empty(sqs, url)
        held = await state(consumer_settings.database_url)
        assert [row[:2] for row in held["suppression"]] == [
            ("ida@example.com", "bounce"),
            ("jon@example.com", "bounce"),
            ("kim@example.com", "bounce"),
        ]

    async def test_an_eventbridge_event_of_another_source_is_refused(
        self, consumer_settings: Settings, sqs: Sqs
    ) -> None:
        url, _ = sqs.queue()
        other = eventbridge(bounce(["lea@example.com"], shape="event"), source="aws.ec2")
        sqs.send(url, other)
        async with running_consumer(consumer_settings, [url], SQS_ACCEPT_UNSIGNED=True):
            await wait_for(lambda: sample(url, "refused") == 1.0, what="the refusal")
        assert sqs.count(url) == 1
        assert (await state(consumer_settings.database_url))["suppression"] == []


class TestSubscriptionConfirmation:
    async def test_kept_pending_and_deleted(
        self, consumer_settings: Settings, sqs: Sqs, signer: SnsSigner
    ) -> None:
        url, _ = sqs.queue()
        sqs.send(url, signer.make_subscription_confirmation(topic_arn=TOPIC))
        async with running_consumer(consumer_settings, [url], SNS_AUTO_CONFIRM=False):
            await queue_empty(sqs, url)
        assert sample(url, "pending") == 1.0


class TestSeveralQueues:
    async def test_quiet_queues_long_polling_do_not_hold_up_a_busy_one(
        self, consumer_settings: Settings, sqs: Sqs, signer: SnsSigner
    ) -> None:
        quiet = [sqs.queue()[0] for _ in range(3)]
        busy, _ = sqs.queue()
        sqs.send(busy, *[signed_bounce(signer, f"b{n}@example.com") for n in range(30)])
        # One batch at a time, and long polls of 5 s on the three empty queues: a poll
        # holding the only slot would take 3 x 5 s to let the busy queue's batches through.
        slow_polls = ConsumeOptions(wait_seconds=5, max_in_flight=1, first_delay=0.05)
        started = time.monotonic()
        async with running_consumer(consumer_settings, [*quiet, busy], options=slow_polls):
            await queue_empty(sqs, busy)
            took = time.monotonic() - started
        assert took < 5
        assert sample(busy, "processed") == 30.0
