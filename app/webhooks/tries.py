"""One try of one delivery: a signed POST, and what came of it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import httpx

from app.webhooks.signing import body_of, signed_headers

# Enough of an answer's body to say why an endpoint refused, not a page of HTML.
_ERROR_TEXT = 200
# At most this much of an answer's body is read: a hostile or broken receiver may send
# gigabytes, and nothing in a body changes the outcome. A body within it is read whole,
# which lets the connection be kept for the next try.
READ_AT_MOST = 4096


@dataclass(frozen=True)
class TryResult:
    delivered: bool  # a 2xx answer
    status_code: int | None  # None: no answer (refused, reset, timed out)
    error: str | None  # what went wrong, for the deliveries' log; None when delivered


async def try_once(
    client: httpx.AsyncClient,
    url: str,
    *,
    secret: str,
    event_id: str,
    type_: str,
    at: datetime,
    data: dict[str, Any],
    sent_at: datetime,
    total_seconds: float | None = None,
) -> TryResult:
    """POST the event to ``url``, signed with ``secret``. Redirects are not followed (a
    3xx is a failed try): the endpoint's URL is the one the operator gave.

    ``total_seconds`` bounds the whole try: the client's timeout bounds each read and
    write, which a receiver trickling a byte at a time would never reach.
    """
    body = body_of(type_, at, data)
    headers = signed_headers(secret, event_id=event_id, sent_at=sent_at, body=body)
    # The body is read raw (never decompressed: a small gzip can inflate to gigabytes),
    # so ask for it plain.
    headers["accept-encoding"] = "identity"
    status: int | None = None
    plain = True
    start = b""
    failure: Exception | None = None
    try:
        async with asyncio.timeout(total_seconds):
            async with client.stream("POST", url, content=body, headers=headers) as response:
                status = response.status_code
                plain = response.headers.get("content-encoding", "identity") == "identity"
                start = await _read_some(response)
    except (TimeoutError, httpx.HTTPError) as err:
        # With a status, the answer came and only its body did not: the status decides.
        failure = err
    if status is None:
        if isinstance(failure, TimeoutError | httpx.TimeoutException):
            return TryResult(False, None, "no answer in time")
        # The exception's class says what failed (ConnectError, RemoteProtocolError…); its
        # text may hold the URL, which may hold credentials: neither is logged whole.
        return TryResult(False, None, f"no answer: {type(failure).__name__}")
    if 200 <= status < 300:
        return TryResult(True, status, None)
    reason = start.decode("utf-8", errors="replace")[:_ERROR_TEXT].strip() if plain else ""
    return TryResult(False, status, f"answered {status}" + (f": {reason}" if reason else ""))


async def _read_some(response: httpx.Response) -> bytes:
    """Up to READ_AT_MOST bytes of the body. The rest is never read: leaving the stream
    then closes the connection instead of draining it."""
    read = b""
    # An async generator in fact: closed here, not by the garbage collector, once left.
    raw = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with contextlib.aclosing(raw) as chunks:
        async for chunk in chunks:
            read += chunk
            if len(read) >= READ_AT_MOST:
                break
    return read[:READ_AT_MOST]
