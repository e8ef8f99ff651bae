"""ASGI middleware: request ids and latency, the body-size limit, clean start-up failures."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import logs, metrics

log = logging.getLogger("bouncer.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class StartupError(Exception):
    """The service cannot start; ``str(err)`` is the one line the operator reads."""


class RequestContext:
    """Give each request an id (X-Request-ID, echoed back) and time it by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = logs.request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics.REQUEST_LATENCY.labels(template, scope["method"], str(status)).observe(elapsed)
            log.info(
                "%s %s %d",
                scope["method"],
                template,
                status,
                extra={"duration_ms": round(elapsed * 1000, 2)},
            )
            logs.request_id.reset(token)


class BodyLimit:
    """Answer 413 when a body exceeds its path's limit, declared or streamed (chunked)."""

    def __init__(
        self, app: ASGIApp, *, limits: Mapping[str, int | None], default: int | None
    ) -> None:
        self.app = app
        self.limits = dict(limits)
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_too_large(send, limit)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_too_large(send, limit)


class _TooLarge(Exception):
    pass


async def _send_too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error": f"request body is larger than the {limit // 1024} KiB this endpoint accepts"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class CleanStartupFailure:
    """Report a StartupError as its one line, not a traceback, when the lifespan fails."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def clean_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                # Starlette reports the traceback; its last line names our StartupError.
                last = (message.get("message") or "").strip().splitlines()[-1:]
                prefix = f"{StartupError.__module__}.StartupError: "
                if last and last[0].startswith(prefix):
                    message = {**message, "message": last[0].removeprefix(prefix)}
            await send(message)

        try:
            await self.app(scope, receive, clean_send)
        except StartupError:
            # Already reported to the server through lifespan.startup.failed.
            return


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
