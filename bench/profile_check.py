"""Where a 10,000-address bulk check spends its time: pyinstrument over the real app, in process.

    .venv/bin/python -m bench.profile_check [--db sqlite|postgresql] [-n 20] [--rows 100000]

Seeds the suppression table as bench/check_bench.py does, builds the real app
(create_app, lifespan, all middleware), posts ``POST /v1/suppressions/check`` bodies of
10,000 addresses (half suppressed, serialised before the clock starts) through the ASGI
transport one at a time, and prints pyinstrument's call tree, then the wall time per
check measured in a second pass without the profiler. No uvicorn and no sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pyinstrument import Profiler

from bench.check_bench import bulk_set, own_pg_database, seed_pg, seed_sqlite

_TOKEN = "profile-check-token-0123"  # noqa: S105  (in process only)


async def main_async(args: argparse.Namespace) -> None:
    from app.db import Database
    from app.main import create_app
    from app.migrate import upgrade_to_head
    from app.settings import Settings, normalize_database_url

    tmp = Path(tempfile.mkdtemp(prefix="bouncer-profile-check-"))
    if args.db == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bouncer.db'}"
    else:
        url = normalize_database_url(await own_pg_database("bouncer_profile_check"))
    database = Database(url)
    await upgrade_to_head(database.engine)
    await database.dispose()
    now = datetime.now(UTC)
    if args.db == "sqlite":
        seed_sqlite(tmp / "bouncer.db", args.rows, now)
    else:
        await seed_pg(url, args.rows, now)
    rng = random.Random(13)
    bodies = [
        json.dumps({"emails": bulk_set(args.rows, 10_000, rng)}).encode()
        for _ in range(args.warm + 2 * args.n)
    ]
    settings = Settings(
        DATABASE_URL=url, DATA_DIR=tmp, API_TOKENS=f"ops={_TOKEN}", LOG_LEVEL="WARNING"
    )
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {_TOKEN}", "Content-Type": "application/json"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def post(body: bytes) -> float:
                t0 = time.perf_counter()
                answer = await client.post("/v1/suppressions/check", content=body, headers=headers)
                ms = (time.perf_counter() - t0) * 1000
                assert answer.status_code == 200, answer.text
                return ms

            for body in bodies[: args.warm]:
                await post(body)
            profiler = Profiler(async_mode="enabled", interval=0.0002)
            with profiler:
                for body in bodies[args.warm : args.warm + args.n]:
                    await post(body)
            times = [await post(body) for body in bodies[args.warm + args.n :]]
    if args.db == "postgresql":
        await own_pg_database("bouncer_profile_check", drop=True)
    print(profiler.output_text(unicode=True, show_all=bool(os.environ.get("PROFILE_ALL"))))
    print(
        f"check on {args.db}: {len(times)} checks of 10,000, median "
        f"{statistics.median(times):.1f} ms, min {min(times):.1f} ms (unprofiled)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("-n", type=int, default=20, help="checks profiled, then as many timed")
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
