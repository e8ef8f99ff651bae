"""A real `bouncer consume` process: health over HTTP, SIGTERM mid-batch (exit 0 within
SQS_WAIT_SECONDS + 10 s, even with the database gone), and the command's errors."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db import sqlite_path
from app.models import ReceivedSnsMessage
from app.settings import Settings
from tests.cli_runs import invoke
from tests.conftest import TOPIC
from tests.databases import count_rows, run_isolated
from tests.live import LiveServer
from tests.queue_consumer.conftest import Sqs, signed_bounce, state
from tests.signing import SnsSigner
from tests.tcp_proxy import TcpProxy

WAIT_SECONDS = 1
BOUND = WAIT_SECONDS + 10  # SPEC §8: from SIGTERM to exit
COMMAND = (sys.executable, "-m", "app", "consume", "--health-port", "{port}")


@contextmanager
def consuming(settings: Settings, tmp_path: Path, queue: str, **env: str) -> Iterator[LiveServer]:
    values = {
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(tmp_path),
        "SNS_TOPIC_ARNS": TOPIC,
        "SNS_CERT_DIR": str(settings.SNS_CERT_DIR),
        "SQS_ENDPOINT_URL": str(settings.SQS_ENDPOINT_URL),
        "SQS_WAIT_SECONDS": str(WAIT_SECONDS),
        "LOG_FORMAT": "json",
        **env,
    }
    process = LiveServer(values, tmp_path / "consume.log", ["--queue-url", queue], command=COMMAND)
    try:
        yield process
    finally:
        process.stop()


def stop_within_bound(process: LiveServer, *, then_sigint: bool = False) -> float:
    """SIGTERM (and with ``then_sigint`` an impatient SIGINT half a second later), then
    the seconds until the process exited 0."""
    started = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    if then_sigint:
        time.sleep(0.5)
        process.process.send_signal(signal.SIGINT)
    code = process.process.wait(timeout=BOUND + 10)
    took = time.monotonic() - started
    assert code == 0, process.output()
    assert took < (2 if then_sigint else BOUND), (took, process.output())
    return took


def stored_ids(url: str) -> set[str]:
    held: dict[str, Any] = run_isolated(lambda: state(url))
    return {row[0] for row in held["sns"]}


def drain_ids(sqs: Sqs, queue: str) -> set[str]:
    """The SNS MessageIds of what is left on ``queue`` (each received once, and kept)."""
    found: set[str] = set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and sqs.count(queue) > len(found):
        answer = sqs.client.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=1
        )
        found |= {json.loads(m["Body"])["MessageId"] for m in answer.get("Messages", [])}
    return found


def test_sigterm_mid_stream_deletes_only_what_was_stored(
    consumer_settings: Settings, sqs: Sqs, signer: SnsSigner, tmp_path: Path
) -> None:
    queue, _ = sqs.queue(visibility=2)
    envelopes = [signed_bounce(signer, f"u{n}@example.com") for n in range(400)]
    sent = {e["MessageId"] for e in envelopes}
    with consuming(consumer_settings, tmp_path, queue) as process:
        process.wait_ready()
        assert httpx.get(f"{process.url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{process.url}/readyz").json() == {"status": "ready"}
        sqs.send(queue, *envelopes)
        url = consumer_settings.database_url
        deadline = time.monotonic() + 30
        while run_isolated(lambda: count_rows(url, ReceivedSnsMessage)) == 0:
            assert time.monotonic() < deadline, process.output()
            time.sleep(0.02)
        metrics = httpx.get(f"{process.url}/metrics").text
        assert "bouncer_sqs_messages_total{" in metrics
        stop_within_bound(process)
        log = process.output()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line["msg"].startswith("SIGTERM: stopping") for line in lines)
    assert lines[-1]["msg"] == "stopped"
    stored = stored_ids(url)
    left = drain_ids(sqs, queue)
    # Every message is stored or still on the queue: none was deleted unstored.
    assert stored | left == sent
    assert stored  # and the process did take some before it stopped


@pytest.mark.parametrize("then_sigint", [False, True], ids=["sigterm", "then-sigint"])
def test_sigterm_with_the_database_gone_still_exits_in_time(
    consumer_settings: Settings, sqs: Sqs, signer: SnsSigner, tmp_path: Path, then_sigint: bool
) -> None:
    """A batch stuck on the database (a lock held past any wait, or a database that went
    silent) is given up at the deadline: nothing of it deleted, exit 0 within the bound;
    at once on a second signal."""
    queue, _ = sqs.queue(visibility=2)
    url = consumer_settings.database_url
    # Statements that would wait a minute: only the stop's deadline ends them.
    slow = {"DATABASE_STATEMENT_TIMEOUT_SECONDS": "60"}
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        assert path is not None
        with consuming(consumer_settings, tmp_path, queue, **slow) as process:
            process.wait_ready()
            locker = sqlite3.connect(path, isolation_level=None)
            try:
                locker.execute("BEGIN EXCLUSIVE")
                sqs.send(queue, *[signed_bounce(signer, f"v{n}@example.com") for n in range(5)])
                time.sleep(WAIT_SECONDS + 1.5)  # received, and stuck on the lock
                stop_within_bound(process, then_sigint=then_sigint)
            finally:
                locker.close()
    else:
        parsed = make_url(url)
        with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
            proxied = parsed.set(port=proxy.port).render_as_string(hide_password=False)
            with consuming(
                consumer_settings, tmp_path, queue, DATABASE_URL=proxied, **slow
            ) as process:
                process.wait_ready()
                proxy.freeze()  # the database host vanished: no answer, no reset
                sqs.send(queue, *[signed_bounce(signer, f"v{n}@example.com") for n in range(5)])
                time.sleep(WAIT_SECONDS + 1.5)
                stop_within_bound(process, then_sigint=then_sigint)
                proxy.restore()
    assert stored_ids(url) == set()
    # Nothing deleted. moto may count a message whose visibility changes as it answers
    # twice or not at all for an instant: the count settles at 5.
    deadline = time.monotonic() + 10
    while sqs.count(queue) != 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sqs.count(queue) == 5


@pytest.mark.postgres
def test_an_unreachable_database_at_start_is_waited_for(
    consumer_settings: Settings, sqs: Sqs, tmp_path: Path
) -> None:
    queue, _ = sqs.queue()
    gone = "postgresql://postgres@127.0.0.1:1/bouncer"
    with consuming(consumer_settings, tmp_path, queue, DATABASE_URL=gone) as process:
        process.wait_ready(path="/healthz")
        ready = httpx.get(f"{process.url}/readyz")
        assert ready.status_code == 503
        assert "cannot reach the database" in ready.json()["error"]
        stop_within_bound(process)


class TestCommandErrors:
    def test_no_queue_is_exit_2(self, consumer_settings: Settings) -> None:
        result = invoke(
            {"DATABASE_URL": consumer_settings.database_url, "SQS_QUEUE_URLS": None}, "consume"
        )
        assert result.exit_code == 2
        assert result.stderr == (
            "error: no queue to consume: set SQS_QUEUE_URLS (comma-separated) or pass "
            "--queue-url URL\n"
        )

    def test_a_bad_queue_url_is_exit_2(self, consumer_settings: Settings) -> None:
        env = {"DATABASE_URL": consumer_settings.database_url, "SQS_QUEUE_URLS": "my-queue"}
        result = invoke(env, "consume")
        assert result.exit_code == 2
        assert result.stderr.startswith("error: SQS_QUEUE_URLS: 'my-queue' is not an http(s) URL")
        flagged = invoke(env, "consume", "--queue-url", "https://sqs.us-east-1.amazonaws.com/")
        assert flagged.exit_code == 2
        assert "--queue-url" in flagged.stderr
        assert "names no queue" in flagged.stderr

    def test_a_bad_setting_is_exit_2(self, consumer_settings: Settings) -> None:
        env = {
            "DATABASE_URL": consumer_settings.database_url,
            "SQS_QUEUE_URLS": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            "SQS_WAIT_SECONDS": "30",
        }
        result = invoke(env, "consume")
        assert result.exit_code == 2
        assert "SQS_WAIT_SECONDS" in result.stderr

    def test_a_missing_database_is_exit_3_and_not_created(self, tmp_path: Path) -> None:
        missing = tmp_path / "typo" / "bouncer.db"
        result = invoke(
            {"DATABASE_URL": f"sqlite:///{missing}"},
            "consume",
            "--queue-url",
            "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        )
        assert result.exit_code == 3
        assert result.stderr.startswith(f"error: no database at sqlite+aiosqlite:///{missing}")
        assert not missing.parent.exists()

    def test_a_taken_health_port_is_exit_2(self, consumer_settings: Settings, sqs: Sqs) -> None:
        queue, _ = sqs.queue()
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = invoke(
                {
                    "DATABASE_URL": consumer_settings.database_url,
                    "SQS_ENDPOINT_URL": str(consumer_settings.SQS_ENDPOINT_URL),
                },
                "consume",
                "--queue-url",
                queue,
                "--health-port",
                str(port),
            )
        assert result.exit_code == 2
        assert f"cannot serve the health endpoints on 127.0.0.1:{port}" in result.stderr
