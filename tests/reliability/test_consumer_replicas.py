"""`bouncer consume` replicas under stress: two processes on the same queues, one killed
mid-stream (a crash: what it held comes back after the visibility timeout) and replaced,
and the database cut away for a stretch. The final state must equal a clean pass of the
same notifications through /sns: nothing lost, nothing counted twice.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.batches import assert_same_state, compare, make_batch, post_in_order, snapshot
from tests.batches import stored_message_ids as stored
from tests.conftest import TOPIC, AppMaker
from tests.databases import DatabaseFactory
from tests.figures import record
from tests.live import LiveServer
from tests.queue_consumer.conftest import (  # noqa: F401  (fixtures)
    Sqs,
    aws_env,
    moto_endpoint,
    sqs,
)
from tests.signing import SnsSigner
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NOTIFICATIONS = int(os.environ.get("CONSUMER_NOTIFICATIONS", "2000"))
# moto_server's ReceiveMessage takes time in proportion to a queue's length: ten queues.
QUEUES = 10
WAIT_SECONDS = 1
COMMAND = (sys.executable, "-m", "app", "consume", "--health-port", "{port}")


@pytest.fixture
def second_url(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh()
    yield url
    databases.release(url)


async def wait_stored(url: str, count: int, *, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while len(await stored(url)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} stored after {timeout} s"
        await asyncio.sleep(0.2)


async def test_replicas_a_crash_and_a_cut_lose_and_double_nothing(
    database_url: str,
    signer: SnsSigner,
    cert_dir: Path,
    tmp_path: Path,
    sqs: Sqs,  # noqa: F811
    moto_endpoint: str,  # noqa: F811
    second_url: str,
    make_client: AppMaker,
) -> None:
    envelopes = make_batch(signer, NOTIFICATIONS, topic_arn=TOPIC)
    queues = [sqs.queue(visibility=3)[0] for _ in range(QUEUES)]
    direct = make_url(database_url)
    processes: list[LiveServer] = []
    with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        env = {
            "DATABASE_URL": direct.set(port=proxy.port).render_as_string(hide_password=False),
            "DATA_DIR": str(tmp_path),
            "SNS_TOPIC_ARNS": TOPIC,
            "SNS_CERT_DIR": str(cert_dir),
            "SQS_ENDPOINT_URL": moto_endpoint,
            "SQS_WAIT_SECONDS": str(WAIT_SECONDS),
            "LOG_FORMAT": "json",
        }
        args = [part for url in queues for part in ("--queue-url", url)]

        def start(name: str) -> LiveServer:
            process = LiveServer(env, tmp_path / f"{name}.log", args, command=COMMAND)
            processes.append(process)
            process.wait_ready()
            return process

        try:
            first, _ = start("a"), start("b")
            started = time.monotonic()
            for n, url in enumerate(queues):
                await asyncio.to_thread(sqs.send, url, *envelopes[n::QUEUES])
            await wait_stored(database_url, NOTIFICATIONS // 4)
            first.process.kill()  # a crash, mid-batch most likely
            first.process.wait()
            start("c")
            await wait_stored(database_url, NOTIFICATIONS // 2)
            await asyncio.to_thread(proxy.cut)
            await asyncio.sleep(3)
            await asyncio.to_thread(proxy.restore)
            await wait_stored(database_url, NOTIFICATIONS)
            seconds = time.monotonic() - started
            left = sum([await asyncio.to_thread(sqs.count, url) for url in queues])
            for process in processes[1:]:
                process.process.terminate()
                assert process.process.wait(timeout=WAIT_SECONDS + 10) == 0, process.output()
        finally:
            for process in processes:
                process.stop()

    client, _ = await make_client(DATABASE_URL=second_url)
    await post_in_order(client, envelopes)
    disturbed, clean = await snapshot(database_url), await snapshot(second_url)
    outcome = compare(disturbed, clean)
    record(
        "consumer: two replicas, one killed, the database cut",
        notifications=NOTIFICATIONS,
        seconds=round(seconds, 1),
        left_on_queues_at_the_end=left,
        lost=outcome.lost,
        duplicates=outcome.duplicates,
        equal_state=outcome.equal_text,
    )
    assert_same_state(disturbed, clean)
