"""SQS failing under the consumer: a clear line naming the queue and what to check, the
other queues polled all the same, and the process staying up."""

from __future__ import annotations

import logging

import pytest

from app.settings import Settings
from tests.queue_consumer.conftest import (
    Sqs,
    queue_empty,
    running_consumer,
    signed_bounce,
    state,
    wait_for,
)
from tests.signing import SnsSigner


async def test_a_missing_queue_is_named_and_the_others_are_polled(
    consumer_settings: Settings,
    sqs: Sqs,
    signer: SnsSigner,
    moto_endpoint: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    missing = f"{moto_endpoint}/123456789012/no-such-queue"
    good, _ = sqs.queue()
    sqs.send(good, signed_bounce(signer, "ned@example.com"))
    async with running_consumer(consumer_settings, [missing, good]) as run:
        await queue_empty(sqs, good)
        await wait_for(lambda: run.consumer.not_ready() is not None, what="not ready")
        reason = run.consumer.not_ready() or ""
        assert missing in reason
        assert "does not exist" in reason
        assert "SQS_QUEUE_URLS" in reason
        assert all(not task.done() for task in run.consumer._pollers)  # still polling
    assert len((await state(consumer_settings.database_url))["suppression"]) == 1
    lines = [r for r in caplog.records if r.levelno == logging.WARNING and missing in r.message]
    assert lines
    assert "trying again in" in lines[0].message


async def test_an_unreachable_endpoint_is_retried(
    consumer_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url = "http://127.0.0.1:1/123456789012/anything"
    async with running_consumer(
        consumer_settings, [url], SQS_ENDPOINT_URL="http://127.0.0.1:1"
    ) as run:
        await wait_for(
            lambda: len([r for r in caplog.records if "cannot reach SQS" in r.message]) >= 2,
            what="two failed receives",
        )
        assert "SQS_ENDPOINT_URL" in (run.consumer.not_ready() or "")


async def test_wrong_credentials_are_named_without_printing_them(
    consumer_settings: Settings,
    sqs: Sqs,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, _ = sqs.queue()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    async with running_consumer(consumer_settings, [url]) as run:
        await wait_for(lambda: run.consumer.not_ready() is not None, what="not ready")
        assert "credentials" in (run.consumer.not_ready() or "")
    assert "testing" not in caplog.text
