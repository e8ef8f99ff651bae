"""Every statement is bounded (DATABASE_STATEMENT_TIMEOUT_SECONDS): a database that stops
answering is a 503 within SNS's 15 s, never a request that waits for the kernel."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db import is_sqlite, sqlite_path
from tests.batches import stored_message_ids
from tests.conftest import TOPIC, AppMaker
from tests.ses_payloads import bounce
from tests.signing import SnsSigner, post_args
from tests.tcp_proxy import TcpProxy

# SNS waits 15 s for an answer, then retries.
SNS_TIMEOUT = 15.0
BOUND = 2.0


async def timed_post(client: httpx.AsyncClient, envelope: dict[str, Any]) -> tuple[int, str, float]:
    """(status, body, seconds); status 0 when nothing came back in 30 s."""
    body, headers = post_args(envelope)
    started = time.monotonic()
    try:
        async with asyncio.timeout(30):
            response = await client.post("/sns", content=body, headers=headers)
    except TimeoutError:
        return 0, "", time.monotonic() - started
    return response.status_code, response.text, time.monotonic() - started


@asynccontextmanager
async def write_locked(url: str) -> AsyncIterator[None]:
    """Another client holds the write lock on sns_message, as a long transaction would."""
    if is_sqlite(url):
        path = sqlite_path(url)
        assert path is not None
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    parts = make_url(url)
    connection = await asyncpg.connect(
        host=parts.host, port=parts.port, user=parts.username, database=parts.database
    )
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE sns_message IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await connection.close()


class TestStatementTimeout:
    async def test_a_lock_held_elsewhere_is_503_within_the_bound(
        self, make_client: AppMaker, signer: SnsSigner, database_url: str
    ) -> None:
        client, _ = await make_client(DATABASE_STATEMENT_TIMEOUT_SECONDS=BOUND)
        envelope = signer.make_notification(bounce(["ann@example.com"]), topic_arn=TOPIC)
        async with write_locked(database_url):
            status, body, seconds = await timed_post(client, envelope)
        assert status == 503, body
        assert "SNS will retry" in body
        assert BOUND * 0.8 <= seconds < SNS_TIMEOUT
        assert await stored_message_ids(database_url) == set()
        # The lock gone, SNS's retry goes through.
        assert (await timed_post(client, envelope))[0] == 200


@pytest.mark.postgres
class TestFrozenConnection:
    async def test_frozen_mid_request_is_503_within_sns_timeout(
        self, make_client: AppMaker, signer: SnsSigner, database_url: str
    ) -> None:
        direct = make_url(database_url)
        with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
            proxied = direct.set(host="127.0.0.1", port=proxy.port)
            client, app = await make_client(
                DATABASE_URL=proxied.render_as_string(hide_password=False),
                DATABASE_STATEMENT_TIMEOUT_SECONDS=BOUND,
            )
            first = signer.make_notification(bounce(["ann@example.com"]), topic_arn=TOPIC)
            # Warms the pool: the next request takes a pooled connection and goes silent
            # on its first statement, as when the database host vanishes without a reset.
            assert (await timed_post(client, first))[0] == 200
            await asyncio.to_thread(proxy.freeze)
            second = signer.make_notification(bounce(["bob@example.com"]), topic_arn=TOPIC)
            status, body, seconds = await timed_post(client, second)
            await asyncio.to_thread(proxy.restore)
            await app.state.services.database.engine.dispose()
        assert status == 503, body
        assert seconds < SNS_TIMEOUT
        assert await stored_message_ids(database_url) == {first["MessageId"]}
