"""One try of one delivery: a signed POST, and what came of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from app.webhooks.signing import body_of, signed_headers

# Enough of an answer's body to say why an endpoint refused, not a page of HTML.
_ERROR_TEXT = 200


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
) -> TryResult:
    """POST the event to ``url``, signed with ``secret``. Redirects are not followed (a
    3xx is a failed try): the endpoint's URL is the one the operator gave."""
    body = body_of(type_, at, data)
    headers = signed_headers(secret, event_id=event_id, sent_at=sent_at, body=body)
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return TryResult(False, None, "no answer in time")
    except httpx.HTTPError as err:
        # The exception's class says what failed (ConnectError, RemoteProtocolError…);
        # its text may hold the URL, which may hold credentials: neither is logged whole.
        return TryResult(False, None, f"no answer: {type(err).__name__}")
    if 200 <= response.status_code < 300:
        return TryResult(True, response.status_code, None)
    reason = response.text[:_ERROR_TEXT].strip()
    return TryResult(
        False,
        response.status_code,
        f"answered {response.status_code}" + (f": {reason}" if reason else ""),
    )
