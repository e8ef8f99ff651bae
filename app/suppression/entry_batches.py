"""SQL for the entries of many addresses at once (a batch of SES events): read them
locked, add the new ones. One statement each, whatever the batch's size."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.array_insert import columns_of, unnest_insert
from app.db import dialect_insert
from app.suppression import tables
from app.suppression.effects import Current, Insert
from app.suppression.entry_rows import change_values, entry_values

_SUPPRESSION = tables.SUPPRESSION
_LOG = insert(tables.CHANGE)

_CURRENTS = (
    select(
        _SUPPRESSION.c.email,
        _SUPPRESSION.c.reason,
        _SUPPRESSION.c.source,
        _SUPPRESSION.c.expires_at,
    )
    .where(_SUPPRESSION.c.email.in_(bindparam("emails", expanding=True)))
    .order_by(_SUPPRESSION.c.email)
    .with_for_update()
)


async def currents(session: AsyncSession, emails: Sequence[str]) -> dict[str, Current]:
    """``entry_store.current`` for many addresses in one query (at most a few hundred), locked in
    address order; the addresses without an entry are absent."""
    if not emails:
        return {}
    rows = await session.execute(_CURRENTS, {"emails": list(emails)})
    return {row.email: Current(row.reason, row.source, row.expires_at) for row in rows}


_UNNEST_ADD = unnest_insert(_SUPPRESSION, tables.ENTRY_COLUMNS, conflict="email", returning="email")


@functools.cache
def _add_many_statement(dialect: str) -> Any:
    add = dialect_insert(dialect)(_SUPPRESSION).on_conflict_do_nothing(index_elements=["email"])
    return add.returning(_SUPPRESSION.c.email)


async def insert_many(
    session: AsyncSession, writes: Sequence[Insert], *, now: datetime
) -> set[str]:
    """Carry out many Inserts (one per address, in address order) in two statements: the
    entries, then the change lines of those added. The addresses added; the others met an
    entry another writer added, for the caller to ``settle`` one by one."""
    if not writes:
        return set()
    dialect = session.get_bind().dialect.name
    rows = [entry_values(write.entry, now=now) for write in writes]
    if dialect == "postgresql":
        result = await session.execute(_UNNEST_ADD, columns_of(rows, tables.ENTRY_COLUMNS))
    else:
        result = await session.execute(_add_many_statement(dialect), rows)
    added = set(result.scalars())
    lines = [change_values(write.line, now=now) for write in writes if write.entry.email in added]
    if lines:
        await session.execute(_LOG, lines)
    return added
