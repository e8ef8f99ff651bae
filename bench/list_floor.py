# ruff: noqa: S608  (fixed SQL, no input)
"""The floor under a million-row import: the database's own work alone, no client.

``python -m bench.list_floor`` (``--rows``, default 1,000,000): into the migrated schema
(the list's four B-trees on PostgreSQL, five on SQLite, and the change log's two), each
row an entry and its "added" change line, as an import writes them:

* PostgreSQL: ``INSERT … SELECT`` from a temporary table filled beforehand, so the time
  is the server's inserting and index work only, in the order of the file (random
  addresses) and sorted by address;
* SQLite: ``executemany`` of rows built beforehand, in one transaction, with bouncer's
  pragmas (WAL, synchronous=NORMAL).

No import can be faster than this on the same machine: it is the figure to hold the
issue #15 targets (10 s on PostgreSQL, 30 s on SQLite) against.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.list_bench import drop_database, fresh_database, pg_url

_DOMAINS = 86_000  # as many distinct domains as the bench's CSV has, roughly

_PG_STAGE = f"""
CREATE TEMP TABLE stage AS
SELECT 'user' || md5(i::text) || '@d' || (i % {_DOMAINS}) || '.example.com' AS email,
       'd' || (i % {_DOMAINS}) || '.example.com' AS domain
FROM generate_series(1, $1::int) AS i ORDER BY random()
"""
_PG_LOAD = """
INSERT INTO suppression
SELECT email, email, domain, 'bounce', 'General', 'smtp; 550 5.1.1 user unknown', 'import',
       NULL, NULL, NULL, now(), now(), NULL
FROM stage {order};
INSERT INTO suppression_change (email, action, actor, reason, expires_at, note, at)
SELECT email, 'added', 'bench', 'bounce', NULL, NULL, now() FROM stage {order};
"""


async def pg_floor(rows: int, *, ordered: bool) -> float:
    import asyncpg

    await fresh_database("postgresql", Path(), "_floor")
    conn = await asyncpg.connect(pg_url("bouncer_list_bench_floor"))
    try:
        await conn.execute(_PG_STAGE.replace("$1::int", str(int(rows))))
        load = _PG_LOAD.format(order="ORDER BY email" if ordered else "")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(load)
        return time.perf_counter() - started
    finally:
        await conn.close()
        await drop_database("_floor")


def _sqlite_rows(rows: int, *, ordered: bool) -> list[tuple[str, str]]:
    made = [
        (f"user{hashlib.md5(str(i).encode()).hexdigest()}@d{i % _DOMAINS}.example.com", i)  # noqa: S324
        for i in range(rows)
    ]
    if ordered:
        made.sort()
    return [(email, f"d{i % _DOMAINS}.example.com") for email, i in made]


async def sqlite_floor(rows: int, *, ordered: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        url = await fresh_database("sqlite", Path(tmp), "floor")
        made = _sqlite_rows(rows, ordered=ordered)
        at = "2026-12-06 00:00:00.000000"
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO suppression VALUES (?, ?, ?, 'bounce', 'General', 'smtp; 550 5.1.1 "
                f"user unknown', 'import', NULL, NULL, NULL, '{at}', '{at}', NULL)",
                ((email, email, domain) for email, domain in made),
            )
            conn.executemany(
                "INSERT INTO suppression_change (email, action, actor, reason, at) "
                f"VALUES (?, 'added', 'bench', 'bounce', '{at}')",
                ((email,) for email, _ in made),
            )
            conn.execute("COMMIT")
            return time.perf_counter() - started
        finally:
            conn.close()


async def measure(rows: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "postgresql_file_order_s": round(await pg_floor(rows, ordered=False), 1),
        "postgresql_sorted_s": round(await pg_floor(rows, ordered=True), 1),
        "sqlite_file_order_s": round(await sqlite_floor(rows, ordered=False), 1),
        "sqlite_sorted_s": round(await sqlite_floor(rows, ordered=True), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.rows))))


if __name__ == "__main__":
    main()
