"""SQL for the change feed (SPEC §10): placing events in commit order, reading them, and
the events the send log writes. The list's own events are written by the database
(migration 0012).

Order. An id is taken when a row is inserted but seen when its transaction commits, and
on PostgreSQL transactions commit in any order: a reader paging by id could pass id 11
while the transaction holding id 10 is still open, and never see 10. So the feed is read
by ``position``, which ``place`` gives the committed events without one, in id order,
after every position given before (one placer at a time: an advisory lock on
PostgreSQL, the write lock on SQLite). An event committed later is placed later. Unlike a
horizon of the oldest running transaction (pg_snapshot_xmin), this waits for no other
transaction on the server, in this database or another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import storable, table_of
from app.errors import InvalidInput
from app.models import ChangeEvent
from app.vocabulary import ChangeType

MAX_PAGE = 1000
_EVENT = table_of(ChangeEvent)
_ADD = insert(_EVENT)  # Core, built once: on every refused send's path
# Any constant shared by every replica: the placer's PostgreSQL advisory lock.
_PLACER_LOCK = 0x626F756E63657201  # "bouncer" 01
_PLACE_AT_ONCE = 10_000
_LAST = 2**63 - 1


def decode_cursor(cursor: str) -> int:
    """A feed position as the API writes it (a decimal), or InvalidInput naming it."""
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 19 and int(cursor) <= _LAST):
        raise InvalidInput(
            "cursor is not one this API returned; start again without it", field="cursor"
        )
    return int(cursor)


@dataclass(frozen=True)
class FeedPage:
    items: Sequence[Row[Any]]
    # After the last item; the position given when nothing is new.
    next: int


async def place(session: AsyncSession) -> int:
    """Give the committed events without a position theirs; how many were placed."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(_PLACER_LOCK)))
    # Read after the lock: the last placer's positions are committed, so they are seen.
    last = await session.scalar(select(func.coalesce(func.max(_EVENT.c.position), 0)))
    unplaced = (
        select(
            _EVENT.c.id,
            (int(last or 0) + func.row_number().over(order_by=_EVENT.c.id)).label("p"),
        )
        .where(_EVENT.c.position.is_(None))
        .order_by(_EVENT.c.id)
        .limit(_PLACE_AT_ONCE)
        .subquery()
    )
    result = await session.execute(
        update(_EVENT).where(_EVENT.c.id == unplaced.c.id).values(position=unplaced.c.p)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def page(
    session: AsyncSession,
    after: int,
    *,
    limit: int,
    types: Iterable[str] | None = None,
) -> FeedPage:
    """The placed events after position ``after``, oldest first, at most ``limit``."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    query = select(_EVENT).where(_EVENT.c.position > after).order_by(_EVENT.c.position).limit(limit)
    if types is not None:
        query = query.where(_EVENT.c.type.in_(list(types)))
    rows = (await session.execute(query)).all()
    return FeedPage(rows, rows[-1].position if rows else after)


async def end(session: AsyncSession) -> int:
    """The last position given: events placed from now on come after it."""
    return int(await session.scalar(select(func.coalesce(func.max(_EVENT.c.position), 0))) or 0)


async def by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Row[Any]]:
    rows = await session.execute(select(_EVENT).where(_EVENT.c.id.in_(list(ids))))
    return {row.id: row for row in rows}


async def record_refused_sends(
    session: AsyncSession,
    suppressed: Sequence[tuple[str, str]],
    *,
    actor: str | None,
    ses_message_id: str | None,
    now: datetime,
) -> None:
    """One ``send.suppressed`` event per recipient the wrapper dropped."""
    if not suppressed:
        return
    message_id = storable(ses_message_id, limit=256)
    await session.execute(
        _ADD,
        [
            {
                "type": ChangeType.SEND_SUPPRESSED,
                "email": email,
                "reason": reason,
                "actor": actor,
                "ses_message_id": message_id,
                "at": now,
                "subtype": None,
                "source": None,
                "note": None,
                "expires_at": None,
                "feedback_id": None,
            }
            for email, reason in suppressed
        ],
    )


async def prune(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Drop up to ``limit`` of the oldest events written before ``before``
    (CHANGES_RETENTION_DAYS), never the last placed one: ``place`` numbers on from it, so
    a position is never given twice.

    Events are written in time order, so the oldest ids are the old events: a walk of the
    primary key from its start, stopping at the first young one, needs no index on ``at``
    (which every write would have to keep up).
    """
    oldest = select(_EVENT.c.id, _EVENT.c.at).order_by(_EVENT.c.id).limit(limit).subquery()
    last = select(func.max(_EVENT.c.position)).scalar_subquery()
    result = await session.execute(
        _EVENT.delete().where(
            _EVENT.c.id.in_(select(oldest.c.id).where(oldest.c.at < before)),
            _EVENT.c.position < last,  # unplaced ones (NULL) are kept for the placer
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
