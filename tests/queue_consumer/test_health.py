"""GET /healthz, /readyz and /metrics of the consumer's tiny health server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.queues.health import HealthServer
from app.settings import Settings
from tests.outages import unreachable_database
from tests.queue_consumer.conftest import (
    Sqs,
    queue_empty,
    running_consumer,
    signed_bounce,
    wait_for,
)
from tests.signing import SnsSigner


class Fixed:
    def __init__(self) -> None:
        self.reason: str | None = None

    def __call__(self) -> str | None:
        return self.reason


@pytest.fixture
async def served() -> AsyncIterator[tuple[httpx.AsyncClient, Fixed]]:
    readiness = Fixed()
    server = HealthServer(readiness, host="127.0.0.1", port=0)
    await server.start()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        yield client, readiness
    await server.close()


class TestEndpoints:
    async def test_alive_and_ready(self, served: tuple[httpx.AsyncClient, Fixed]) -> None:
        client, _ = served
        alive = await client.get("/healthz")
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})

    async def test_not_ready_says_why(self, served: tuple[httpx.AsyncClient, Fixed]) -> None:
        client, readiness = served
        readiness.reason = "the database is unreachable (ConnectionRefusedError)"
        answer = await client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "unavailable", "error": readiness.reason}
        assert (await client.get("/healthz")).status_code == 200

    async def test_metrics_are_prometheus_text(
        self, served: tuple[httpx.AsyncClient, Fixed]
    ) -> None:
        client, _ = served
        answer = await client.get("/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        assert "# TYPE bouncer_sqs_messages_total counter" in answer.text
        assert "bouncer_sqs_batch_duration_seconds" in answer.text
        assert "bouncer_sqs_queue_lag_seconds" in answer.text

    async def test_other_paths_and_methods(self, served: tuple[httpx.AsyncClient, Fixed]) -> None:
        client, _ = served
        assert (await client.get("/nope")).status_code == 404
        assert (await client.post("/readyz")).status_code == 405
        head = await client.head("/healthz")
        assert (head.status_code, head.content) == (200, b"")

    async def test_garbage_gets_a_400_and_the_server_goes_on(
        self, served: tuple[httpx.AsyncClient, Fixed]
    ) -> None:
        client, _ = served
        port = client.base_url.port
        assert port is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello\r\n\r\n")
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        assert answer.startswith(b"HTTP/1.1 400 ")
        assert (await client.get("/healthz")).status_code == 200


class TestReadiness:
    async def test_ready_while_polling_and_not_after_the_database_failed(
        self,
        consumer_settings: Settings,
        sqs: Sqs,
        signer: SnsSigner,
        tmp_path: Path,
    ) -> None:
        url, _ = sqs.queue(visibility=1)
        async with running_consumer(consumer_settings, [url]) as run:
            assert run.consumer.not_ready() is None
        gone = unreachable_database(consumer_settings.database_url, tmp_path)
        try:
            async with running_consumer(consumer_settings, [url], database=gone) as run:
                sqs.send(url, signed_bounce(signer, "ora@example.com"))
                await wait_for(lambda: run.consumer.not_ready() is not None, what="not ready")
                assert "unreachable" in (run.consumer.not_ready() or "")
                assert sqs.count(url) == 1  # not deleted
        finally:
            await gone.dispose()
        async with running_consumer(consumer_settings, [url]):
            await queue_empty(sqs, url)  # SQS delivered it again, and it was taken

    async def test_not_ready_while_the_database_is_gone_and_the_queue_is_quiet(
        self, consumer_settings: Settings, sqs: Sqs, tmp_path: Path
    ) -> None:
        # SPEC §8: "its health says not ready" while the database is unreachable. No batch
        # fails while nothing arrives (a night, a weekend): an empty receive checks it.
        url, _ = sqs.queue(visibility=1)
        gone = unreachable_database(consumer_settings.database_url, tmp_path)
        try:
            async with running_consumer(consumer_settings, [url], database=gone) as run:
                # Several long polls (SQS_WAIT_SECONDS=1) and back-off periods go by.
                await asyncio.sleep(3)
                assert "unreachable" in (run.consumer.not_ready() or ""), (
                    "/readyz answers 200 ready while every database connection fails"
                )
        finally:
            await gone.dispose()
