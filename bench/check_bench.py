# ruff: noqa: S608, E501  (fixed column list, no user input)
"""Send-path benchmark: app.suppression.entry_store.check against a large suppression table.

* one message's recipients (1-3 addresses, about half suppressed), each check in its own
  session as the send wrapper does (open, SELECT, commit): p50/p99;
* a bulk check of 10,000 addresses (half suppressed) through entry_store.check: median/p99;
* the same 10,000 through the HTTP API (POST /v1/suppressions/check on a live bouncer),
  which adds JSON, validation and address normalisation;
* whole sends through the send wrapper (app.sending.SesSender: check, SES call,
  record) against moto's SES in process, 1-3 recipients of which about half are
  suppressed: bouncer's share of each send is its wall time minus the time spent inside
  the SES client's send_email, measured per send (p50/p99), next to that SES time.

Alone: ``python -m bench.check_bench --help`` (its own database ``bouncer_check_bench`` at
``BENCH_PG_ADMIN``, created and dropped; SQLite in a temp dir). Run as a file with
``PYTHONPATH=<another checkout>``, it measures that checkout's code: how before/after
figures are taken, alternated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
from moto import mock_aws

from app.db import Database
from app.errors import AllRecipientsSuppressed
from app.migrate import upgrade_to_head
from app.sending import SesSender
from app.ses.request import SendRequest
from app.settings import normalize_database_url
from app.suppression import entry_store
from app.suppression.bulk_store import NewEntry
from bench.common import (
    PG_ADMIN_URL,
    SUPPRESSION_COLUMNS,
    Server,
    median,
    percentile,
    pg_available,
    sqlite_row,
)

COLUMNS = SUPPRESSION_COLUMNS


def address(i: int) -> str:
    return f"s{i}@d{i % 1000}.example.org"


def rows(count: int, now: datetime) -> Iterator[NewEntry]:
    rng = random.Random(7)
    for i in range(count):
        email = address(i)
        roll = rng.random()
        created = now - timedelta(seconds=rng.randrange(86400 * 365))
        expires = None
        if roll < 0.70:
            reason, subtype, code = "bounce", "General", "smtp; 550 5.1.1 user unknown"
        elif roll < 0.85:
            reason, subtype, code = "complaint", "abuse", None
        else:
            reason, subtype, code = "soft_bounce", "MailboxFull", "smtp; 452 4.2.2 mailbox full"
            # two thirds still active, one third expired (check must skip those)
            expires = now + timedelta(days=3) if roll < 0.95 else now - timedelta(days=3)
        yield NewEntry(
            email=email, display=email, domain=email.split("@")[1], reason=reason,
            subtype=subtype, diagnostic_code=code, source="sns",
            ses_message_id=f"0100018e-{i:012d}-000000", feedback_id=f"fb-{i:012d}", note=None,
            created_at=created, updated_at=created, expires_at=expires,
        )  # fmt: skip


async def seed_pg(url: str, count: int, now: datetime) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("TRUNCATE suppression")
        await conn.copy_records_to_table("suppression", records=rows(count, now), columns=COLUMNS)
        await conn.execute("ANALYZE suppression")
    finally:
        await conn.close()


def seed_sqlite(path: Path, count: int, now: datetime) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("DELETE FROM suppression")
        batch = []
        sql = f"INSERT INTO suppression ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        for row in rows(count, now):
            batch.append(sqlite_row(row))
            if len(batch) == 20_000:
                conn.executemany(sql, batch)
                batch.clear()
        if batch:
            conn.executemany(sql, batch)
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


def lookup_sets(count: int, iterations: int, rng: random.Random) -> list[list[str]]:
    sets = []
    for _ in range(iterations):
        n = rng.choice((1, 1, 2, 3))
        sets.append(
            [
                address(rng.randrange(count))
                if rng.random() < 0.5
                else f"fresh{rng.randrange(10**9)}@new.example.net"
                for _ in range(n)
            ]
        )
    return sets


def bulk_set(count: int, size: int, rng: random.Random) -> list[str]:
    present = [address(i) for i in rng.sample(range(count), size // 2)]
    absent = [
        f"fresh{rng.randrange(10**12)}@new{j % 97}.example.net" for j in range(size - size // 2)
    ]
    emails = present + absent
    rng.shuffle(emails)
    return emails


async def run_check(
    plain_url: str,
    *,
    rows_count: int,
    single_iters: int,
    bulk_iters: int,
    bulk_size: int = 10_000,
    sends: bool = True,
) -> dict[str, Any]:
    url = normalize_database_url(plain_url)
    db = Database(url)
    now = datetime.now(UTC)
    try:
        await upgrade_to_head(db.engine)
        t = time.perf_counter()
        if db.engine.dialect.name == "postgresql":
            await seed_pg(url, rows_count, now)
        else:
            path = Path(db.engine.url.database or "")
            seed_sqlite(path, rows_count, now)
        seed_s = time.perf_counter() - t
        await db.engine.dispose()  # fresh connections see the seeded table and statistics

        rng = random.Random(11)
        sets = lookup_sets(rows_count, single_iters + 200, rng)
        hits = 0
        for emails in sets[:200]:  # warm-up: connections, statement caches, pages
            async with db.session() as session:
                await entry_store.check(session, emails, now=now)
        single: list[float] = []
        for emails in sets[200:]:
            t0 = time.perf_counter()
            async with db.session() as session:
                found = await entry_store.check(session, emails, now=now)
            single.append((time.perf_counter() - t0) * 1000)
            hits += len(found)

        bulk: list[float] = []
        bulk_cpu: list[float] = []  # this process's (SQLite's thread included), not PG's
        bulk_found = 0
        for i in range(bulk_iters + 1):
            emails = bulk_set(rows_count, bulk_size, rng)
            t0, cpu0 = time.perf_counter(), time.process_time()
            async with db.session() as session:
                found = await entry_store.check(session, emails, now=now)
            ms = (time.perf_counter() - t0) * 1000
            if i:  # the first is a warm-up
                bulk.append(ms)
                bulk_cpu.append((time.process_time() - cpu0) * 1000)
                bulk_found = len(found)
        send = await run_sends(db, rows_count, single_iters // 2, rng) if sends else {}
        return {
            **send,
            "rows": rows_count,
            "seed_s": round(seed_s, 1),
            "single_iterations": len(single),
            "single_p50_ms": round(percentile(single, 50), 3),
            "single_p99_ms": round(percentile(single, 99), 3),
            "single_hits": hits,
            "bulk_size": bulk_size,
            "bulk_runs_ms": [round(x, 1) for x in bulk],
            "bulk_median_ms": round(median(bulk), 1),
            "bulk_p99_ms": round(percentile(bulk, 99), 1),
            "bulk_cpu_median_ms": round(median(bulk_cpu), 1),
            "bulk_found_last": bulk_found,
        }
    finally:
        await db.dispose()


def run_http_bulk(
    server: Server, rows_count: int, iters: int, bulk_size: int = 10_000
) -> dict[str, Any]:
    rng = random.Random(13)
    times: list[float] = []
    cpu_s = 0.0
    with httpx.Client(
        base_url=server.url, headers={"Authorization": "Bearer secret-bench-token"}, timeout=60
    ) as client:
        for i in range(iters + 1):
            emails = bulk_set(rows_count, bulk_size, rng)
            cpu0 = process_cpu_s(server.process.pid)
            t0 = time.perf_counter()
            response = client.post("/v1/suppressions/check", json={"emails": emails})
            ms = (time.perf_counter() - t0) * 1000
            response.raise_for_status()
            if i:
                times.append(ms)
                cpu_s += process_cpu_s(server.process.pid) - cpu0
    return {
        "http_bulk_runs_ms": [round(x, 1) for x in times],
        "http_bulk_median_ms": round(median(times), 1),
        "http_bulk_p99_ms": round(percentile(times, 99), 1),
        # bouncer's own CPU per check (not the database's): steadier than wall time on a
        # shared machine, though counted in clock ticks (10 ms), so only as a mean.
        "http_bulk_server_cpu_ms": round(cpu_s * 1000 / iters, 1) if iters else None,
    }


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _TimedClient:
    """The SES client with the time spent in each send_email call noted."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.meta = client.meta
        self.last_ms = 0.0

    def send_email(self, **params: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._client.send_email(**params)
        finally:
            self.last_ms = (time.perf_counter() - t0) * 1000

    def close(self) -> None:
        self._client.close()


async def run_sends(
    db: Database, rows_count: int, iters: int, rng: random.Random
) -> dict[str, Any]:
    added: list[float] = []
    ses: list[float] = []
    refused = 0
    with mock_aws():
        client = boto3.client("sesv2", region_name="us-east-1")
        client.create_email_identity(EmailIdentity="example.com")
        timed = _TimedClient(client)
        sender = SesSender(timed, db)  # type: ignore[arg-type]
        for i, emails in enumerate(lookup_sets(rows_count, iters + 100, rng)):
            request = SendRequest(from_="shop@example.com", to=emails, subject="s", text="t")
            timed.last_ms = 0.0
            t0 = time.perf_counter()
            try:
                await sender.send(request)
            except AllRecipientsSuppressed:
                refused += 1  # no SES call: all of it is bouncer's
            total = (time.perf_counter() - t0) * 1000
            if i >= 100:  # the first are a warm-up
                added.append(total - timed.last_ms)
                ses.append(timed.last_ms)
    called = [x for x in ses if x]
    return {
        "send_iterations": len(added),
        "send_all_suppressed": refused,
        "send_added_p50_ms": round(percentile(added, 50), 3),
        "send_added_p99_ms": round(percentile(added, 99), 3),
        "send_ses_p50_ms": round(percentile(called, 50), 3),
        "send_ses_p99_ms": round(percentile(called, 99), 3),
    }


# ------------------------------------------------------------------------ alone, from the shell


async def own_pg_database(name: str = "bouncer_check_bench", *, drop: bool = False) -> str:
    """Create (or only drop) a database of this benchmark's own at BENCH_PG_ADMIN, apart
    from ``make bench``'s, so the two can run on one server; its plain URL."""
    import asyncpg

    admin = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{admin.rsplit('/', 1)[0]}/{name}"


def run_one(db: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    url = asyncio.run(own_pg_database()) if db == "postgresql" else f"sqlite:///{tmp / 'check.db'}"
    try:
        result = asyncio.run(
            run_check(
                url,
                rows_count=args.rows,
                single_iters=args.single_iters,
                bulk_iters=args.bulk_iters,
                sends=args.sends,
            )
        )
        if args.http_iters:
            server = Server.bouncer(
                database_url=url, data_dir=tmp / f"data-{db}", cert_dir=tmp, workers=1,
                log_path=tmp / f"bouncer-check-{db}.log",
            )  # fmt: skip
            try:
                server.wait_ready()
                result |= run_http_bulk(server, args.rows, args.http_iters)
            finally:
                server.stop()
        return result
    finally:
        if db == "postgresql":
            asyncio.run(own_pg_database(drop=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql,sqlite", help="comma list: postgresql,sqlite")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the suppression table")
    parser.add_argument(
        "--single-iters", type=int, default=2000, help="checks of 1-3 addresses (0: none)"
    )
    parser.add_argument(
        "--bulk-iters", type=int, default=10, help="10,000-address entry_store.check"
    )
    parser.add_argument("--http-iters", type=int, default=5, help="10,000-address HTTP checks")
    parser.add_argument("--no-sends", dest="sends", action="store_false", help="skip the sends")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    if "postgresql" in dbs and not asyncio.run(pg_available()):
        print("PostgreSQL not reachable at BENCH_PG_ADMIN: skipping it", file=sys.stderr)
        dbs.remove("postgresql")
    tmp = Path(tempfile.mkdtemp(prefix="bouncer-check-bench-"))
    results: dict[str, Any] = {}
    try:
        for db in dbs:
            results[db] = chk = run_one(db, args, tmp)
            line = [
                f"{db}: bulk entry_store.check {chk['bulk_median_ms']} ms {chk['bulk_runs_ms']}",
                f"its CPU {chk['bulk_cpu_median_ms']} ms",
            ]
            if "http_bulk_median_ms" in chk:
                line.append(f"HTTP {chk['http_bulk_median_ms']} ms {chk['http_bulk_runs_ms']}")
                line.append(f"bouncer CPU {chk['http_bulk_server_cpu_ms']} ms a check")
            if chk["single_iterations"]:
                line.append(f"1-3 p50/p99 {chk['single_p50_ms']}/{chk['single_p99_ms']} ms")
            print("; ".join(line), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
