"""SQS on loopback (moto_server's real wire protocol), queues, and the consumer run in-process."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.ingest import QueueIngest
from app.models import Event, ReceivedSnsMessage, RecipientState, Suppression, SuppressionChange
from app.queues.batches import BatchTaker
from app.queues.consumer import ConsumeOptions, Consumer
from app.queues.database_gate import DatabaseGate, check_database
from app.queues.retry_delays import RetryDelays
from app.services import Edges, build_queue_ingest, build_subscribing
from app.settings import Settings
from app.sqs.queue_client import QueueClient, close_queues, open_queues
from tests.conftest import TOPIC, make_settings
from tests.moto_server import running_moto_server
from tests.ses.conftest import REGION, use_fake_aws_credentials
from tests.ses_payloads import bounce
from tests.signing import SnsSigner

if TYPE_CHECKING:
    from types_boto3_sqs.client import SQSClient
    from types_boto3_sqs.literals import QueueAttributeNameType

# Fast enough for tests: a long poll of one second, back-off from 50 ms to half a second.
FAST = ConsumeOptions(wait_seconds=1, first_delay=0.05, max_delay=0.5)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto_server on a free loopback port, one per test process."""
    with running_moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_fake_aws_credentials(monkeypatch, tmp_path)


class Sqs:
    """The test's side of SQS: queues made, messages sent and counted, through moto_server."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.client: SQSClient = boto3.session.Session().client(
            "sqs", region_name=REGION, endpoint_url=endpoint
        )

    def queue(
        self, *, visibility: int = 30, dead_letter_after: int | None = None
    ) -> tuple[str, str | None]:
        """A new queue's URL, and its dead-letter queue's (with ``dead_letter_after``:
        the redrive policy's maxReceiveCount)."""
        name = f"q-{uuid.uuid4().hex[:12]}"
        attributes: dict[QueueAttributeNameType, str] = {"VisibilityTimeout": str(visibility)}
        dlq_url = None
        if dead_letter_after is not None:
            dlq_url = self.client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
            arn = self.client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
                    "maxReceiveCount": str(dead_letter_after),
                }
            )
        url = self.client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return url, dlq_url

    def send(self, url: str, *bodies: str | dict[str, Any]) -> list[str]:
        """SQS MessageIds of ``bodies`` (dicts sent as JSON), in order."""
        ids = []
        texts = [b if isinstance(b, str) else json.dumps(b) for b in bodies]
        for start in range(0, len(texts), 10):
            entries = [
                {"Id": str(i), "MessageBody": text}
                for i, text in enumerate(texts[start : start + 10])
            ]
            answer = self.client.send_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
            assert not answer.get("Failed"), answer
            by_id = {s["Id"]: s["MessageId"] for s in answer["Successful"]}
            ids += [by_id[str(i)] for i in range(len(entries))]
        return ids

    def count(self, url: str) -> int:
        """Messages on the queue, visible or in flight."""
        got = self.client.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(got["ApproximateNumberOfMessages"]) + int(
            got["ApproximateNumberOfMessagesNotVisible"]
        )

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def sqs(moto_endpoint: str) -> Iterator[Sqs]:
    made = Sqs(moto_endpoint)
    yield made
    made.close()


@pytest.fixture
def consumer_settings(settings: Settings, moto_endpoint: str) -> Settings:
    return make_settings(
        **settings.model_dump(exclude_unset=True),
        SQS_ENDPOINT_URL=moto_endpoint,
        SQS_WAIT_SECONDS=1,
    )


def signed_bounce(signer: SnsSigner, email: str, **fields: Any) -> dict[str, Any]:
    """A signed SNS notification carrying a permanent SES bounce for ``email``."""
    return signer.make_notification(bounce([email], **fields), topic_arn=TOPIC)


@dataclass
class Running:
    consumer: Consumer
    database: Database
    queues: list[QueueClient]


@asynccontextmanager
async def running_consumer(
    settings: Settings,
    urls: list[str],
    *,
    database: Database | None = None,
    options: ConsumeOptions = FAST,
    **overrides: Any,
) -> AsyncIterator[Running]:
    """The consumer of `bouncer consume`, in this loop, on ``settings`` (with ``overrides``);
    stopped (its batches finished) on leaving."""
    if overrides:
        settings = make_settings(**{**settings.model_dump(exclude_unset=True), **overrides})
    own = database is None
    database = database or Database(settings.database_url)
    edges = Edges(http_transport=httpx.MockTransport(lambda _: httpx.Response(404)))
    queues = open_queues(
        urls, endpoint_url=settings.SQS_ENDPOINT_URL, default_region=settings.AWS_REGION
    )
    try:
        async with edges.http_client() as http:
            ingest: QueueIngest = build_queue_ingest(
                settings,
                database,
                http,
                build_subscribing(settings, database, http, edges),
                edges,
                accept_unsigned=settings.SQS_ACCEPT_UNSIGNED,
            )
            db = database
            gate = DatabaseGate(
                lambda: check_database(db), RetryDelays(options.first_delay, options.max_delay)
            )
            taker = BatchTaker(ingest, gate, delete_refused=settings.SQS_DELETE_REFUSED)
            consumer = Consumer(queues, taker, options)
            consumer.start()
            try:
                yield Running(consumer, database, queues)
            finally:
                loop = asyncio.get_running_loop()
                await consumer.stop(deadline=loop.time() + 20)
    finally:
        close_queues(queues)
        if own:
            await database.dispose()


async def wait_for(
    condition: Callable[[], Awaitable[bool] | bool], *, timeout: float = 20.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        await asyncio.sleep(0.05)


async def queue_holds(sqs: Sqs, url: str, count: int, *, timeout: float = 20.0) -> None:
    await wait_for(
        lambda: asyncio.to_thread(lambda: sqs.count(url) == count),
        timeout=timeout,
        what=f"{url} to hold {count} message(s)",
    )


async def queue_empty(sqs: Sqs, url: str, *, timeout: float = 20.0) -> None:
    await queue_holds(sqs, url, 0, timeout=timeout)


async def state(url: str) -> dict[str, Any]:
    """What the database holds, without times or generated ids: two runs that took the
    same events compare equal."""
    database = Database(url)
    try:
        async with database.session() as session:

            async def rows(*columns: Any) -> list[tuple[Any, ...]]:
                found = await session.execute(select(*columns))
                return sorted((tuple(str(v) for v in row) for row in found), key=str)

            return {
                "suppression": await rows(
                    Suppression.email, Suppression.reason, Suppression.subtype,
                    Suppression.source, Suppression.feedback_id, Suppression.ses_message_id,
                ),
                "change": await rows(
                    SuppressionChange.email, SuppressionChange.action, SuppressionChange.actor,
                    SuppressionChange.reason,
                ),
                "event": await rows(
                    Event.dedupe_key, Event.type, Event.email, Event.verdict, Event.feedback_id,
                ),
                "recipient": await rows(RecipientState.email, RecipientState.soft_bounce_count),
                "sns": await rows(ReceivedSnsMessage.message_id),
            }  # fmt: skip
    finally:
        await database.dispose()
