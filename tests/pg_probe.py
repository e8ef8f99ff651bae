"""Exit 0 when a PostgreSQL server answers at the URL given, else 1 (used by `make test`)."""

from __future__ import annotations

import asyncio
import sys

import asyncpg


async def _probe(url: str) -> None:
    connection = await asyncpg.connect(url, timeout=3)
    await connection.close()


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        asyncio.run(_probe(url))
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
