"""Deleting after the commit: entries SQS refuses and calls that fail are logged, and the
consumer goes on (the message comes back later as a duplicate, which is harmless)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY

from app.db import Database
from app.queues.batches import BatchTaker
from app.queues.database_gate import DatabaseGate, check_database
from app.queues.retry_delays import RetryDelays
from app.services import Edges, build_queue_ingest, build_subscribing
from app.settings import Settings
from app.sqs.queue_client import QueueClient, QueuedMessage, close_queues, open_queues
from tests.queue_consumer.conftest import Sqs, signed_bounce, state
from tests.signing import SnsSigner


async def take_once(settings: Settings, queue: QueueClient, messages: list[QueuedMessage]) -> None:
    database = Database(settings.database_url)
    edges = Edges(http_transport=httpx.MockTransport(lambda _: httpx.Response(404)))
    try:
        async with edges.http_client() as http:
            subscribing = build_subscribing(settings, database, http, edges)
            ingest = build_queue_ingest(
                settings, database, http, subscribing, edges, accept_unsigned=False
            )
            gate = DatabaseGate(lambda: check_database(database), RetryDelays())
            await BatchTaker(ingest, gate, delete_refused=False).take(queue, messages)
    finally:
        await database.dispose()


@pytest.fixture
def one_queue(consumer_settings: Settings, sqs: Sqs) -> Iterator[tuple[str, list[QueueClient]]]:
    url, _ = sqs.queue()
    queues = open_queues(
        [url], endpoint_url=consumer_settings.SQS_ENDPOINT_URL, default_region="us-east-1"
    )
    yield url, queues
    close_queues(queues)


def errors(queue: QueueClient, code: str) -> float:
    labels = {"queue": queue.name, "action": "DeleteMessageBatch", "code": code}
    return REGISTRY.get_sample_value("bouncer_sqs_errors_total", labels) or 0.0


async def test_an_entry_sqs_does_not_delete_is_logged(
    consumer_settings: Settings,
    sqs: Sqs,
    signer: SnsSigner,
    one_queue: tuple[str, list[QueueClient]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, [queue] = one_queue
    [sqs_id] = sqs.send(url, signed_bounce(signer, "pia@example.com"))
    messages = await queue.receive(wait_seconds=1)
    assert [m.message_id for m in messages] == [sqs_id]
    assert messages[0].receive_count == 1
    assert messages[0].sent_at is not None
    # Purged while the batch was being taken: its receipt handle no longer names a message.
    sqs.client.purge_queue(QueueUrl=url)
    await take_once(consumer_settings, queue, messages)
    assert len((await state(consumer_settings.database_url))["suppression"]) == 1
    assert errors(queue, "ReceiptHandleIsInvalid") == 1.0
    [line] = [r for r in caplog.records if r.levelno == logging.WARNING and sqs_id in r.message]
    assert "did not delete" in line.message
    assert "duplicate (harmless)" in line.message


async def test_a_failed_delete_call_is_logged(
    consumer_settings: Settings,
    sqs: Sqs,
    signer: SnsSigner,
    one_queue: tuple[str, list[QueueClient]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, [queue] = one_queue
    sqs.send(url, signed_bounce(signer, "quin@example.com"))
    messages = await queue.receive(wait_seconds=1)
    sqs.client.delete_queue(QueueUrl=url)
    await take_once(consumer_settings, queue, messages)
    assert len((await state(consumer_settings.database_url))["suppression"]) == 1
    [line] = [r for r in caplog.records if "DeleteMessageBatch on" in r.message]
    assert "does not exist" in line.message
    assert "1 stored message(s) not deleted" in line.message
