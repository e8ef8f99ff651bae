"""PostgreSQL: many rows in one INSERT whose text never changes, the values as arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, TextClause, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


def unnest_insert(
    table: Table, columns: Sequence[str], *, conflict: str, returning: str
) -> TextClause:
    """PostgreSQL: ``INSERT … SELECT * FROM unnest(…) ON CONFLICT (conflict) DO NOTHING
    RETURNING returning``, one array parameter per column (bound by column name).

    One statement text whatever the row count, so asyncpg prepares it once, and the
    values travel as binary arrays: a multi-row VALUES list is rendered, parsed and
    planned anew for every row count, which costs more than the rows themselves.
    """
    dialect: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    for name in (conflict, returning):
        table.c[name]  # every name is one of the table's columns (KeyError otherwise)
    arrays = ", ".join(
        f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in columns
    )
    # Names from the Table itself, values as parameters: nothing from outside is spliced.
    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"  # noqa: S608
    return text(f"{statement} ON CONFLICT ({conflict}) DO NOTHING RETURNING {returning}")


def columns_of(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, list[Any]]:
    """The rows as one list per column, for ``unnest_insert``."""
    return {name: [row[name] for row in rows] for name in columns}
