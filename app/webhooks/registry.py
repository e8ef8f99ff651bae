"""Managing webhook endpoints: adding one (with its secret, shown once), listing them with
where each stands, removing one, reading its deliveries, and pinging it.

The API, the CLI and the console call these; none of them holds a rule of its own.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput, NotFound
from app.vocabulary import DeliveryStatus
from app.webhooks import endpoints, webhook_store
from app.webhooks.tries import TryResult, try_once

MAX_PAGE = webhook_store.MAX_PAGE
# endpoints.new_id's shape: anything else names no endpoint, and is answered without a
# query (a NUL, which PostgreSQL text cannot hold, or a megabyte of path never reaches it).
_ID = re.compile(r"wh_[0-9a-f]{32}", re.ASCII)
_LAST_ID = 2**63 - 1


class EndpointStatus(StrEnum):
    """Where an endpoint stands: failing since a delivery ran out of retries, until a 2xx."""

    ACTIVE = "active"
    FAILING = "failing"


@dataclass(frozen=True)
class Endpoint:
    """An endpoint as it is shown: never its secret."""

    id: str
    url: str = field(repr=False)  # it may carry credentials: never in a log line
    types: list[str]
    created_at: datetime
    created_by: str
    failing_since: datetime | None
    last_error: str | None

    @property
    def status(self) -> EndpointStatus:
        return EndpointStatus.ACTIVE if self.failing_since is None else EndpointStatus.FAILING

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``: where deliveries go, without the path, query or user
        info that may carry credentials (read sessions of the console see this)."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
        return f"{parts.scheme}://{host}{port}"

    @classmethod
    def of(cls, row: Row[Any]) -> Endpoint:
        return cls(
            row.id,
            row.url,
            list(row.types),
            row.created_at,
            row.created_by,
            row.failing_since,
            row.last_error,
        )


@dataclass(frozen=True)
class Keyed:
    """An endpoint with its secret: just added (the one time the secret is shown), or
    about to be pinged."""

    endpoint: Endpoint
    secret: str

    def __repr__(self) -> str:  # never the secret, should it be logged
        return f"Keyed(endpoint={self.endpoint!r})"


async def add(
    session: AsyncSession,
    url: str,
    *,
    types: Sequence[str] | None,
    actor: str,
    now: datetime,
) -> Keyed:
    """Check and store a new endpoint (every type when ``types`` is None); InvalidInput
    naming ``url`` or ``types`` stores nothing."""
    checked_url = endpoints.check_url(url)
    checked_types = endpoints.check_types(types)
    webhook_id, secret = endpoints.new_id(), endpoints.new_secret()
    await webhook_store.add(
        session,
        id=webhook_id,
        url=checked_url,
        types=checked_types,
        secret=secret,
        created_by=actor,
        now=now,
    )
    endpoint = Endpoint(webhook_id, checked_url, checked_types, now, actor, None, None)
    return Keyed(endpoint, secret)


async def every(session: AsyncSession) -> list[Endpoint]:
    """Every endpoint, oldest first."""
    return [Endpoint.of(row) for row in await webhook_store.every(session)]


async def _row(session: AsyncSession, webhook_id: str) -> Row[Any]:
    row = await webhook_store.get(session, webhook_id) if _ID.fullmatch(webhook_id) else None
    if row is None:
        raise NotFound(_no_such(webhook_id))
    return row


def _no_such(webhook_id: str) -> str:
    if _ID.fullmatch(webhook_id):
        return f"no webhook {webhook_id}"
    # Not echoed: it may be anything a caller put in a path.
    return "no such webhook: an id is wh_ and 32 hexadecimal digits, as POST /v1/webhooks gave"


async def one(session: AsyncSession, webhook_id: str) -> Endpoint:
    """The endpoint, or NotFound."""
    return Endpoint.of(await _row(session, webhook_id))


async def remove(session: AsyncSession, webhook_id: str) -> None:
    """Delete the endpoint and its deliveries, or NotFound."""
    if not (_ID.fullmatch(webhook_id) and await webhook_store.remove(session, webhook_id)):
        raise NotFound(_no_such(webhook_id))


@dataclass(frozen=True)
class Delivery:
    event_id: str | None  # the event's public id (its webhook-id); None once it was pruned
    type: str | None
    status: DeliveryStatus
    attempt: int
    status_code: int | None
    error: str | None
    at: datetime | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class DeliveryPage:
    items: list[Delivery]
    next_cursor: str | None  # None: no older delivery


def decode_cursor(cursor: str) -> int:
    """A next_cursor this API gave (a delivery's id, in decimal), or InvalidInput."""
    if len(cursor) <= 19 and cursor.isascii() and cursor.isdigit() and 0 < int(cursor) <= _LAST_ID:
        return int(cursor)
    raise InvalidInput(
        "cursor is not a next_cursor this API returned; start again without it", field="cursor"
    )


async def deliveries(
    session: AsyncSession, webhook_id: str, *, limit: int, cursor: str | None
) -> DeliveryPage:
    """The endpoint's deliveries, newest first, ``limit`` at a time; NotFound for no
    endpoint."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    before = None if cursor is None else decode_cursor(cursor)
    await _row(session, webhook_id)
    # One more than asked: whether an older page exists, without a count.
    rows = await webhook_store.deliveries(session, webhook_id, limit=limit + 1, before_id=before)
    shown = rows[:limit]
    items = [
        Delivery(
            r.event_uid,
            r.event_type,
            r.status,
            r.attempt,
            r.status_code,
            r.error,
            r.at,
            r.next_attempt_at,
        )
        for r in shown
    ]
    return DeliveryPage(items, str(shown[-1].id) if len(rows) > limit else None)


PING = "ping"


@dataclass(frozen=True)
class Pinged:
    event_id: str  # ping_ and 32 hex digits: never an event of the feed
    result: TryResult


async def keyed(session: AsyncSession, webhook_id: str) -> Keyed:
    """The endpoint with its secret (to ping it), or NotFound."""
    row = await _row(session, webhook_id)
    return Keyed(Endpoint.of(row), row.secret)


async def ping(
    client: httpx.AsyncClient, target: Keyed, *, now: datetime, total_seconds: float
) -> Pinged:
    """Send the endpoint a signed ``ping`` event (data ``{}``) once, as a delivery is
    sent, and say what came of it; nothing is recorded. No session is held meanwhile.

    ``total_seconds`` bounds the whole try, as a delivery's: the client's time-out bounds
    each read, which a receiver trickling its answer never lets expire."""
    event_id = f"{PING}_{secrets.token_hex(16)}"
    result = await try_once(
        client,
        target.endpoint.url,
        secret=target.secret,
        event_id=event_id,
        type_=PING,
        at=now,
        data={},
        sent_at=now,
        total_seconds=total_seconds,
    )
    return Pinged(event_id, result)
