"""SQL for the expiry sweep (SPEC §10: ``suppression.expired`` within a minute of an
entry's expires_at passing).

Nothing is written when an expires_at passes, so a periodic sweep (app.webhooks.upkeep)
writes it: one ``expired`` history line per entry whose expires_at passed since the last
sweep, and migration 0012's trigger turns each line into its event in the same
statement. The lines and the move of change_sweep's ``done_until`` commit together, so
an expiry is reported once or, should the transaction fail, not yet.

- The range. expires_at up to now - SETTLE, after where the last pass stopped. SETTLE lets
  a write whose expires_at is a moment ahead, committed a moment late (or by a replica
  whose clock is behind), land before the sweep passes that moment.
- What is reported: an entry whose expires_at passed while it was on the list, that is
  after its last write (expires_at > updated_at). An entry removed, or re-suppressed
  (expires_at cleared or moved later), before its expiry passed has no expires_at in the
  range: no event. An entry written with an expires_at already past (a PUT into the
  past, an import of an expired entry) stopped suppressing by that write, whose own
  ``suppression.added`` or ``updated`` event carries the past expires_at: no
  ``expired`` follows it. Nor does one follow an expiry overwritten before the sweep saw
  it (an expired entry suppressed again within SETTLE plus one interval): the new
  ``added`` says what holds.
- The line's ``at`` is the entry's expires_at, the moment it stopped suppressing.
- The walk. Entries are taken in (expires_at, email) order, a range of their index, and
  the sweep's row keeps where it stopped: a full batch its last (expires_at, email), the
  next pass starting strictly after it; a batch that was not full the horizon, with no
  email (every entry up to that instant is done). However many entries share an
  instant (a bulk import's), each is reported once, and no pass looks at what an earlier
  one reported: neither the history nor the entries behind the walk's position.
- One replica at a time: change_sweep's row is locked for the transaction (FOR UPDATE
  SKIP LOCKED on PostgreSQL: another replica sweeping means this one skips its turn;
  SQLite has one writer).
- The first sweep on a database creates the row at its horizon and reports nothing:
  entries that expired before this version ran get no event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, insert, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert, table_of
from app.models import ChangeSweep
from app.suppression import tables
from app.vocabulary import ChangeAction

SETTLE = timedelta(seconds=5)
ACTOR = "expiry"
_NAME = "expiry"
_SWEEP = table_of(ChangeSweep)
_SUPPRESSION = tables.SUPPRESSION
_CHANGE = tables.CHANGE
_ROW = select(_SWEEP.c.done_until, _SWEEP.c.done_email).where(_SWEEP.c.name == _NAME)
_LINE = ("email", "action", "actor", "reason", "expires_at", "note", "at")


@dataclass(frozen=True)
class Swept:
    expired: int = 0
    # The batch was full: more may be due, for another transaction.
    full: bool = False
    # Another replica holds the sweep: nothing was done, this turn is skipped.
    busy: bool = False
    # The sweep's row was created: this database is swept from now on.
    started: bool = False


async def sweep(session: AsyncSession, *, now: datetime, limit: int) -> Swept:
    """Write the ``expired`` lines (so events) of at most ``limit`` entries whose
    expires_at passed since the last sweep, and move the sweep on; the caller commits."""
    horizon = now - SETTLE
    done = (await session.execute(_ROW.with_for_update(skip_locked=True))).first()
    if done is None:
        # Read unlocked: an INSERT would wait for the replica that holds the row.
        if await session.scalar(_ROW) is not None:
            return Swept(busy=True)
        return await _start(session, horizon)
    done_until, done_email = done
    if horizon < done_until:  # a clock behind the last sweeper's: never back
        return Swept()
    if done_email is None:
        after = _SUPPRESSION.c.expires_at > done_until
    else:
        # A row comparison: both databases start the index scan right after that entry.
        walked = (_SUPPRESSION.c.expires_at, _SUPPRESSION.c.email)
        after = tuple_(*walked) > tuple_(
            *(literal(value, column.type) for value, column in zip(done, walked, strict=True))
        )
    due = (
        select(
            _SUPPRESSION.c.email,
            literal(ChangeAction.EXPIRED.value, String),
            literal(ACTOR, String),
            _SUPPRESSION.c.reason,
            _SUPPRESSION.c.expires_at,
            _SUPPRESSION.c.note,
            _SUPPRESSION.c.expires_at,
        )
        .where(
            after,
            _SUPPRESSION.c.expires_at <= horizon,
            _SUPPRESSION.c.expires_at > _SUPPRESSION.c.updated_at,
        )
        .order_by(_SUPPRESSION.c.expires_at, _SUPPRESSION.c.email)
        .limit(limit)
    )
    written = await session.execute(insert(_CHANGE).from_select(_LINE, due).returning(_CHANGE.c.id))
    ids = list(written.scalars())
    full = len(ids) >= limit
    # A full batch may have left entries of its last instant, or after it: go on after
    # its last entry. Otherwise every entry up to the horizon is done.
    last: tuple[datetime, str | None] = (horizon, None)
    if full:
        # Its last in the database's order (its collation's, not Python's): RETURNING
        # gives the lines in no order.
        last_line = (
            select(_CHANGE.c.at, _CHANGE.c.email)
            .where(_CHANGE.c.id.in_(ids))
            .order_by(_CHANGE.c.at.desc(), _CHANGE.c.email.desc())
            .limit(1)
        )
        at, email = (await session.execute(last_line)).one()
        last = (at, email)
    await session.execute(
        update(_SWEEP).where(_SWEEP.c.name == _NAME).values(done_until=last[0], done_email=last[1])
    )
    return Swept(expired=len(ids), full=full)


async def _start(session: AsyncSession, horizon: datetime) -> Swept:
    """Create the sweep's row; if another replica's first sweep has just created it (this
    waits for that one's commit), this turn is that replica's."""
    create = (
        dialect_insert(session.get_bind().dialect.name)(_SWEEP)
        .values(name=_NAME, done_until=horizon)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(_SWEEP.c.name)
    )
    created = (await session.execute(create)).first() is not None
    return Swept(started=True) if created else Swept(busy=True)


async def swept_until(session: AsyncSession) -> datetime | None:
    """How far the sweep has looked; None before its first run."""
    return await session.scalar(select(_SWEEP.c.done_until).where(_SWEEP.c.name == _NAME))
