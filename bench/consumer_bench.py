"""`bouncer consume` (SPEC §8): SES events per second drained from an SQS queue.

N signed SNS notifications (bench/common.ses_message: hard and soft bounces, complaints,
1-3 recipients) are put on a queue of moto_server (SQS's real wire protocol, in a process
of its own on loopback) before the clock starts; then one `bouncer consume` process drains
it into a freshly migrated database. The clock runs from the process answering /readyz to
the last notification stored (polled in the database), so start-up is not counted.

moto_server is part of what is measured, and its ReceiveMessage costs time in proportion
to the messages on the queue (~0.5 ms each here): the notifications are spread over queues
of ``--per-queue`` messages (polled concurrently, as the consumer does), and the same
layout drained by a bare receive-and-delete client (``moto_floor``) says how fast moto
itself goes, so the figure can be read against the harness's own limit.

    python -m bench.consumer_bench --db postgresql,sqlite --events 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

from app.models import ReceivedSnsMessage
from bench.common import drop_pg_database, pg_available, presign, reset_pg_database
from tests.databases import count_rows, migrate
from tests.live import LiveServer, free_port
from tests.signing import TOPIC_ARN, SnsSigner

REGION = "us-east-1"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


class MotoServer:
    """moto_server in its own process, so its work does not share this one's GIL."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log_path.open("wb")
        moto = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen(  # noqa: S603  (the venv's moto_server)
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def client(self) -> Any:
        deadline = time.monotonic() + 30
        # moto_server takes any credentials: the fake ones the consumer is given too.
        client = boto3.session.Session(
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        ).client("sqs", endpoint_url=self.url)
        while True:
            try:
                client.list_queues()
                return client
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self._log.close()


def fill(client: Any, bodies: list[str], queues: int) -> list[str]:
    """``queues`` new queues holding ``bodies`` between them; their URLs."""
    urls = [
        client.create_queue(
            QueueName=f"bench-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "120"}
        )["QueueUrl"]
        for _ in range(queues)
    ]
    chunks = [(urls[(i // 10) % queues], bodies[i : i + 10]) for i in range(0, len(bodies), 10)]

    def send(chunk: tuple[str, list[str]]) -> None:
        url, texts = chunk
        entries = [{"Id": str(n), "MessageBody": text} for n, text in enumerate(texts)]
        answer = client.send_message_batch(QueueUrl=url, Entries=entries)
        assert not answer.get("Failed"), answer

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, chunks))
    return urls


async def _fresh(db: str, tmp: Path) -> str:
    if db == "postgresql":
        url = (await reset_pg_database()).replace("postgresql://", "postgresql+asyncpg://")
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'consume.db'}"
    await migrate(url)
    return url


def moto_floor(bodies: list[str], *, tmp: Path, args: Any) -> float:
    """Messages per second moto_server hands out and deletes, to a client that does
    nothing else (as many threads as the consumer takes batches at once)."""
    moto = MotoServer(tmp / "moto-floor.log")
    try:
        client = moto.client()
        urls = fill(client, bodies, _queues(len(bodies), args))
        pending = list(urls)

        def work() -> int:
            done = 0
            while pending:
                url = pending.pop()
                answer = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
                messages = answer.get("Messages", [])
                if not messages:
                    continue  # empty: not put back
                entries = [
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(messages)
                ]
                client.delete_message_batch(QueueUrl=url, Entries=entries)
                done += len(messages)
                pending.insert(0, url)
            return done

        started = time.perf_counter()
        with ThreadPoolExecutor(args.max_in_flight) as pool:
            drained = sum(pool.map(lambda _: work(), range(args.max_in_flight)))
        seconds = time.perf_counter() - started
    finally:
        moto.stop()
    print(f"moto_server alone: {drained / seconds:,.0f} messages/s", file=sys.stderr)
    return drained / seconds


def _queues(count: int, args: Any) -> int:
    return max(1, -(-count // args.per_queue))


def drain(db: str, *, bodies: list[str], cert_dir: Path, tmp: Path, args: Any) -> dict[str, Any]:
    moto = MotoServer(tmp / f"moto-{db}.log")
    try:
        urls = fill(moto.client(), bodies, _queues(len(bodies), args))
        database_url = asyncio.run(_fresh(db, tmp))
        env = {
            **AWS_ENV,
            "DATABASE_URL": database_url,
            "DATA_DIR": str(tmp),
            "SNS_TOPIC_ARNS": TOPIC_ARN,
            "SNS_CERT_DIR": str(cert_dir),
            "SQS_ENDPOINT_URL": moto.url,
            "SQS_WAIT_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
        }
        command = [sys.executable, "-m", "app", "consume", "--health-port", "{port}"]
        options = ["--max-in-flight", str(args.max_in_flight)]
        for url in urls:
            options += ["--queue-url", url]
        consumer = LiveServer(env, tmp / f"consume-{db}.log", options, command=command)
        try:
            consumer.wait_ready(timeout=60)
            cpu_before = _cpu_seconds(consumer.process.pid)
            started = time.perf_counter()
            while (stored := asyncio.run(count_rows(database_url, ReceivedSnsMessage))) < len(
                bodies
            ):
                if time.perf_counter() - started > args.timeout:
                    raise TimeoutError(f"{stored} of {len(bodies)} stored: {consumer.output()}")
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            cpu = _cpu_seconds(consumer.process.pid) - cpu_before
        finally:
            consumer.stop()
        if db == "postgresql":
            asyncio.run(drop_pg_database())
    finally:
        moto.stop()
    rate = len(bodies) / seconds
    cpu_ms = cpu * 1000 / len(bodies)
    print(
        f"{db}: {len(bodies)} events in {seconds:.2f} s, {rate:,.0f} events/s; the consumer "
        f"spent {cpu_ms:.2f} ms of CPU per event",
        file=sys.stderr,
    )
    return {
        "db": db,
        "events": len(bodies),
        "seconds": round(seconds, 2),
        "events_per_s": round(rate),
        # What one core could take if SQS cost nothing (the database server's CPU aside).
        "consumer_cpu_ms_per_event": round(cpu_ms, 3),
    }


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of process ``pid`` so far (Linux's /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    dbs: list[str],
    *,
    events: int,
    per_queue: int = 50,
    max_in_flight: int = 4,
    timeout: float = 300,
) -> dict[str, Any]:
    """The consumer's figures on each of ``dbs`` (PostgreSQL skipped when unreachable),
    and moto's own floor for the same layout of queues."""
    args = argparse.Namespace(per_queue=per_queue, max_in_flight=max_in_flight, timeout=timeout)
    signer = SnsSigner.create()
    results = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        cert_dir = tmp / "certs"
        cert_dir.mkdir()
        signer.write_cert(cert_dir)
        bodies = [body for body, _ in presign(signer, events)]
        floor = moto_floor(bodies, tmp=tmp, args=args)
        for db in dbs:
            if db == "postgresql" and not asyncio.run(pg_available()):
                print("PostgreSQL unreachable: skipped", file=sys.stderr)
                continue
            results.append(drain(db, bodies=bodies, cert_dir=cert_dir, tmp=tmp, args=args))
    return {
        "bench": "consumer",
        "events": events,
        "queues": _queues(events, args),
        "max_in_flight": max_in_flight,
        "moto_floor_messages_per_s": round(floor),
        "results": results,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql,sqlite")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--per-queue", type=int, default=50)
    parser.add_argument("--max-in-flight", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    summary = measure(
        args.db.split(","),
        events=args.events,
        per_queue=args.per_queue,
        max_in_flight=args.max_in_flight,
        timeout=args.timeout,
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
