"""A webhook receiver on 127.0.0.1: a real HTTP/1.1 server on a real socket, on a loop
thread of its own (tests.tcp_proxy.TcpServer), that verifies every request as a
Standard Webhooks consumer does and answers as a test scripts it: 200, 500, too late,
not at all (the connection closed), a redirect, or held until the test lets it go.

It keeps every request it got, and applies each webhook-id's effect once (a receiver
dedupes on webhook-id, which stays the same across retries).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.tcp_proxy import TcpServer


class Answer(Enum):
    OK = "200"
    REFUSE = "500"
    SLOW = "slow"  # 200, after the deliverer has stopped waiting
    CLOSE = "close"  # reads the request, then drops the connection without a word
    REDIRECT = "302"
    HOLD = "hold"  # 200 once the test calls release()


# Which answer a request to a path gets, the n-th (from 1) with its webhook-id there.
Plan = Callable[[str, str, int], Answer]


def always(answer: Answer) -> Plan:
    return lambda _path, _id, _n: answer


def first(tries: int, answer: Answer) -> Plan:
    """``answer`` to the first ``tries`` requests of each webhook-id, then 200."""
    return lambda _path, _id, n: answer if n <= tries else Answer.OK


@dataclass(frozen=True)
class Request:
    path: str
    webhook_id: str
    n: int  # this webhook-id's n-th request
    verified: bool
    payload: Any  # the parsed body (None when it did not verify)
    answer: Answer | None  # None: refused (400) for its signature
    at: float  # time.monotonic() on arrival
    peer: str  # the address it came from


class Receiver:
    def __init__(self, *, slow_seconds: float = 2.0) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}  # by path
        self._requests: list[Request] = []
        self._effects: dict[str, dict[str, Any]] = {}  # by path, then webhook-id
        self.plan: Plan = always(Answer.OK)
        # Off when the test moves bouncer's clock: the headers' timestamp then is not now.
        self.check_timestamp = True
        self.slow_seconds = slow_seconds
        self._released = asyncio.Event()  # bound to the server's loop on first use
        self._server = TcpServer(self._serve, name="webhook-receiver")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.port}{path}"

    def expect(self, path: str, secret: str) -> None:
        """Requests to ``path`` are verified with ``secret``."""
        with self._lock:
            self._secrets[path] = secret

    def release(self) -> None:
        """Answer the held requests (and any held later) 200."""
        self._server.run(self._release())

    async def _release(self) -> None:
        self._released.set()

    def requests(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self._requests if path in (None, r.path)]

    def effects(self, path: str) -> dict[str, Any]:
        """Each webhook-id's payload at ``path``, applied once: by the first request
        processed (a retry of one processed already is a duplicate, and ignored)."""
        with self._lock:
            return dict(self._effects.get(path, {}))

    def close(self) -> None:
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._answer_each(reader, writer)
        except asyncio.CancelledError:
            # Closing the receiver ends its idle keep-alive connections. Python 3.11's
            # asyncio logs a connection task that ends cancelled as an error (fixed in 3.12).
            return

    async def _answer_each(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:  # keep-alive: one request after another on the connection
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            target = head[0].split(" ")[1]
            headers = {
                name.strip().lower(): value.strip()
                for name, value in (line.split(":", 1) for line in head[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            peer = writer.get_extra_info("peername")[0]
            answer = self._take(target.split("?")[0], headers, body, peer)
            if answer is Answer.CLOSE:
                writer.transport.abort()
                return
            if answer is Answer.SLOW:
                await asyncio.sleep(self.slow_seconds)
            if answer is Answer.HOLD:
                await self._released.wait()
            extra = ""
            if answer is None:
                status, text = "400 Bad Request", b"signature does not verify"
            elif answer is Answer.REFUSE:
                status, text = "500 Internal Server Error", b"refused by the test"
            elif answer is Answer.REDIRECT:
                status, text = "302 Found", b""
                extra = f"Location: {self.url('/elsewhere')}\r\n"
            else:
                status, text = "200 OK", b"ok"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Length: {len(text)}\r\n{extra}\r\n".encode() + text
            )
            await writer.drain()

    def _take(self, path: str, headers: dict[str, str], body: bytes, peer: str) -> Answer | None:
        """Record the request; its answer (None: it does not verify)."""
        webhook_id = headers.get("webhook-id", "")
        with self._lock:
            secret = self._secrets.get(path)
            payload = self._verify(secret, headers, body) if secret else None
            n = 1 + sum(1 for r in self._requests if (r.path, r.webhook_id) == (path, webhook_id))
            answer = self.plan(path, webhook_id, n) if payload is not None else None
            self._requests.append(
                Request(
                    path,
                    webhook_id,
                    n,
                    payload is not None,
                    payload,
                    answer,
                    time.monotonic(),
                    peer,
                )
            )
            # Applied as it is processed, before the answer (which may come too late).
            if answer in (Answer.OK, Answer.SLOW, Answer.HOLD):
                self._effects.setdefault(path, {}).setdefault(webhook_id, payload)
        return answer

    def _verify(self, secret: str, headers: dict[str, str], body: bytes) -> Any:
        hook = Webhook(secret)
        try:
            if self.check_timestamp:
                return hook.verify(body, headers)
            # The signature alone, for a timestamp bouncer's moved clock set.
            sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
            expected = hook.sign(headers["webhook-id"], sent_at, body)
            if hmac.compare_digest(expected, headers["webhook-signature"]):
                return json.loads(body)
        except (WebhookVerificationError, KeyError, ValueError):
            pass
        return None
