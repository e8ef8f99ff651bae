"""Soak: a live server under a steady load for SOAK_SECONDS (``make reliability``: 600).

A bounded, self-stopping open loop on loopback posts signed bounces, complaints and
deliveries at SOAK_RATE per second, with a bulk check every second as a sending
application would make. It must end with 0 errors, the server's resident memory within
10 % of its size after warm-up, and its open sockets (and, on PostgreSQL, its database
connections) bounded by the pool, not growing with the number of requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db import is_sqlite
from tests.conftest import TOPIC
from tests.figures import record
from tests.live import LiveServer
from tests.ses_payloads import bounce, complaint, delivery
from tests.signing import SnsSigner, post_args

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("SOAK_SECONDS", "30"))
RATE = float(os.environ.get("SOAK_RATE", "20"))
# Memory is compared from the end of warm-up: imports, caches and pools fill by then.
WARM_UP = max(5.0, SECONDS * 0.2)
SAMPLE_EVERY = 2.0
TOKEN = "soak-token"


@dataclass
class Samples:
    rss_kib: list[tuple[float, int]] = field(default_factory=list)
    sockets: list[int] = field(default_factory=list)
    db_connections: list[int] = field(default_factory=list)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def open_sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed between listing and reading
            count += os.readlink(fd).startswith("socket:")
    return count


async def pg_connections(url: str) -> int:
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", parsed.database
        )
        return count
    finally:
        await conn.close()


def message(rng: random.Random, n: int) -> str:
    email = f"soak{rng.randrange(5000)}@example.com"
    kind = rng.random()
    if kind < 0.5:
        return bounce([email], message_id=f"soak-{n}")
    if kind < 0.7:
        return bounce([email], bounce_type="Transient", status="4.2.2", message_id=f"soak-{n}")
    if kind < 0.8:
        return complaint([email])
    return delivery([email], message_id=f"soak-{n}")


async def test_steady_load_without_errors_leaks_or_growing_connections(
    database_url: str, signer: SnsSigner, cert_dir: Path, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "SNS_TOPIC_ARNS": TOPIC,
        "SNS_CERT_DIR": str(cert_dir),
        "API_TOKENS": f"soak={TOKEN}",
        "LOG_LEVEL": "WARNING",
    }
    server = LiveServer(env, tmp_path / "soak.log")
    statuses: dict[int, int] = {}
    errors: list[str] = []
    samples = Samples()
    sent = 0
    try:
        server.wait_ready()
        pid = server.process.pid
        rng = random.Random(7)
        start = time.monotonic()
        deadline = start + SECONDS
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:

            async def post(n: int) -> None:
                envelope = signer.make_notification(message(rng, n), topic_arn=TOPIC)
                body, headers = post_args(envelope)
                try:
                    answer = await client.post("/sns", content=body, headers=headers)
                except httpx.HTTPError as exc:
                    errors.append(f"notification {n}: {exc!r}")
                    return
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                if answer.status_code != 200:
                    errors.append(f"notification {n}: {answer.status_code} {answer.text[:200]}")

            async def check(n: int) -> None:
                emails = [f"soak{rng.randrange(5000)}@example.com" for _ in range(50)]
                answer = await client.post(
                    "/v1/suppressions/check",
                    json={"emails": emails},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                if answer.status_code != 200:
                    errors.append(f"check {n}: {answer.status_code} {answer.text[:200]}")

            async def sample() -> None:
                while time.monotonic() < deadline:
                    samples.rss_kib.append((time.monotonic() - start, rss_kib(pid)))
                    samples.sockets.append(open_sockets(pid))
                    if not is_sqlite(database_url):
                        samples.db_connections.append(await pg_connections(database_url))
                    await asyncio.sleep(SAMPLE_EVERY)

            sampler = asyncio.create_task(sample())
            tasks: set[asyncio.Task[None]] = set()
            # Open loop: request n is due at start + n / RATE, however slow the last was.
            while (due := start + sent / RATE) < deadline:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                job = check(sent) if sent % max(1, int(RATE)) == 0 else post(sent)
                task = asyncio.create_task(job)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            await asyncio.gather(*tasks)
            await sampler
    finally:
        server.stop()

    after_warm_up = [kib for at, kib in samples.rss_kib if at >= WARM_UP]
    assert len(after_warm_up) >= 2, samples.rss_kib
    growth = (after_warm_up[-1] - after_warm_up[0]) / after_warm_up[0]
    record(
        "soak",
        seconds=int(SECONDS),
        requests=sent,
        errors=len(errors),
        rss_after_warm_up_mib=round(after_warm_up[0] / 1024, 1),
        rss_end_mib=round(after_warm_up[-1] / 1024, 1),
        rss_growth_percent=round(growth * 100, 1),
        max_open_sockets=max(samples.sockets),
        max_db_connections=max(samples.db_connections, default=0),
    )
    assert errors == [], errors[:10]
    assert statuses.get(200, 0) > 0
    assert growth < 0.10, samples.rss_kib
    # Bounded: the client's 32 connections, the pool (10 + 10 overflow) and the listener.
    assert max(samples.sockets) <= 32 + 20 + 4, samples.sockets
    assert max(samples.db_connections, default=0) <= 20, samples.db_connections
