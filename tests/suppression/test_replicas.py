"""Two live server processes on one database receive the same 1,000 notifications at once.

The final state must equal one clean pass: SNS delivers at least once, and a load
balancer may hand the copies to different replicas at the same instant.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db import Database
from app.models import Event, RecipientState, SnsMessage, Suppression
from tests.conftest import TOPIC, AppMaker
from tests.databases import DatabaseFactory
from tests.live import LiveServer
from tests.ses_payloads import bounce, complaint, delivery
from tests.signing import SnsSigner, post_args

BATCH = 1000


def make_batch(signer: SnsSigner) -> list[dict[str, Any]]:
    """A bounce storm: hard, soft (some reaching the limit), complaints, deliveries, and
    the same bounces again in the other SES shape under new SNS MessageIds."""
    rng = random.Random(1234)
    now = datetime.now(UTC)
    messages: list[str] = []
    for n in range(BATCH // 2):
        email = f"user{n % 200}@example.com"
        at = now - timedelta(minutes=rng.randrange(0, 600))
        kind = rng.choice(["hard", "soft", "soft", "complaint", "delivery"])
        if kind == "hard":
            fb = f"fb-hard-{n}"
            messages.append(bounce([email], feedback_id=fb, message_id=f"m{n}", at=at))
            messages.append(
                bounce([email], feedback_id=fb, message_id=f"m{n}", at=at, shape="event")
            )
        elif kind == "soft":
            fb = f"fb-soft-{n}"
            soft: dict[str, Any] = {"bounce_type": "Transient", "status": "4.2.2", "at": at}
            messages.append(bounce([email], feedback_id=fb, message_id=f"m{n}", **soft))
            messages.append(
                bounce([email], feedback_id=fb, message_id=f"m{n}", shape="event", **soft)
            )
        elif kind == "complaint":
            messages.append(complaint([email], feedback_id=f"fb-c-{n}"))
            messages.append(complaint([email], feedback_id=f"fb-c-{n}", shape="event"))
        else:
            messages.append(delivery([email], message_id=f"m{n}", at=at))
            messages.append(delivery([email], message_id=f"m{n}", at=at))
    return [signer.make_notification(m, topic_arn=TOPIC) for m in messages[:BATCH]]


async def snapshot(url: str) -> dict[str, Any]:
    """Everything that must match, minus wall-clock columns."""
    database = Database(url)
    try:
        async with database.session() as session:
            rows = list(await session.scalars(select(Suppression)))
            entries = sorted((r.email, r.reason, r.expires_at) for r in rows)
            # Which of several equivalent events an entry names as its cause may differ
            # with arrival order; that it names one of this address's events may not.
            causes = {
                (e.feedback_id, e.email)
                for e in await session.scalars(select(Event).where(Event.feedback_id.is_not(None)))
            }
            orphans = [r.email for r in rows if (r.feedback_id, r.email) not in causes]
            states = sorted(
                (r.email, r.soft_bounce_count, r.last_soft_bounce_at, r.soft_reset_at)
                for r in await session.scalars(select(RecipientState))
            )
            counts = {
                model.__tablename__: await session.scalar(select(func.count()).select_from(model))
                for model in (Event, SnsMessage, Suppression)
            }
            events = sorted((e.dedupe_key, e.verdict) for e in await session.scalars(select(Event)))
    finally:
        await database.dispose()
    return {
        "entries": entries,
        "states": states,
        "counts": counts,
        "events": events,
        "orphans": orphans,
    }


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


class TestTwoReplicas:
    async def test_same_batch_on_two_servers_equals_one_clean_pass(
        self,
        database_url: str,
        second_url: str,
        signer: SnsSigner,
        cert_dir: Path,
        tmp_path: Path,
        make_client: AppMaker,
    ) -> None:
        envelopes = make_batch(signer)
        env = {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(tmp_path),
            "SNS_TOPIC_ARNS": TOPIC,
            "SNS_CERT_DIR": str(cert_dir),
            "API_TOKENS": "ops=t",
            "LOG_LEVEL": "WARNING",
        }
        servers = [LiveServer(env, tmp_path / f"replica{i}.log") for i in range(2)]
        try:
            for server in servers:
                server.wait_ready()
            statuses = await post_all([s.url for s in servers], envelopes)
        finally:
            for server in servers:
                server.stop()
        assert set(statuses) == {200}, [s.output()[-2000:] for s in servers]

        # The clean pass: each message once, in order, through one in-process app.
        client, _ = await make_client(DATABASE_URL=second_url)
        for envelope in envelopes:
            body, headers = post_args(envelope)
            assert (await client.post("/sns", content=body, headers=headers)).status_code == 200

        racing, clean = await snapshot(database_url), await snapshot(second_url)
        assert racing["counts"] == clean["counts"]
        assert racing["events"] == clean["events"]
        assert racing["entries"] == clean["entries"]
        assert racing["states"] == clean["states"]
        assert racing["orphans"] == clean["orphans"] == []
        assert clean["counts"]["sns_message"] == BATCH
        assert clean["counts"]["suppression"] > 0
