"""The consumer's health endpoints on a tiny asyncio HTTP/1.1 server: GET /healthz (alive),
GET /readyz (the database answered last time and the queues are polled), GET /metrics
(Prometheus text). No web framework: the command line may not import one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from http import HTTPStatus

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger("bouncer.consume")

# Why the process is not ready, or None when it is.
NotReady = Callable[[], str | None]
# A health check sends a request line and a few headers: anything longer or slower is
# not one, and is answered 400 or dropped.
_LIMIT = 8 * 1024
_READ_TIMEOUT = 5.0
_JSON = "application/json"


class HealthServer:
    def __init__(self, not_ready: NotReady, *, host: str, port: int) -> None:
        self._not_ready = not_ready
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; raises OSError when the port is taken or the host is not local."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info(
            "health endpoints on http://%s:%d (/healthz /readyz /metrics)", self.host, self.port
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            answer = await asyncio.wait_for(self._answer(reader), _READ_TIMEOUT)
            writer.write(answer)
            await writer.drain()
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError):
            pass  # a client gone or too slow: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> bytes:
        request_line = (await reader.readline()).decode("latin-1").split()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass  # the headers: nothing in them matters here
        if len(request_line) != 3:
            return _response(HTTPStatus.BAD_REQUEST, {"error": "not an HTTP request"})
        method, target, _ = request_line
        path = target.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return _response(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "only GET"}, head=False)
        head = method == "HEAD"
        if path == "/healthz":
            return _response(HTTPStatus.OK, {"status": "ok"}, head=head)
        if path == "/readyz":
            reason = self._not_ready()
            if reason is None:
                return _response(HTTPStatus.OK, {"status": "ready"}, head=head)
            body = {"status": "unavailable", "error": reason}
            return _response(HTTPStatus.SERVICE_UNAVAILABLE, body, head=head)
        if path == "/metrics":
            text = generate_latest(REGISTRY)
            return _raw(HTTPStatus.OK, text, CONTENT_TYPE_LATEST, head=head)
        return _response(HTTPStatus.NOT_FOUND, {"error": "try /healthz, /readyz or /metrics"})


def _response(status: HTTPStatus, body: dict[str, str], *, head: bool = False) -> bytes:
    return _raw(status, json.dumps(body).encode(), _JSON, head=head)


def _raw(status: HTTPStatus, body: bytes, content_type: str, *, head: bool) -> bytes:
    lines = [
        f"HTTP/1.1 {status.value} {status.phrase}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "Connection: close",
    ]
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        lines.append("Allow: GET, HEAD")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else body)
