"""One try against hostile receivers on loopback: a body of gigabytes is not read, a
receiver trickling bytes does not hold the try past its time-out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx

from app.webhooks import endpoints
from app.webhooks.tries import READ_AT_MOST, TryResult, try_once
from tests.tcp_proxy import TcpServer
from tests.webhooks.conftest import eventually

Answer = Callable[["Hostile", asyncio.StreamWriter], Awaitable[None]]
GIGABYTE = 1024**3
CHUNK = b"x" * 65536


class Hostile:
    """A server that reads a request and answers with ``handler``, counting what it
    managed to send before the client went away."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self.sent = 0
        self.finished = False  # the handler is done: it sent all, or the client left
        self.server = TcpServer(self._serve, name="hostile-receiver")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        try:
            await self._answer(self, writer)
        except (OSError, asyncio.CancelledError):
            pass  # the client closed the connection: what it was for
        finally:
            self.finished = True

    async def send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.sent += len(data)


@asynccontextmanager
async def hostile(answer: Answer) -> AsyncIterator[Hostile]:
    server = Hostile(answer)
    try:
        yield server
    finally:
        server.server.close()


async def one_try(port: int, *, total_seconds: float | None = 1.0) -> tuple[TryResult, float]:
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=0.5, follow_redirects=False) as client:
        result = await try_once(
            client,
            f"http://127.0.0.1:{port}/hook",
            secret=endpoints.new_secret(),
            event_id="evt_" + "0" * 32,
            type_="suppression.added",
            at=datetime.now(UTC),
            data={"email": "ann@example.com"},
            sent_at=datetime.now(UTC),
            total_seconds=total_seconds,
        )
    return result, time.monotonic() - started


async def endless(server: Hostile, writer: asyncio.StreamWriter, status: bytes) -> None:
    await server.send(writer, b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n\r\n" % GIGABYTE)
    while server.sent < GIGABYTE:
        await server.send(writer, CHUNK)


class TestHostileAnswers:
    async def test_a_refusal_of_a_gigabyte_is_read_a_few_kilobytes_far(self) -> None:
        async def refuse(server: Hostile, writer: asyncio.StreamWriter) -> None:
            await endless(server, writer, b"500 Internal Server Error")

        async with hostile(refuse) as server:
            result, took = await one_try(server.server.port)
            await eventually(lambda: server.finished, what="the receiver sees the client gone")
        assert result == TryResult(False, 500, "answered 500: " + "x" * 200)
        assert took < 3.0
        # What the kernel's buffers took, not the gigabyte.
        assert server.sent < 32 * 1024 * 1024, server.sent
        assert READ_AT_MOST <= 8192

    async def test_a_2xx_with_an_endless_body_is_delivered_at_once(self) -> None:
        async def accept(server: Hostile, writer: asyncio.StreamWriter) -> None:
            await endless(server, writer, b"200 OK")

        async with hostile(accept) as server:
            result, took = await one_try(server.server.port)
            await eventually(lambda: server.finished, what="the receiver sees the client gone")
        assert result == TryResult(True, 200, None)
        assert took < 3.0
        assert server.sent < 32 * 1024 * 1024, server.sent

    async def test_a_trickled_body_does_not_hold_the_try_past_its_time(self) -> None:
        # A byte every 0.1 s: each read comes within the client's 0.5 s, the body never ends.
        async def trickle(server: Hostile, writer: asyncio.StreamWriter) -> None:
            await server.send(writer, b"HTTP/1.1 503 Busy\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):
                await server.send(writer, b"z")
                await asyncio.sleep(0.1)

        async with hostile(trickle) as server:
            result, took = await one_try(server.server.port, total_seconds=1.0)
        # The answer came: its status decides, with what of the body came in time.
        assert result.status_code == 503
        assert result.error is not None
        assert result.error.startswith("answered 503")
        assert took < 5.0

    async def test_trickled_headers_are_no_answer_in_time(self) -> None:
        async def trickle(server: Hostile, writer: asyncio.StreamWriter) -> None:
            await server.send(writer, b"HTTP/1.1 200 OK\r\n")
            for _ in range(1000):
                await server.send(writer, b"X-Slow: a\r\n")
                await asyncio.sleep(0.1)

        async with hostile(trickle) as server:
            result, took = await one_try(server.server.port, total_seconds=1.0)
        assert result == TryResult(False, None, "no answer in time")
        assert took < 5.0

    async def test_a_compressed_refusal_is_not_inflated(self) -> None:
        async def gzipped(server: Hostile, writer: asyncio.StreamWriter) -> None:
            body = b"\x1f\x8b" + b"\x00" * 100
            await server.send(
                writer,
                b"HTTP/1.1 500 Oops\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                % len(body)
                + body,
            )

        async with hostile(gzipped) as server:
            result, _ = await one_try(server.server.port)
        assert result == TryResult(False, 500, "answered 500")
