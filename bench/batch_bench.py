"""The batch API (``app.feedback.apply_batch``): SES events per second applied in batches.

What the SQS consumer and ``bouncer replay`` will run: the same SES bodies as the ingest
bench (bench/common.ses_message: hard and soft bounces, complaints, 1-3 recipients from a
pool of 50,000), parsed before the clock starts, applied ``--batch`` at a time, one
transaction per batch, into a freshly migrated database. Beside it, the same events one
per transaction through ``apply_event`` (what ingest did before group commit; the first
2,000 events), so the figure comes with its own floor from the same run.

    python -m bench.batch_bench --db postgresql --events 20000 --batch 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.db import Database
from app.feedback import Notice, apply_batch, apply_event
from app.ses.events import parse_ses_event
from app.suppression import policy
from bench.common import drop_pg_database, pg_available, reset_pg_database, ses_message
from tests.databases import migrate

RULES = policy.Rules()


async def _fresh(db: str, tmp: Path, name: str) -> str:
    if db == "postgresql":
        url = (await reset_pg_database()).replace("postgresql://", "postgresql+asyncpg://")
    else:
        url = f"sqlite+aiosqlite:///{tmp / name}.db"
    await migrate(url)
    return url


async def _run(url: str, notices: list[Notice], batch: int) -> float:
    database = Database(url)
    try:
        started = time.perf_counter()
        for start in range(0, len(notices), batch):
            async with database.session() as session:
                chunk = notices[start : start + batch]
                if batch == 1:
                    one = chunk[0]
                    now = datetime.now(UTC)
                    await apply_event(
                        session, one.event, sns_message_id=one.sns_message_id, rules=RULES, now=now
                    )
                else:
                    await apply_batch(session, chunk, rules=RULES, now=datetime.now(UTC))
        return time.perf_counter() - started
    finally:
        await database.dispose()


async def run_batch(db: str, *, events: int, batch: int) -> dict[str, Any]:
    rng = random.Random(7)
    notices = [Notice(parse_ses_event(ses_message(rng, n)), f"bench-{n}") for n in range(events)]
    out: dict[str, Any] = {"db": db, "events": events, "batch": batch}
    with tempfile.TemporaryDirectory() as tmp:
        # One by one is an order of magnitude slower: its rate from the first events.
        for label, size, count in (
            ("batched", batch, events),
            ("one_by_one", 1, min(events, 2000)),
        ):
            url = await _fresh(db, Path(tmp), label)
            seconds = await _run(url, notices[:count], size)
            out[f"{label}_events_per_s"] = round(count / seconds)
            print(f"{db} {label} (batch {size}): {count / seconds:,.0f} events/s", file=sys.stderr)
        if db == "postgresql":
            await drop_pg_database()
    out["ratio"] = round(out["batched_events_per_s"] / out["one_by_one_events_per_s"], 2)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql,sqlite")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args(argv)
    results = []
    for db in args.db.split(","):
        if db == "postgresql" and not asyncio.run(pg_available()):
            print("PostgreSQL unreachable: skipped", file=sys.stderr)
            continue
        results.append(asyncio.run(run_batch(db, events=args.events, batch=args.batch)))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
