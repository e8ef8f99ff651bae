"""ASGI middleware: request ids and latency, bearer tokens on /v1, body limits, clean start-up."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import logs, metrics
from app.api.handlers import render
from app.api.state import services_of, set_principal
from app.errors import BodyStalled, BodyTooLarge, BouncerError, StartupError, Unauthorized

log = logging.getLogger("bouncer.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


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
            # path_format: "/v1/suppressions/{email}", without the ":address" convertor.
            template = getattr(route, "path_format", None) or "unmatched"
            metrics.REQUEST_LATENCY.labels(template, scope["method"], str(status)).observe(elapsed)
            log.info(
                "%s %s %d",
                scope["method"],
                template,
                status,
                extra={"duration_ms": round(elapsed * 1000, 2)},
            )
            logs.request_id.reset(token)


# uvicorn has no read timeout while a request is in progress (its keep-alive timer runs only
# between requests), so a client that stops sending its body would hold the request for ever.
# Longer than SNS's own 15 s, so SNS itself never sees the 408: it times out and retries first.
BODY_IDLE_TIMEOUT = 30.0


# The idle timer resets with every byte, so one byte every 25 s would still hold a request
# for ever: a body with a size limit must also arrive whole within this (SNS itself gives
# up after 15 s). Streamed imports, which have no limit, have no deadline either.
BODY_DEADLINE = 60.0


class BodyLimit:
    """Answer 413 when a body exceeds its path's limit, declared or streamed (chunked), and 408
    when the client stops sending it.

    Any answer given before the whole body came in (these, a refused token, a bad password)
    closes the connection: uvicorn would otherwise go on receiving the rest, however long, only
    to discard it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Mapping[str, int | None],
        default: int | None,
        idle_timeout: float = BODY_IDLE_TIMEOUT,
        deadline: float = BODY_DEADLINE,
    ) -> None:
        self.app = app
        self.limits = dict(limits)
        self.default = default
        self.idle_timeout = idle_timeout
        self.deadline = deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = _header(scope, b"content-length")
        if limit is not None and declared and declared.isdigit() and int(declared) > limit:
            await _refuse(BodyTooLarge(_too_large(limit)), scope, receive, send)
            return

        received = 0
        complete = not _has_body(scope)  # the whole body has arrived, or the client has gone
        cut_short: BouncerError | None = None
        started = False
        loop = asyncio.get_running_loop()
        due = loop.time() + self.deadline if limit is not None else None

        async def guarded_receive() -> Message:
            nonlocal received, complete, cut_short
            if complete:
                # Only http.disconnect can follow (StreamingResponse waits for it): no timeout.
                return await receive()
            wait = self.idle_timeout if due is None else min(self.idle_timeout, due - loop.time())
            try:
                # asyncio.timeout, not wait_for: wait_for wraps receive() in a task of its own.
                async with asyncio.timeout(max(wait, 0.0)):
                    message = await receive()
            except TimeoutError:
                if due is not None and loop.time() >= due:
                    cut_short = BodyStalled(
                        f"the request body took longer than {self.deadline:g} s to arrive: "
                        "send it at once"
                    )
                else:
                    cut_short = BodyStalled(
                        f"no part of the request body arrived for {self.idle_timeout:g} s: "
                        "send the whole body without pausing"
                    )
                raise cut_short from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if limit is not None and received > limit:
                    cut_short = BodyTooLarge(_too_large(limit))
                    raise cut_short
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not complete:
                    message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except BouncerError as err:
            # The app's error handlers render these wherever the body is read; this is the
            # fallback for a read outside them.
            if err is not cut_short or started:
                raise
            await _refuse(err, scope, receive, send)


class RequireToken:
    """Authenticate a request under ``prefix`` once, before its body is read.

    FastAPI reads and validates a JSON body before it runs any dependency, so the routes'
    ReadAccess/WriteAccess alone would answer an anonymous caller 400 or 422, describing the
    API's validation, where SPEC §4 says 401. The caller found goes into the request's state
    (``request.state.principal``), where those dependencies read it to decide read or write.
    """

    def __init__(self, app: ASGIApp, *, prefix: str = "/v1") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and (path == self.prefix or path.startswith(self.prefix + "/")):
            registry = services_of(scope["app"]).tokens
            try:
                principal = registry.authenticate(_header(scope, b"authorization"))
            except Unauthorized as err:
                await render(err)(scope, receive, send)
                return
            set_principal(scope, principal)
        await self.app(scope, receive, send)


_CLOSE = (b"connection", b"close")


def _too_large(limit: int) -> str:
    return f"request body is larger than the {limit // 1024} KiB this endpoint accepts"


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    return _header(scope, b"transfer-encoding") is not None or length not in (None, "0")


async def _refuse(err: BouncerError, scope: Scope, receive: Receive, send: Send) -> None:
    response = render(err)
    response.headers["connection"] = "close"
    await response(scope, receive, send)


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
