"""The plans the database chooses for what a function runs, a line a step: for tests that
a query at scale reads an index range, not the table (what no timing on a small table
shows)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.models import Suppression

_REASONS = ("bounce", "bounce", "complaint", "soft_bounce", "manual")


async def in_use(database: Database, count: int, *, now: datetime) -> None:
    """``count`` entries r0@example.com, r1@… (a fifth soft bounces expiring a day after
    ``now``), then current statistics, as a table in use has: on an empty table every
    index costs the same and the planner takes any."""
    rows = [
        {"email": f"r{n}@example.com", "display": f"r{n}@example.com", "domain": "example.com",
         "reason": _REASONS[n % 5], "source": "api", "created_at": now - timedelta(seconds=n),
         "updated_at": now, "expires_at": now + timedelta(days=1) if n % 5 == 3 else None}
        for n in range(count)
    ]  # fmt: skip
    async with database.session() as session:
        await session.execute(insert(Suppression), rows)
    await analyzed(database, "suppression")


async def analyzed(database: Database, *tables: str) -> None:
    """Current statistics for ``tables``; on PostgreSQL also what autovacuum keeps true of
    tables in use, all-visible pages, without which an index-only scan is priced as a
    table read."""
    if database.engine.dialect.name == "postgresql":
        async with database.engine.connect() as connection:
            auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql(f"VACUUM ANALYZE {', '.join(tables)}")
    else:
        async with database.session() as session:
            for table in tables:
                await session.execute(text(f"ANALYZE {table}"))


async def plans_of(session: AsyncSession, run: Callable[[], Awaitable[Any]]) -> list[list[str]]:
    """Run ``run`` (which queries through ``session``), then EXPLAIN each SELECT it sent,
    with the values it sent: EXPLAIN on PostgreSQL, EXPLAIN QUERY PLAN's details on SQLite.

    PostgreSQL reads a small table whole whatever its indexes, so sequential and bitmap
    scans are turned off for the transaction: what is left is the plan an index allows,
    or a sequential scan still where none does.
    """
    sent: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", seen)
    try:
        await run()
    finally:
        event.remove(bind, "before_cursor_execute", seen)
    connection = await session.connection()
    plans = []
    for statement, parameters in sent:
        if connection.dialect.name == "postgresql":
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            await session.execute(text("SET LOCAL enable_bitmapscan = off"))
            rows = await connection.exec_driver_sql(f"EXPLAIN {statement}", tuple(parameters))
            plans.append([str(line) for line in rows.scalars()])
        else:
            rows = await connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", tuple(parameters)
            )
            plans.append([str(tuple(row)[3]) for row in rows])
    return plans
