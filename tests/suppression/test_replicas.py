"""Live server processes on one database receive the same notifications at once.

Two replicas take REPLICA_NOTIFICATIONS (default 1,000) on any database; the slow
variant runs three on PostgreSQL (``make reliability``: 10,000). The final state must
equal one clean pass: SNS delivers at least once, and a load balancer may hand the
copies to different replicas at the same instant.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.batches import assert_same_state, compare, make_batch, post_in_order, snapshot
from tests.conftest import TOPIC, AppMaker
from tests.databases import DatabaseFactory
from tests.figures import record
from tests.live import LiveServer
from tests.signing import SnsSigner, post_args

NOTIFICATIONS = int(os.environ.get("REPLICA_NOTIFICATIONS", "1000"))
# Each server spends several CPU-seconds importing; a few starting at once on a busy
# 2-core box take well over LiveServer's default minute.
STARTUP_SECONDS = 180.0


@pytest.fixture
def second_url(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh()
    yield url
    databases.release(url)


async def post_all(urls: list[str], envelopes: list[dict[str, Any]]) -> list[int]:
    """Each envelope to every server, interleaved and concurrent (at most 16 in flight)."""
    gate = asyncio.Semaphore(16)
    jobs = [(url, e) for e in envelopes for url in urls]
    random.Random(99).shuffle(jobs)
    async with httpx.AsyncClient(timeout=60) as client:

        async def one(url: str, envelope: dict[str, Any]) -> int:
            body, headers = post_args(envelope)
            async with gate:
                return (await client.post(f"{url}/sns", content=body, headers=headers)).status_code

        return await asyncio.gather(*(one(url, e) for url, e in jobs))


class TestReplicas:
    @pytest.mark.parametrize(
        "replicas",
        [
            pytest.param(2, id="two"),
            # Three processes hold three pools: PostgreSQL's row locks and unique keys,
            # not SQLite's single writer, are what keep them from counting twice.
            pytest.param(3, id="three", marks=[pytest.mark.slow, pytest.mark.postgres]),
        ],
    )
    async def test_same_batch_on_every_replica_equals_one_clean_pass(
        self,
        replicas: int,
        database_url: str,
        second_url: str,
        signer: SnsSigner,
        cert_dir: Path,
        tmp_path: Path,
        make_client: AppMaker,
    ) -> None:
        envelopes = make_batch(signer, NOTIFICATIONS, topic_arn=TOPIC)
        env = {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(tmp_path),
            "SNS_TOPIC_ARNS": TOPIC,
            "SNS_CERT_DIR": str(cert_dir),
            "API_TOKENS": "ops=unused-token-0123456789",
            "LOG_LEVEL": "WARNING",
        }
        servers = [LiveServer(env, tmp_path / f"replica{i}.log") for i in range(replicas)]
        started = time.monotonic()
        try:
            for server in servers:
                server.wait_ready(timeout=STARTUP_SECONDS)
            statuses = await post_all([s.url for s in servers], envelopes)
        finally:
            for server in servers:
                server.stop()
        racing_seconds = time.monotonic() - started
        assert set(statuses) == {200}, [s.output()[-2000:] for s in servers]

        # The clean pass: each message once, in order, through one in-process app.
        client, _ = await make_client(DATABASE_URL=second_url)
        await post_in_order(client, envelopes)

        racing, clean = await snapshot(database_url), await snapshot(second_url)
        outcome = compare(racing, clean)
        record(
            "replicas",
            notifications=len(envelopes),
            replicas=replicas,
            posts=len(statuses),
            answered_200=statuses.count(200),
            final_state_equal=outcome.equal_text,
            lost=outcome.lost,
            duplicates=outcome.duplicates,
            seconds=round(racing_seconds, 1),
        )
        assert_same_state(racing, clean)
        assert clean["counts"]["sns_message"] == NOTIFICATIONS
        assert clean["counts"]["suppression"] > 0
