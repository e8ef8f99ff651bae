"""Paging through the suppression list: filters, newest first, and opaque keyset cursors.

The API and the CLI both list through ``page``, so each filter rule lives once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import moments
from app.addresses import InvalidAddress, domain_of, parse_address
from app.errors import InvalidInput
from app.models import Suppression
from app.suppression import policy

MAX_PAGE = 1000


@dataclass(frozen=True)
class Filters:
    reason: str | None = None
    domain: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    include_expired: bool = False


@dataclass(frozen=True)
class Page:
    items: Sequence[Suppression]
    next_cursor: str | None


async def page(
    session: AsyncSession,
    filters: Filters,
    *,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> Page:
    """Newest first, keyset-paginated on (created_at, email): no OFFSET, stable under inserts."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    query = select(Suppression).order_by(Suppression.created_at.desc(), Suppression.email.desc())
    conditions = _conditions(filters, now=now)
    if cursor is not None:
        created_at, email = decode_cursor(cursor)
        conditions.append(
            or_(
                Suppression.created_at < created_at,
                and_(Suppression.created_at == created_at, Suppression.email < email),
            )
        )
    rows = list((await session.scalars(query.where(*conditions).limit(limit + 1))).all())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last.created_at, last.email)
    return Page(rows[:limit], next_cursor)


def _conditions(filters: Filters, *, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.reason is not None:
        if filters.reason not in policy.REASONS:
            raise InvalidInput(f"reason must be one of {', '.join(policy.REASONS)}", field="reason")
        conditions.append(Suppression.reason == filters.reason)
    if filters.domain is not None:
        conditions.append(Suppression.domain == _domain_key(filters.domain))
    if filters.since is not None:
        conditions.append(Suppression.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(Suppression.created_at < filters.until)
    if filters.q:
        prefix = filters.q.strip().lower()
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Suppression.email.like(f"{escaped}%", escape="\\"))
    if not filters.include_expired:
        conditions.append(or_(Suppression.expires_at.is_(None), Suppression.expires_at > now))
    return conditions


def _domain_key(domain: str) -> str:
    try:
        return domain_of(parse_address(f"x@{domain.strip()}").normalized)
    except InvalidAddress as err:
        raise InvalidInput(f"{domain!r} is not a domain", field="domain") from err


def encode_cursor(created_at: datetime, email: str) -> str:
    raw = json.dumps([created_at.isoformat(), email]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """What encode_cursor wrote, or InvalidInput: a cursor comes back from a caller, who may
    have edited it, so every part is checked before it reaches a query."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, email = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(created_at, str) or not isinstance(email, str) or "\x00" in email:
            raise ValueError("bad cursor")
        # encode_cursor always writes an offset; moments.as_utc refuses one past year 9999.
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("bad cursor")
        moment = moments.as_utc(moment)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as err:
        raise InvalidInput(
            "cursor is not one this API returned; start again without it", field="cursor"
        ) from err
    return moment, email
