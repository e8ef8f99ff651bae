"""The database failing under the consumer: nothing deleted that was not committed, and
afterwards exactly the state of an undisturbed run; two consumers on one queue."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from app.db import Database, sqlite_path
from app.settings import Settings
from tests.batches import assert_same_state, snapshot
from tests.conftest import TOPIC, make_settings
from tests.databases import DatabaseFactory
from tests.queue_consumer.conftest import (
    Sqs,
    queue_empty,
    queue_holds,
    running_consumer,
    state,
    wait_for,
)
from tests.ses_payloads import bounce_storm
from tests.signing import SnsSigner
from tests.tcp_proxy import TcpProxy


@pytest.fixture
def other_database_url(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh()
    yield url
    databases.release(url)


def storm(signer: SnsSigner, size: int) -> list[dict[str, Any]]:
    """Signed notifications of a bounce storm: hard and soft bounces, complaints and
    deliveries, each event in both SES shapes (two SNS MessageIds, one effect)."""
    return [signer.make_notification(body, topic_arn=TOPIC) for body in bounce_storm(size)]


async def undisturbed(
    settings: Settings, url: str, sqs: Sqs, bodies: list[dict[str, Any]]
) -> dict[str, Any]:
    """The state one consumer leaves in a fresh database at ``url`` after ``bodies``."""
    queue, _ = sqs.queue()
    sqs.send(queue, *bodies)
    calm = make_settings(**{**settings.model_dump(exclude_unset=True), "DATABASE_URL": url})
    async with running_consumer(calm, [queue]):
        await queue_empty(sqs, queue)
    return await snapshot(url)


@pytest.mark.postgres
async def test_a_cut_database_loses_nothing_and_stores_nothing_twice(
    consumer_settings: Settings, other_database_url: str, sqs: Sqs, signer: SnsSigner
) -> None:
    bodies = storm(signer, 40)
    url = make_url(consumer_settings.database_url)
    # A short visibility timeout: what a failed batch held comes back within a second.
    queue, _ = sqs.queue(visibility=1)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
        database = Database(proxied, statement_timeout=2)
        try:
            async with running_consumer(consumer_settings, [queue], database=database) as run:
                sqs.send(queue, *bodies[:10])
                await queue_empty(sqs, queue)
                before = await state(consumer_settings.database_url)
                proxy.cut()
                sqs.send(queue, *bodies[10:])
                await wait_for(lambda: run.consumer.not_ready() is not None, what="not ready")
                assert "unreachable" in (run.consumer.not_ready() or "")
                # Nothing of the failed batches was stored, nor deleted.
                assert await state(consumer_settings.database_url) == before
                # moto reads the visible and the in-flight counts one after the other, so a
                # message whose visibility ends (or starts) between the two is counted twice
                # (or not at all) for an instant: the count settles at 30. A message deleted
                # without being stored would keep it below for good.
                await wait_for(lambda: sqs.count(queue) == 30, what="30 messages on the queue")
                proxy.restore()
                await queue_empty(sqs, queue)
                await wait_for(lambda: run.consumer.not_ready() is None, what="ready again")
        finally:
            await database.dispose()
    after = await snapshot(consumer_settings.database_url)
    assert_same_state(after, await undisturbed(consumer_settings, other_database_url, sqs, bodies))
    assert len(after["message_ids"]) == 40


async def test_a_locked_database_holds_the_messages_until_it_frees(
    consumer_settings: Settings, other_database_url: str, sqs: Sqs, signer: SnsSigner
) -> None:
    """On SQLite: another writer holds the lock past the busy timeout (on PostgreSQL a lock
    wait is not an outage; the cut above is)."""
    if not consumer_settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    bodies = storm(signer, 20)
    path = sqlite_path(consumer_settings.database_url)
    assert path is not None
    queue, _ = sqs.queue(visibility=1)
    locker = sqlite3.connect(path, isolation_level=None)
    database = Database(consumer_settings.database_url, statement_timeout=0.3)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        async with running_consumer(consumer_settings, [queue], database=database) as run:
            sqs.send(queue, *bodies)
            await wait_for(lambda: run.consumer.not_ready() is not None, what="not ready")
            await asyncio.sleep(1.5)  # a few rounds of failing batches
            # See the cut above: the count settles.
            await wait_for(lambda: sqs.count(queue) == 20, what="20 messages on the queue")
            locker.execute("ROLLBACK")
            await queue_empty(sqs, queue)
    finally:
        locker.close()
        await database.dispose()
    after = await snapshot(consumer_settings.database_url)
    assert_same_state(after, await undisturbed(consumer_settings, other_database_url, sqs, bodies))


@pytest.mark.postgres
async def test_two_consumers_on_one_queue_leave_the_state_of_one(
    consumer_settings: Settings, other_database_url: str, sqs: Sqs, signer: SnsSigner
) -> None:
    bodies = storm(signer, 60)
    bodies += bodies[:10]  # SNS delivering some again, under the same MessageId
    # Visibility 1 s: both consumers receive the same messages again and again until one
    # deletes them, so the two take the same events at the same time. (At 0 a receive by
    # one makes the other's receipt handle stale at once — SQS deletes only with the
    # newest — and on a loaded machine neither ever deletes in time.)
    queue, _ = sqs.queue(visibility=1)
    sqs.send(queue, *bodies)
    async with (
        running_consumer(consumer_settings, [queue]),
        running_consumer(consumer_settings, [queue]),
    ):
        await queue_empty(sqs, queue, timeout=90)
    after = await snapshot(consumer_settings.database_url)
    assert_same_state(after, await undisturbed(consumer_settings, other_database_url, sqs, bodies))
    assert len(after["message_ids"]) == 60
    await queue_holds(sqs, queue, 0)
