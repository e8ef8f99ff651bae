"""A client that sends its request slowly is cut off: headers within
REQUEST_HEADER_TIMEOUT_SECONDS, the whole body within REQUEST_BODY_TIMEOUT_SECONDS, however
regularly the bytes trickle in. Against a live server (`bouncer serve`), with raw sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.conftest import TOPIC
from tests.databases import DatabaseFactory
from tests.live import LiveServer

BOUND = 2.0
# Each trickled byte comes well within uvicorn's and the body's idle timers.
TRICKLE = 0.25
# What a test waits at most before it calls the connection held for ever.
GIVE_UP = 12.0


@pytest.fixture(scope="module")
def server(
    databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server for the module (starting one takes seconds): each test opens its own
    connection, and the deadlines are per connection."""
    database_url = databases.fresh()
    tmp_path = tmp_path_factory.mktemp("deadlines")
    env = {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "SNS_TOPIC_ARNS": TOPIC,
        "API_TOKENS": "ops=deadline-test-token-01",
        "LOG_LEVEL": "WARNING",
        "REQUEST_HEADER_TIMEOUT_SECONDS": str(BOUND),
        "REQUEST_BODY_TIMEOUT_SECONDS": str(BOUND),
    }
    live = LiveServer(env, tmp_path / "server.log")
    try:
        live.wait_ready()
        yield live
    finally:
        live.stop()
        databases.release(database_url)


async def trickle(port: int, head: bytes, drip: bytes) -> tuple[bytes, float]:
    """Send ``head`` at once, then ``drip`` a byte every TRICKLE s; (answer, seconds to the
    server closing the connection). Seconds is GIVE_UP when it never does."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    answer = b""

    async def drip_feed() -> None:
        writer.write(head)
        await writer.drain()
        for byte in drip:
            await asyncio.sleep(TRICKLE)
            writer.write(bytes([byte]))
            await writer.drain()

    feeding = asyncio.create_task(drip_feed())
    try:
        async with asyncio.timeout(GIVE_UP):
            while chunk := await reader.read(65536):
                answer += chunk
    except TimeoutError:
        return answer, GIVE_UP
    except ConnectionError:
        pass
    finally:
        feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)
        writer.close()
    return answer, time.monotonic() - started


REQUEST_LINE = b"POST /sns HTTP/1.1\r\nHost: bouncer\r\n"


class TestHeaderDeadline:
    async def test_headers_trickled_are_cut_off(self, server: LiveServer) -> None:
        drip = b"X-Slow: " + b"a" * 200
        answer, seconds = await trickle(server.port, REQUEST_LINE, drip)
        assert seconds < BOUND + 3, answer
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"headers" in answer

    async def test_a_silent_connection_is_closed(self, server: LiveServer) -> None:
        answer, seconds = await trickle(server.port, b"", b"")
        assert seconds < BOUND + 3, answer

    async def test_a_prompt_request_is_answered(self, server: LiveServer) -> None:
        head = b"GET /healthz HTTP/1.1\r\nHost: bouncer\r\nConnection: close\r\n\r\n"
        answer, seconds = await trickle(server.port, head, b"")
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert seconds < BOUND


class TestBodyDeadline:
    async def test_body_trickled_gets_408_within_the_deadline(self, server: LiveServer) -> None:
        body = b"{" + b" " * 998 + b"}"
        head = REQUEST_LINE + b"Content-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
        answer, seconds = await trickle(server.port, head, body)
        assert seconds < BOUND + 3, answer
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"connection: close" in answer.lower()
        assert "Traceback" not in server.output()
