"""Where an ingest request spends its time: pyinstrument over N notifications, in process.

    .venv/bin/python -m bench.profile_ingest [--db sqlite|postgresql] [-n 600]

Builds the real app (create_app, lifespan, all middleware) on a fresh database, posts
pre-signed notifications through the ASGI transport one at a time, and prints
pyinstrument's call tree (async-aware, unlike cProfile, which counts every coroutine
resumption as a call) and the wall time per notification, measured in a second pass
without the profiler. No uvicorn and no sockets: what is left is bouncer's own
per-request cost. pyinstrument is a dev dependency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from pathlib import Path

import httpx
from pyinstrument import Profiler

from bench.common import presign, reset_pg_database
from tests.signing import TOPIC_ARN, SnsSigner


async def main_async(args: argparse.Namespace) -> None:
    from app.db import Database
    from app.main import create_app
    from app.migrate import upgrade_to_head
    from app.settings import Settings, normalize_database_url

    tmp = Path(tempfile.mkdtemp(prefix="bouncer-profile-"))
    signer = SnsSigner.create()
    cert_dir = tmp / "certs"
    cert_dir.mkdir()
    signer.write_cert(cert_dir)
    if args.db == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bouncer.db'}"
    else:
        url = normalize_database_url(await reset_pg_database())
    database = Database(url)
    await upgrade_to_head(database.engine)
    await database.dispose()
    requests = presign(signer, args.n + args.warm, seed=args.seed)
    settings = Settings(
        DATABASE_URL=url,
        DATA_DIR=tmp,
        SNS_TOPIC_ARNS=TOPIC_ARN,
        SNS_CERT_DIR=cert_dir,
        API_TOKENS="ops=profile-bench-token",
        LOG_LEVEL="WARNING",
    )
    if args.floor:
        # The floor app reads its settings from the environment when imported.
        os.environ.update(
            FLOOR_DATABASE_URL=url, FLOOR_CERT=str(next(cert_dir.iterdir())), FLOOR_TOPIC=TOPIC_ARN
        )
        from bench import floor_app

        await floor_app.create_table(url)
        app = floor_app.app
    else:
        app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def post(body: str, headers: dict[str, str]) -> None:
                answer = await client.post("/sns", content=body, headers=headers)
                assert answer.status_code == 200, answer.text

            half = args.warm + args.n // 2
            for body, headers in requests[: args.warm]:
                await post(body, headers)
            profiler = Profiler(async_mode="enabled")
            with profiler:
                for body, headers in requests[args.warm : half]:
                    await post(body, headers)
            started = time.perf_counter()
            for body, headers in requests[half:]:
                await post(body, headers)
            elapsed = time.perf_counter() - started
    print(profiler.output_text(unicode=True, show_all=bool(os.environ.get("PROFILE_ALL"))))
    timed = len(requests) - half
    who = "floor" if args.floor else "bouncer"
    each = elapsed * 1000 / timed
    print(f"{who} on {args.db}: {timed} notifications, {each:.2f} ms each (unprofiled)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--floor", action="store_true", help="profile the floor app instead")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("-n", type=int, default=600)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--seed", type=int, default=random.randrange(1_000_000))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
