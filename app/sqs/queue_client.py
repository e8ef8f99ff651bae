"""One SQS queue, as the consumer uses it: receive up to ten messages, delete a batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import boto3
from botocore.config import Config

from app.sqs import queue_urls
from app.sqs.calls import in_daemon_thread
from app.sqs.problems import describe

if TYPE_CHECKING:
    from types_boto3_sqs.client import SQSClient
    from types_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef, MessageTypeDef

T = TypeVar("T")

# ReceiveMessage takes at most 10 messages and waits at most 20 s (long polling); the
# HTTP read time-out must outlast the wait, or every empty poll would end in an error.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html
MAX_MESSAGES = 10
SQS_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    # Receive and delete are safe to repeat: a repeated receive hands out other messages
    # (or the same again, later: at-least-once), a repeated delete is a no-op.
    retries={"mode": "standard", "total_max_attempts": 3},
    max_pool_connections=32,
)


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One received message; ``sent_at`` is SentTimestamp in epoch seconds."""

    message_id: str
    receipt_handle: str
    body: str
    sent_at: float | None
    receive_count: int | None


@dataclass(frozen=True, slots=True)
class DeleteFailure:
    """A DeleteMessageBatch entry SQS did not delete (an entry of its ``Failed`` list)."""

    message_id: str
    code: str
    sender_fault: bool


def make_client(*, region: str, endpoint_url: str | None) -> SQSClient:
    # A session of its own: boto3's default session is not thread-safe to create; the
    # client it makes is, and is shared by the threads that call it.
    # https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients
    return boto3.session.Session().client(
        "sqs", region_name=region, endpoint_url=endpoint_url, config=SQS_CONFIG
    )


class QueueClient:
    def __init__(self, client: SQSClient, url: str) -> None:
        self.client = client
        self.url = url
        self.name = queue_urls.name_of(url)

    @property
    def endpoint(self) -> str:
        return str(self.client.meta.endpoint_url)

    async def receive(self, *, wait_seconds: int) -> list[QueuedMessage]:
        """Up to ten messages, waiting up to ``wait_seconds`` for the first (long polling).

        Raises SqsProblem. Each message is hidden from other consumers for the queue's
        visibility timeout; one not deleted by then is delivered again, and its receive
        count goes up (after the redrive policy's maxReceiveCount it moves to the
        dead-letter queue).
        https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
        """
        answer = await self._call(
            "ReceiveMessage",
            lambda: self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=MAX_MESSAGES,
                WaitTimeSeconds=wait_seconds,
                MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
            ),
        )
        return [_queued(message) for message in answer.get("Messages", [])]

    async def delete(self, messages: Sequence[QueuedMessage]) -> list[DeleteFailure]:
        """Delete ``messages`` (ten at most) in one call; the entries SQS did not delete.

        Raises SqsProblem when the call itself failed. A message received again since
        (its visibility timeout passed) is deleted through its newest receipt handle
        only: the older one's delete succeeds and leaves it, to come back as a duplicate.
        https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessageBatch.html
        """
        if not messages:
            return []
        # Ids need only be unique within the call: the position says which message it was.
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(messages)
        ]
        answer = await self._call(
            "DeleteMessageBatch",
            lambda: self.client.delete_message_batch(QueueUrl=self.url, Entries=entries),
        )
        failures = []
        for failed in answer.get("Failed", []):
            index = int(failed["Id"]) if failed["Id"].isdigit() else -1
            message_id = messages[index].message_id if 0 <= index < len(messages) else "?"
            failures.append(DeleteFailure(message_id, failed["Code"], failed["SenderFault"]))
        return failures

    async def _call(self, action: str, call: Callable[[], T]) -> T:
        try:
            return await in_daemon_thread(call)
        except Exception as err:
            raise describe(err, queue_url=self.url, action=action, endpoint=self.endpoint) from err


def _queued(message: MessageTypeDef) -> QueuedMessage:
    attributes = message.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    count = attributes.get("ApproximateReceiveCount")
    return QueuedMessage(
        message_id=message.get("MessageId", ""),
        receipt_handle=message.get("ReceiptHandle", ""),
        body=message.get("Body", ""),
        sent_at=int(sent) / 1000 if sent and sent.isdigit() else None,
        receive_count=int(count) if count and count.isdigit() else None,
    )


def open_queues(
    urls: Sequence[str], *, endpoint_url: str | None, default_region: str
) -> list[QueueClient]:
    """A QueueClient per URL; queues in one region share a client."""
    clients: dict[str, SQSClient] = {}
    queues = []
    for url in urls:
        region = queue_urls.region_of(url) or default_region
        if region not in clients:
            clients[region] = make_client(region=region, endpoint_url=endpoint_url)
        queues.append(QueueClient(clients[region], url))
    return queues


def close_queues(queues: Sequence[QueueClient]) -> None:
    for client in {id(q.client): q.client for q in queues}.values():
        client.close()
