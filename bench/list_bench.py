# ruff: noqa: E501, S603, S608  (table-building lines; our own interpreter; fixed SQL)
"""List at scale: import and export a large suppression list, and look up one address.

``python -m bench.list_bench`` (``--rows``, ``--runs``, ``--lookup-rows``, ``--db``):

* import: a CSV of ``--rows`` realistic rows through ``app.suppression.transfer.import_``
  (the code ``POST /v1/suppressions/import`` and ``bouncer suppressions import`` call),
  read in 256 KiB chunks as the CLI reads a file, into a freshly migrated database;
* export: the same list through ``transfer.export``, as CSV and as NDJSON, written to a
  file as the CLI does;
* lookup: ``entries.lookup`` (what ``GET /v1/suppressions/{email}`` calls), each in its own
  ``Database.session()``, on tables seeded by COPY (PostgreSQL) or executemany (SQLite)
  at each size in ``--lookup-rows``: p50/p99.

Each measurement runs in a child process of its own, so its peak RSS is that
measurement's alone: the child reports ``VmHWM`` from /proc/self/status as it exits (not
``ru_maxrss``: Linux carries the parent's high-water mark across fork/vfork + exec, so a
child of a large parent would report the parent's size), and its RSS before the work
(interpreter + SQLAlchemy + bouncer imported), so the work's own share is visible.
PostgreSQL: a database ``bouncer_list_bench`` created and dropped at ``BENCH_PG_ADMIN``.
SQLite: a file in a temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from app.suppression.bulk_store import NewEntry
from app.suppression.transfer.columns import COLUMNS
from bench.common import (
    CHANGE_COLUMNS,
    PG_ADMIN_URL,
    ROOT,
    SUPPRESSION_COLUMNS,
    added_line,
    machine,
    median,
    percentile,
    sqlite_row,
)

if TYPE_CHECKING:
    from app.suppression import transfer

PG_DB = os.environ.get("BENCH_LIST_PG_DB", "bouncer_list_bench")
CHUNK = 256 * 1024  # what `bouncer suppressions import` reads at a time
DEFAULTS: dict[str, Any] = {
    "rows": 1_000_000,
    "runs": 2,
    "lookup_rows": [10_000, 10_000_000],
    "lookup_iters": 2000,
    "lookup_runs": 2,
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] list: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the file


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


_PROVIDERS = (
    "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "hotmail.com", "outlook.com",
    "aol.com", "icloud.com", "live.com", "comcast.net", "gmx.de", "orange.fr", "yahoo.co.uk",
    "btinternet.com", "web.de", "mail.ru",
)  # fmt: skip


def csv_lines(count: int, now: datetime, *, seed: int = 3) -> Iterator[list[str]]:
    """A list as another bouncer (or an ESP) exports it: every column, realistic mix.

    55 % bounce, 15 % complaint, 10 % manual, 20 % soft_bounce expiring within a week;
    a note on ~10 % (some with commas, quotes, or a line break); ~2 % with a display name
    or mixed case; created_at over the last two years. Domains as in a real list: half
    at a dozen big mailbox providers, half over a long tail of 200,000 (log-uniform, so
    a few thousand recur often and most appear once or twice).
    """
    rng = random.Random(seed)
    yield list(COLUMNS)  # the header: every column, in the export's order
    for i in range(count):
        if rng.random() < 0.5:
            domain = rng.choice(_PROVIDERS)
        else:
            domain = f"company{int(200_000 ** rng.random())}.com"
        email = f"user{i}@{domain}"
        style = rng.random()
        if style < 0.01:
            email = f'"User {i}" <User{i}@{domain.title()}>'
        elif style < 0.02:
            email = email.capitalize()
        roll = rng.random()
        created = now - timedelta(seconds=rng.randrange(2 * 365 * 86400))
        expires = ""
        subtype = code = ses_id = feedback = ""
        if roll < 0.55:
            reason = "bounce"
            subtype = rng.choice(("General", "General", "NoEmail", "Suppressed"))
            code = "smtp; 550 5.1.1 user unknown"
            ses_id, feedback = f"0100018e{i:016x}-000000", f"0100018f{i:016x}-000000"
        elif roll < 0.70:
            reason, subtype = "complaint", "abuse"
            ses_id, feedback = f"0100018e{i:016x}-000000", f"0100018f{i:016x}-000000"
        elif roll < 0.80:
            reason = "manual"
        else:
            reason, subtype = "soft_bounce", "MailboxFull"
            code = "smtp; 452 4.2.2 mailbox full"
            expires = _iso(now + timedelta(seconds=3600 + rng.randrange(7 * 86400)))
        note = ""
        if rng.random() < 0.10:
            note = rng.choice(
                ("asked to be removed by phone", "legal hold, ticket #4821",
                 'customer said "never again", 2024', "migrated from the old ESP")
            )  # fmt: skip
            if i % 1000 == 0:
                note += "\nsecond line"
        source = rng.choice(("sns", "sns", "sns", "api", "import"))
        line = {"email": email, "reason": reason, "subtype": subtype, "source": source,
                "note": note, "created_at": _iso(created), "updated_at": _iso(created),
                "expires_at": expires, "diagnostic_code": code, "ses_message_id": ses_id,
                "feedback_id": feedback}  # fmt: skip
        yield [line[name] for name in COLUMNS]


def write_csv(path: Path, count: int, now: datetime) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(csv_lines(count, now))


# --------------------------------------------------------------------------- databases


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_url(name: str = PG_DB) -> str:
    base = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]
    return f"{base}/{name}"


async def fresh_database(db: str, tmp: Path, name: str) -> str:
    """A new, migrated, empty database (PostgreSQL: ``PG_DB`` + name); its plain URL."""
    from app.db import Database
    from app.migrate import upgrade_to_head
    from app.settings import normalize_database_url

    if db == "postgresql":
        await drop_database(name)
        await _admin(f'CREATE DATABASE "{PG_DB}{name}"')
        url = pg_url(PG_DB + name)
    else:
        path = tmp / f"{name or 'list'}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    database = Database(normalize_database_url(url))
    try:
        await upgrade_to_head(database.engine)
    finally:
        await database.dispose()
    return url


async def drop_database(name: str = "") -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{PG_DB}{name}" WITH (FORCE)')


def lookup_address(i: int) -> str:
    return f"s{i}@d{i % 1000}.example.org"


def _seed_rows(start: int, stop: int, now: datetime) -> Iterator[NewEntry]:
    later = now + timedelta(days=3)
    for i in range(start, stop):
        email = lookup_address(i)
        created = now - timedelta(seconds=(i * 7919) % (365 * 86400))
        kind = i % 20
        if kind < 14:
            reason, subtype, code, expires = (
                "bounce",
                "General",
                "smtp; 550 5.1.1 user unknown",
                None,
            )
        elif kind < 17:
            reason, subtype, code, expires = "complaint", "abuse", None, None
        else:
            reason, subtype, code, expires = "soft_bounce", "MailboxFull", "smtp; 452 4.2.2", later
        yield NewEntry(email=email, display=email, domain=email.split("@")[1], reason=reason,
                       subtype=subtype, diagnostic_code=code, source="sns",
                       ses_message_id=f"0100018e-{i:012d}-000000", feedback_id=f"fb-{i:012d}",
                       note=None, created_at=created, updated_at=created, expires_at=expires)  # fmt: skip


async def seed_pg(url: str, count: int, now: datetime) -> None:
    """``count`` suppressions and one "added" change each, by COPY, then ANALYZE.

    The secondary indexes are dropped for the load and built again after it, as
    pg_restore does: ten million random-order inserts into five B-trees take far longer.
    """
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE suppression, suppression_change")
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('suppression', 'suppression_change') AND indexname NOT LIKE 'pk_%'"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        step = 100_000
        for start in range(0, count, step):
            rows = list(_seed_rows(start, min(count, start + step), now))
            await conn.copy_records_to_table(
                "suppression", records=rows, columns=SUPPRESSION_COLUMNS
            )
            changes = [added_line(r, "sns") for r in rows]
            await conn.copy_records_to_table(
                "suppression_change", records=changes, columns=CHANGE_COLUMNS
            )
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute("ANALYZE suppression")
        await conn.execute("ANALYZE suppression_change")
    finally:
        await conn.close()


def seed_sqlite(path: Path, count: int, now: datetime) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("DELETE FROM suppression")
        conn.execute("DELETE FROM suppression_change")
        add = f"INSERT INTO suppression ({', '.join(SUPPRESSION_COLUMNS)}) VALUES ({', '.join('?' * len(SUPPRESSION_COLUMNS))})"
        log_ = f"INSERT INTO suppression_change ({', '.join(CHANGE_COLUMNS)}) VALUES ({', '.join('?' * len(CHANGE_COLUMNS))})"
        step = 100_000
        for start in range(0, count, step):
            rows = list(_seed_rows(start, min(count, start + step), now))
            conn.executemany(add, [sqlite_row(r) for r in rows])
            conn.executemany(log_, [sqlite_row(added_line(r, "sns"), change=True) for r in rows])
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


# --------------------------------------------------------------------------- children


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _rss_now_kib() -> int:
    return _status_kib("VmRSS")


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            yield chunk


async def child_import(url: str, path: Path, fmt: str) -> dict[str, Any]:
    from app.db import Database
    from app.settings import normalize_database_url
    from app.suppression import transfer

    database = Database(normalize_database_url(url))
    try:
        base = _rss_now_kib()
        cpu, started = time.process_time(), time.perf_counter()
        chunks = _file_chunks(path)
        result = await transfer.import_(
            database, chunks, cast("transfer.Format", fmt), actor="bench", now=datetime.now(UTC)
        )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await database.dispose()
    return {
        "seconds": seconds, "cpu_s": cpu, "base_rss_kib": base, "inserted": result.inserted,
        "updated": result.updated, "unchanged": result.unchanged,
        "rejected_total": result.rejected_total, "rejected": result.rejected[:5],
    }  # fmt: skip


async def child_export(url: str, out: Path, fmt: str) -> dict[str, Any]:
    from app.db import Database
    from app.settings import normalize_database_url
    from app.suppression import transfer

    database = Database(normalize_database_url(url))
    rows = 0

    def progress(n: int) -> None:
        nonlocal rows
        rows += n

    try:
        base = _rss_now_kib()
        cpu, started = time.process_time(), time.perf_counter()
        with out.open("w", encoding="utf-8", newline="") as fh:
            chunks = await transfer.export(
                database, cast("transfer.Format", fmt), now=datetime.now(UTC), progress=progress
            )
            async for chunk in chunks:
                fh.write(chunk)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await database.dispose()
    return {"seconds": seconds, "cpu_s": cpu, "base_rss_kib": base, "rows": rows,
            "bytes": out.stat().st_size}  # fmt: skip


async def child_lookup(url: str, count: int, iters: int, seed: int) -> dict[str, Any]:
    from app.db import Database
    from app.settings import normalize_database_url
    from app.suppression import entries

    database = Database(normalize_database_url(url))
    rng = random.Random(seed)
    # 90 % on the list, 10 % not (a 404): both are what ops look up.
    emails = [
        lookup_address(rng.randrange(count)) if rng.random() < 0.9
        else f"nobody{rng.randrange(10**9)}@d{rng.randrange(1000)}.example.org"
        for _ in range(iters + 200)
    ]  # fmt: skip
    now = datetime.now(UTC)
    times: list[float] = []
    found = 0
    try:
        base = _rss_now_kib()
        for n, email in enumerate(emails):
            t0 = time.perf_counter()
            async with database.session() as session:
                detail = await entries.lookup(session, email, now=now)
            if n >= 200:  # the first 200 warm the pool, statement caches and pages
                times.append((time.perf_counter() - t0) * 1000)
                found += detail is not None
    finally:
        await database.dispose()
    return {
        "base_rss_kib": base, "iterations": len(times), "found": found,
        "p50_ms": round(percentile(times, 50), 3), "p99_ms": round(percentile(times, 99), 3),
        "max_ms": round(max(times), 3),
    }  # fmt: skip


def run_child(*args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run ``python -m bench.list_bench --child …``; its JSON answer, RSS in MiB."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.list_bench", "--child", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"list bench child {args[0]} failed: {err[-3000:]}")
    result: dict[str, Any] = json.loads(out)
    result["peak_rss_mib"] = round(result.pop("maxrss_kib") / 1024, 1)
    result["base_rss_mib"] = round(result.pop("base_rss_kib") / 1024, 1)
    return result


def child_main(argv: Sequence[str]) -> None:
    kind, *rest = argv
    if kind == "import":
        url, path, fmt = rest
        result = asyncio.run(child_import(url, Path(path), fmt))
    elif kind == "export":
        url, path, fmt = rest
        result = asyncio.run(child_export(url, Path(path), fmt))
    elif kind == "lookup":
        url, count, iters, seed = rest
        result = asyncio.run(child_lookup(url, int(count), int(iters), int(seed)))
    else:
        raise SystemExit(f"unknown child {kind}")
    result["maxrss_kib"] = _status_kib("VmHWM")
    result["ru_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result))


# --------------------------------------------------------------------------- orchestration


def _timed(rows: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = median([r["seconds"] for r in runs])
    return {
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds) if seconds else None,
        "peak_rss_mib": median([r["peak_rss_mib"] for r in runs]),
        "base_rss_mib": median([r["base_rss_mib"] for r in runs]),
        "runs_s": [round(r["seconds"], 1) for r in runs],
        "cpu_s": round(median([r["cpu_s"] for r in runs]), 1),
        "runs_rss_mib": [r["peak_rss_mib"] for r in runs],
    }


def run_transfer(db: str, tmp: Path, data: Path, rows: int, runs: int) -> dict[str, Any]:
    """Import the file into a fresh database, then export it twice; ``runs`` times."""
    imports: list[dict[str, Any]] = []
    exports: dict[str, list[dict[str, Any]]] = {"csv": [], "ndjson": []}
    for r in range(runs):
        url = asyncio.run(fresh_database(db, tmp, ""))
        res = run_child("import", url, str(data), "csv")
        if res["inserted"] != rows or res["rejected_total"]:
            raise RuntimeError(f"import on {db} inserted {res['inserted']} of {rows}: {res}")
        imports.append(res)
        log(f"{db} import run {r + 1}: {res['seconds']:.1f} s ({rows / res['seconds']:,.0f} rows/s, "
            f"{res['cpu_s']:.1f} s CPU in the importing process), "
            f"peak RSS {res['peak_rss_mib']} MiB (base {res['base_rss_mib']})")  # fmt: skip
        for fmt in ("csv", "ndjson"):
            out = tmp / f"export.{fmt}"
            res = run_child("export", url, str(out), fmt)
            if res["rows"] != rows:
                raise RuntimeError(f"export on {db} wrote {res['rows']} of {rows} rows")
            exports[fmt].append(res)
            log(f"{db} export {fmt} run {r + 1}: {res['seconds']:.1f} s ({rows / res['seconds']:,.0f} rows/s, "
                f"{res['cpu_s']:.1f} s CPU), "
                f"peak RSS {res['peak_rss_mib']} MiB, {res['bytes'] / 2**20:.0f} MiB written")  # fmt: skip
            out.unlink()
        if db == "postgresql":
            asyncio.run(drop_database())
    return {
        "rows": rows,
        "file_mib": round(data.stat().st_size / 2**20, 1),
        "import": _timed(rows, imports),
        "export_csv": _timed(rows, exports["csv"]),
        "export_ndjson": _timed(rows, exports["ndjson"]),
    }


def run_lookups(db: str, tmp: Path, sizes: Sequence[int], iters: int, runs: int) -> dict[str, Any]:
    """One database per size, all seeded first; then the runs go size after size, in turn,
    so that a busy neighbour at one moment does not land on one size only."""
    urls: dict[int, str] = {}
    seeded: dict[int, float] = {}
    results: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    try:
        for size in sizes:
            urls[size] = url = asyncio.run(fresh_database(db, tmp, f"_lookup{size}"))
            started = time.perf_counter()
            if db == "postgresql":
                asyncio.run(seed_pg(url, size, datetime.now(UTC)))
            else:
                seed_sqlite(Path(url.removeprefix("sqlite:///")), size, datetime.now(UTC))
            seeded[size] = time.perf_counter() - started
            log(f"{db}: seeded {size:,} rows for lookups in {seeded[size]:.0f} s")
        for r in range(runs):
            for size in sizes:
                res = run_child("lookup", urls[size], str(size), str(iters), str(17 + r))
                results[size].append(res)
                log(f"{db} lookup at {size:,} rows, run {r + 1}: p50 {res['p50_ms']} ms, "
                    f"p99 {res['p99_ms']} ms")  # fmt: skip
    finally:
        if db == "postgresql":
            for size in urls:
                asyncio.run(drop_database(f"_lookup{size}"))
    return {
        str(size): {
            "seed_s": round(seeded[size], 1),
            "p50_ms": median([r["p50_ms"] for r in runs_]),
            "p99_ms": median([r["p99_ms"] for r in runs_]),
            "runs_p50_ms": [r["p50_ms"] for r in runs_],
            "runs_p99_ms": [r["p99_ms"] for r in runs_],
            "iterations": runs_[0]["iterations"],
            "found": runs_[0]["found"],
            "peak_rss_mib": median([r["peak_rss_mib"] for r in runs_]),
        }
        for size, runs_ in results.items()
    }


def run_list(
    dbs: Sequence[str],
    *,
    rows: int,
    runs: int,
    lookup_rows: dict[str, Sequence[int]],
    lookup_iters: int,
    lookup_runs: int,
    tmp: Path,
) -> dict[str, Any]:
    """The whole list bench on each database; ``lookup_rows`` per database (may be empty)."""
    data = tmp / "list.csv"
    started = time.perf_counter()
    write_csv(data, rows, datetime.now(UTC))
    log(
        f"wrote {rows:,} rows, {data.stat().st_size / 2**20:.0f} MiB, in {time.perf_counter() - started:.0f} s"
    )
    out: dict[str, Any] = {}
    for db in dbs:
        out[db] = {"uptime_loadavg": os.getloadavg()}
        if rows:
            out[db]["transfer"] = run_transfer(db, tmp, data, rows, runs)
        if lookup_rows.get(db):
            out[db]["lookup"] = run_lookups(db, tmp, lookup_rows[db], lookup_iters, lookup_runs)
    data.unlink()
    return out


# Issue #15: seconds per 1,000,000 rows.
IMPORT_TARGET_S = {"postgresql": 10.0, "sqlite": 30.0}
EXPORT_TARGET_S = {"postgresql": 3.0, "sqlite": 3.0}


def _target(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(results: dict[str, Any]) -> str:
    """The figures as text, one column per database; targets from issues #8 and #15."""
    dbs = list(results)
    lines: list[tuple[str, list[str]]] = []

    def cell(db: str, *path: str) -> Any:
        value: Any = results[db]
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def add(label: str, fn: Any) -> None:
        lines.append((label, [fn(db) for db in dbs]))

    rows = next((cell(db, "transfer", "rows") for db in dbs if cell(db, "transfer")), None)
    if rows:
        for key, label, limits in (("import", "import CSV", IMPORT_TARGET_S),
                                   ("export_csv", "export CSV", EXPORT_TARGET_S),
                                   ("export_ndjson", "export NDJSON", EXPORT_TARGET_S)):  # fmt: skip

            def timing(db: str, key: str = key, limits: dict[str, float] = limits) -> str:
                t = cell(db, "transfer", key)
                if not t:
                    return "-"
                limit = limits.get(db, 0.0)
                return f"{t['seconds']:.1f} s ({t['rows_per_s']:,}/s) {_target(t['seconds'] < limit * rows / 1_000_000)}"

            def rss(db: str, key: str = key) -> str:
                t = cell(db, "transfer", key)
                if not t:
                    return "-"
                return f"{t['peak_rss_mib']:.0f} MiB (base {t['base_rss_mib']:.0f}) {_target(t['peak_rss_mib'] < 200)}"

            shown = " / ".join(f"{db} {limits[db]:g}" for db in dbs if db in limits)
            add(f"{label}, {rows:,} rows: s (rows/s) (target < {shown} s per 1M)", timing)
            add(f"{label}: peak RSS (target < 200 MiB)", rss)
    sizes = sorted({int(s) for db in dbs for s in (cell(db, "lookup") or {})})
    for size in sizes:

        def look(db: str, size: int = size) -> str:
            v = cell(db, "lookup", str(size))
            return f"{v['p50_ms']:.2f} / {v['p99_ms']:.2f} ms" if v else "-"

        add(f"lookup GET /v1/suppressions/{{email}} path, {size:,} rows: p50 / p99", look)

    def verdict(db: str) -> str:
        v = cell(db, "lookup") or {}
        if len(v) < 2:
            return "-"
        small, large = min(v, key=int), max(v, key=int)
        ratio = v[large]["p99_ms"] / v[small]["p99_ms"]
        # "No worse": within 20 %, about the run-to-run noise on this shared box.
        return f"{int(large):,} vs {int(small):,}: x{ratio:.2f} {_target(ratio <= 1.2)}"

    if sizes:
        add("lookup p99, largest table vs smallest (target: no worse)", verdict)
    if not lines:
        return ""
    width = max(len(label) for label, _ in lines)
    cols = [max(len(d), *(len(v[i]) for _, v in lines)) for i, d in enumerate(dbs)]
    text = [f"{'':<{width}} | " + " | ".join(f"{d:>{c}}" for d, c in zip(dbs, cols, strict=True))]
    text.append("-" * len(text[0]))
    text += [
        f"{label:<{width}} | " + " | ".join(f"{v:>{c}}" for v, c in zip(vals, cols, strict=True))
        for label, vals in lines
    ]
    return "\n".join(text)


def _sizes(text: str) -> list[int]:
    return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child_main(argv[1:])
        return
    from bench.common import pg_available

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql,sqlite", help="comma list: postgresql,sqlite")
    parser.add_argument(
        "--rows", type=int, default=DEFAULTS["rows"], help="rows imported and exported (0: skip)"
    )
    parser.add_argument(
        "--runs", type=int, default=DEFAULTS["runs"], help="import/export runs (median)"
    )
    parser.add_argument(
        "--lookup-rows",
        default="10000,10000000",
        help="PostgreSQL table sizes for lookups ('' to skip)",
    )
    parser.add_argument(
        "--sqlite-lookup-rows", default="10000,1000000", help="SQLite table sizes for lookups"
    )
    parser.add_argument("--lookup-iters", type=int, default=DEFAULTS["lookup_iters"])
    parser.add_argument("--lookup-runs", type=int, default=DEFAULTS["lookup_runs"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    if "postgresql" in dbs and not asyncio.run(pg_available()):
        log("PostgreSQL not reachable at BENCH_PG_ADMIN: skipping it")
        dbs.remove("postgresql")
    tmp = Path(tempfile.mkdtemp(prefix="bouncer-list-bench-"))
    try:
        info = machine()
        started = time.monotonic()
        results = run_list(
            dbs, rows=args.rows, runs=args.runs,
            lookup_rows={"postgresql": _sizes(args.lookup_rows), "sqlite": _sizes(args.sqlite_lookup_rows)},
            lookup_iters=args.lookup_iters, lookup_runs=args.lookup_runs, tmp=tmp,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        print(f"\nlist at scale on {info['nproc']} CPUs, {info['memory_gib']} GiB, {info['cpu']}; "
              f"load avg at start {tuple(round(x, 2) for x in info['loadavg_at_start'])}, "
              f"at end {tuple(round(x, 2) for x in os.getloadavg())}; {elapsed:.0f} s\n")  # fmt: skip
        print(table(results))
        if args.json:
            args.json.write_text(
                json.dumps(
                    {"machine": info, "elapsed_s": round(elapsed, 1), "list": results},
                    indent=2,
                    default=str,
                )
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
