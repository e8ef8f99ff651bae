"""SQL for the per-address soft-bounce state, whose row is also the lock on the address."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert, table_of
from app.models import RecipientState
from app.suppression.effects import SoftBounceCount

_STATE = table_of(RecipientState)
_SAVE = (
    update(_STATE)
    .where(_STATE.c.email == bindparam("key"))
    .values(
        soft_bounce_count=bindparam("count"),
        last_soft_bounce_at=bindparam("last"),
        soft_reset_at=bindparam("reset"),
    )
)


@functools.cache
def _lock_statement(dialect: str) -> Any:
    upsert = dialect_insert(dialect)(_STATE)
    return upsert.on_conflict_do_update(
        index_elements=["email"], set_={"updated_at": upsert.excluded.updated_at}
    )


async def lock_recipient(session: AsyncSession, email: str, *, now: datetime) -> None:
    """Create or touch the address's state row and hold its lock until commit.

    Two replicas handling events for one address then take turns, so counts and
    suppression updates never interleave. On PostgreSQL, INSERT … ON CONFLICT DO UPDATE
    locks the row it updates (or inserts) until commit, so no SELECT … FOR UPDATE is
    needed; SQLite's BEGIN IMMEDIATE already serialises writers.
    """
    await lock_recipients(session, [email], now=now)


async def lock_recipients(session: AsyncSession, emails: Sequence[str], *, now: datetime) -> None:
    """``lock_recipient`` for many addresses in one statement, in the order given: callers
    pass them sorted, so two transactions locking the same addresses never wait in a cycle.
    """
    if not emails:
        return
    statement = _lock_statement(session.get_bind().dialect.name)
    await session.execute(
        statement, [{"email": email, "soft_bounce_count": 0, "updated_at": now} for email in emails]
    )


async def save_soft_bounces(session: AsyncSession, email: str, state: SoftBounceCount) -> None:
    """Store the address's soft-bounce count (its row is locked by lock_recipient)."""
    await save_soft_bounces_many(session, [(email, state)])


async def save_soft_bounces_many(
    session: AsyncSession, states: Sequence[tuple[str, SoftBounceCount]]
) -> None:
    """``save_soft_bounces`` for many addresses (locked by lock_recipients)."""
    if not states:
        return
    await session.execute(
        _SAVE,
        [
            {
                "key": email,
                "count": state.count,
                "last": state.last_soft_bounce_at,
                "reset": state.soft_reset_at,
            }
            for email, state in states
        ],
    )
