"""SQL for the suppression list and its change history: reads, and the writes policy decides."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, any_, bindparam, column, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert
from app.errors import Unavailable
from app.models import Suppression, SuppressionChange
from app.suppression import policy, tables
from app.suppression.effects import (
    ChangeLine,
    Current,
    Entry,
    EntryOutcome,
    Insert,
    Lift,
    Update,
    Write,
)
from app.suppression.entry_rows import change_values, entry_texts, entry_values
from app.vocabulary import ChangeAction

# Kept here for the callers that write an entry by this name.
__all__ = ["Entry", "EntryOutcome"]


class HasExpiry(Protocol):
    @property
    def expires_at(self) -> datetime | None: ...


def is_active_row(row: HasExpiry, *, now: datetime) -> bool:
    return row.expires_at is None or row.expires_at > now


# The hot path (every SNS notification, every send) runs Core statements on the tables,
# built once, with values as parameters: the ORM's unit of work, identity map and
# per-call statement building cost more than the SQL itself (bench/README.md).
_SUPPRESSION = tables.SUPPRESSION
_CHANGE = tables.CHANGE

_CURRENT = (
    select(_SUPPRESSION.c.reason, _SUPPRESSION.c.source, _SUPPRESSION.c.expires_at)
    .where(_SUPPRESSION.c.email == bindparam("email"))
    .with_for_update()
)
_LOG = insert(_CHANGE)


async def current(session: AsyncSession, email: str) -> Current | None:
    """The address's entry (active or expired) as policy reads it, locked until commit."""
    row = (await session.execute(_CURRENT, {"email": email})).first()
    return None if row is None else Current(row.reason, row.source, row.expires_at)


async def get(session: AsyncSession, email: str) -> Suppression | None:
    return await session.get(Suppression, email, populate_existing=True)


# One bound value however many addresses: rendering and binding 10,000 parameters cost
# more than the lookups themselves (bench/README.md), and SQLite caps them per statement.
# PostgreSQL splits the list on line breaks, which no normalised address holds
# (app.addresses refuses control characters), so it needs no quoting; SQLite reads a
# JSON array. The statement text is then the same for 1 address or 10,000. The answer
# comes back as one JSON object {email: reason}, not a row per address: a third of the
# client's work for 5,000 rows.
_ACTIVE = or_(_SUPPRESSION.c.expires_at.is_(None), _SUPPRESSION.c.expires_at > bindparam("now"))
_CHECK_PG = select(
    func.json_object_agg(_SUPPRESSION.c.email, _SUPPRESSION.c.reason, type_=JSON)
).where(
    _SUPPRESSION.c.email == any_(func.string_to_array(bindparam("emails"), "\n")),
    _ACTIVE,
)
_CHECK_SQLITE = select(
    func.json_group_object(_SUPPRESSION.c.email, _SUPPRESSION.c.reason, type_=JSON)
).where(
    _SUPPRESSION.c.email.in_(
        select(column("value")).select_from(func.json_each(bindparam("emails")))
    ),
    _ACTIVE,
)


async def check(session: AsyncSession, emails: Sequence[str], *, now: datetime) -> dict[str, str]:
    """{address: reason} for the active entries among ``emails`` (normalised).

    Only the two columns the send path needs, in one query.
    """
    unique = list(dict.fromkeys(emails))
    if not unique:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        query, values = _CHECK_PG, "\n".join(unique)
        if values.count("\n") >= len(unique):
            # An address holding a line break is no normalised address, so never on the
            # list; left out rather than split in two.
            values = "\n".join(email for email in unique if "\n" not in email)
    else:
        query, values = _CHECK_SQLITE, json.dumps(unique)
    found: dict[str, str] | None = await session.scalar(query, {"emails": values, "now": now})
    return found or {}  # PostgreSQL aggregates no rows to NULL


async def changes(session: AsyncSession, email: str) -> Sequence[SuppressionChange]:
    query = (
        select(SuppressionChange)
        .where(SuppressionChange.email == email)
        .order_by(SuppressionChange.at, SuppressionChange.id)
    )
    return (await session.scalars(query)).all()


async def put(
    session: AsyncSession,
    entry: Entry,
    *,
    actor: str,
    now: datetime,
    replace_active: bool,
) -> EntryOutcome:
    """Write ``entry`` as policy.write_entry decides; ``replace_active`` says an operator
    asked (its ``by_operator``)."""

    def decide(found: Current | None) -> Write | None:
        return policy.write_entry(entry, found, actor=actor, now=now, by_operator=replace_active)

    # Decided as for a new address first: in a bounce storm most addresses are new, and
    # the conflict-tolerant INSERT makes two writers adding one address take turns (the
    # second waits for the first to commit, then updates its row) instead of one failing.
    written = await settle(session, entry.email, decide(None), decide, now=now)
    return policy.change_of(written)


# Rounds of decide-and-write before giving up on an address other writers keep changing.
_ATTEMPTS = 3


async def settle(
    session: AsyncSession,
    email: str,
    write: Write | None,
    decide: Callable[[Current | None], Write | None],
    *,
    now: datetime,
) -> Write | None:
    """Carry out ``write``, decided on what the caller knew of the address; when its
    INSERT meets an entry another writer added, or its row is gone, read the entry
    (locked), have ``decide`` decide again, and carry that out. The write made."""
    for _ in range(_ATTEMPTS):
        if await carry_out(session, write, now=now):
            return write
        write = decide(await current(session, email))
    raise _contended(email)


def _contended(email: str) -> Unavailable:
    return Unavailable(
        f"the suppression entry for {email} kept changing under concurrent writers; "
        "nothing was stored; retry"
    )


async def carry_out(session: AsyncSession, write: Write | None, *, now: datetime) -> bool:
    """Make one decided write with its change-log line; False when nothing was written
    because the address's row was not as decided (an INSERT met an entry, a row to
    remove was gone)."""
    if write is None:
        return True
    if isinstance(write, Insert):
        return await _insert(session, write, now=now)
    if isinstance(write, Update):
        await _update(session, write, now=now)
    else:
        # ORM-enabled, so an entry loaded in this session is gone from it too.
        removing = delete(Suppression).where(Suppression.email == write.line.email)
        result = await session.execute(removing)
        if result.rowcount == 0:  # type: ignore[attr-defined]
            return False
    await _log(session, write.line, now=now)
    return True


async def remove(
    session: AsyncSession, email: str, *, actor: str, note: str | None, now: datetime
) -> bool:
    """Delete the entry; the removal stays in the change history. False if absent."""
    line = ChangeLine(email, ChangeAction.REMOVED, actor, note=note)
    return await carry_out(session, Lift(line), now=now)


@functools.cache
def _add_statement(dialect: str) -> Any:
    """INSERT the entry unless the address has one; on PostgreSQL with its change logged.

    Values are bound as ``v_<column>`` and the change line as ``l_<column>``. On
    PostgreSQL one statement does both writes, a round trip fewer for every new address
    in a bounce storm: the change row is selected from what the data-modifying CTE
    returned, so it exists exactly when the entry was inserted, and the statement's
    rowcount says which. SQLite has no INSERT in a CTE; there _insert logs the change.
    """
    columns = _SUPPRESSION.c
    values = {
        name: bindparam(f"v_{name}", type_=columns[name].type) for name in tables.ENTRY_COLUMNS
    }
    add = dialect_insert(dialect)(_SUPPRESSION).values(values)
    add = add.on_conflict_do_nothing(index_elements=["email"])
    if dialect != "postgresql":
        return add
    added = add.returning(columns.email).cte("added")
    line = [bindparam(f"l_{name}", type_=_CHANGE.c[name].type) for name in tables.LOG_COLUMNS[1:]]
    return insert(_CHANGE).from_select(tables.LOG_COLUMNS, select(added.c.email, *line))


async def _insert(session: AsyncSession, write: Insert, *, now: datetime) -> bool:
    """Add the entry if the address has none; False (nothing written) if it has one."""
    entry, line = write.entry, write.line
    dialect = session.get_bind().dialect.name
    params = {f"v_{name}": value for name, value in entry_values(entry, now=now).items()}
    if dialect == "postgresql":
        params.update({f"l_{name}": value for name, value in change_values(line, now=now).items()})
    result = await session.execute(_add_statement(dialect), params)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if dialect != "postgresql":
        await _log(session, line, now=now)
    return True


async def _update(session: AsyncSession, write: Update, *, now: datetime) -> None:
    """Overwrite the address's existing (locked) entry as the write says."""
    entry = write.entry
    values: dict[str, Any] = {
        "reason": entry.reason,
        "source": entry.source,
        "expires_at": entry.expires_at,
        "updated_at": now,
        **entry_texts(entry),
    }
    if not write.keep_note:
        values["note"] = entry.note
    if write.redate:
        values["created_at"] = now
    await session.execute(
        update(_SUPPRESSION).where(_SUPPRESSION.c.email == entry.email).values(values)
    )


async def _log(session: AsyncSession, line: ChangeLine, *, now: datetime) -> None:
    await session.execute(_LOG, change_values(line, now=now))
