# ruff: noqa: E501, S105, S608, RUF001  (table lines; a throwaway token; fixed SQL; multiplication signs in labels)
"""The console at scale (issue #18): each page against the API call that reads the same rows.

``python -m bench.console_bench --rows 1000000 --db postgresql,sqlite`` (``--events``,
``--iters``, ``--walks``, ``--json``):

A freshly migrated database gets ``--rows`` suppressions (list_bench's ``seed_pg`` /
``seed_sqlite``: 70 % bounce, 15 % complaint, 15 % soft bounce, over 1,000 domains,
created over a year) and ``--events`` events over the last 30 days (95 % deliveries, 2 %
hard and 1.5 % soft bounces, 0.05 % complaints, the rest opens), each about a listed
address, with their sends (the rates' denominator, 11 recipients a send); PostgreSQL then
gets VACUUM ANALYZE, as autovacuum gives a table that grew by inserts. Then, in process
(httpx's ASGI transport to ``app.main.create_app``, every middleware, no sockets), signed
in through the real sign-in form, each case times a console page and, as its floor, the
API call that reads the same rows, one after the other, sample after sample, so a noisy
neighbour on the shared box hurts both alike (the first pair of each case, untimed,
checks that both show the same rows):

* first page: ``/console/suppressions`` vs ``GET /v1/suppressions?limit=100``;
* filtered by reason, by domain, by an address prefix (``q``), by created since/until;
* a deep page: "Next page" followed 20 times vs ``next_cursor`` 20 times (each
  followed page is one sample);
* the address page ``/console/address?email=…`` vs ``GET /v1/suppressions/{email}``;
* the overview ``/console`` vs ``GET /v1/stats?window=30d`` three times (one sample).

The target (issue #18): each console page within 2x its floor (p50) and under 250 ms p50.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

import httpx

from bench.common import machine, percentile, sqlite_datetime
from bench.list_bench import drop_database, fresh_database, lookup_address, seed_pg, seed_sqlite

TOKEN = "console-bench-token-0123456789"
NAME = "_console"  # the PostgreSQL database: list_bench's name + this
PAGE = 100
DEEP = 20  # "Next page" followed this many times
# Issue #18: each console page within 2x the API call that reads the same rows, and under
# 250 ms at a median, at 1,000,000 rows.
RATIO_TARGET = 2.0
P50_TARGET_MS = 250.0
DEFAULTS = {"rows": 1_000_000, "iters": 30, "walks": 3}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] console: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- seeding

EVENT_COLUMNS = (
    "dedupe_key", "sns_message_id", "type", "subtype", "bounce_type", "ses_message_id",
    "feedback_id", "email", "email_display", "status", "diagnostic_code", "verdict",
    "occurred_at", "received_at",
)  # fmt: skip
SEND_COLUMNS = (
    "ses_message_id", "sender", "sent_to", "suppressed", "recipient_count", "configuration_set",
    "outcome", "ses_code", "created_at",
)  # fmt: skip
EVENT_DATES = (12, 13)
SEND_DATES = (8,)
# A tenth of the sends' recipients report nothing back (no Delivery event subscribed).
RECIPIENTS_PER_SEND = 11
_MONTH = 30 * 86400


def _events(start: int, stop: int, rows: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    """SES events over the last 30 days, each about an address on the list: 95 % deliveries,
    2 % hard and 1.5 % soft bounces, 0.05 % complaints, the rest opens (recorded only)."""
    rng = random.Random(start)
    for i in range(start, stop):
        email = lookup_address(rng.randrange(rows))
        occurred = now - timedelta(seconds=rng.random() * _MONTH)
        roll = rng.random()
        subtype = bounce_type = status = code = feedback = None
        if roll < 0.95:
            kind, verdict, status = "Delivery", "delivery", "250 2.0.0 OK"
        elif roll < 0.97:
            kind, verdict, bounce_type, subtype = "Bounce", "hard_bounce", "Permanent", "General"
            status, code, feedback = "5.1.1", "smtp; 550 5.1.1 user unknown", f"fb-{i:012d}"
        elif roll < 0.985:
            kind, verdict, bounce_type, subtype = (
                "Bounce",
                "soft_bounce",
                "Transient",
                "MailboxFull",
            )
            status, code, feedback = "4.2.2", "smtp; 452 4.2.2 mailbox full", f"fb-{i:012d}"
        elif roll < 0.9855:
            kind, verdict, subtype, feedback = "Complaint", "complaint", "abuse", f"fb-{i:012d}"
        else:
            kind, verdict = "Open", "record_only"
        yield (f"{i:064x}", f"sns-{i:012d}", kind, subtype, bounce_type,
               f"0100018e-{i:012d}-000000", feedback, email, email, status, code, verdict,
               occurred, occurred + timedelta(seconds=2))  # fmt: skip


def _sends(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(count)
    for i in range(count):
        created = now - timedelta(seconds=rng.random() * _MONTH)
        yield (f"0100018e-{i:012d}-000000", "no-reply@mail.example.com",
               json.dumps(["first@example.org"]), "[]", RECIPIENTS_PER_SEND, None, "sent", None,
               created)  # fmt: skip


async def seed_activity_pg(url: str, events: int, rows: int, now: datetime) -> None:
    """``events`` events and their sends by COPY, the secondary indexes built after, as
    seed_pg does (the unique key on dedupe_key stays: it is a constraint)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('event', 'send') "
            "AND indexname NOT LIKE 'pk_%' AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        step = 100_000
        for start in range(0, events, step):
            batch = list(_events(start, min(events, start + step), rows, now))
            await conn.copy_records_to_table("event", records=batch, columns=EVENT_COLUMNS)
        sends = list(_sends(events // RECIPIENTS_PER_SEND, now))
        await conn.copy_records_to_table("send", records=sends, columns=SEND_COLUMNS)
        for index in indexes:
            await conn.execute(index["indexdef"])
        # What autovacuum does to a table that grew by inserts (PostgreSQL 13+): the
        # visibility map set, so counts over an index need not visit the table.
        await conn.execute("VACUUM (ANALYZE) event, send, suppression")
    finally:
        await conn.close()


def _sqlite_values(row: tuple[Any, ...], dates: Sequence[int]) -> tuple[Any, ...]:
    return tuple(sqlite_datetime(v) if i in dates else v for i, v in enumerate(row))


def seed_activity_sqlite(path: Path, events: int, rows: int, now: datetime) -> None:
    conn = sqlite3.connect(path)
    try:
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name IN ('event', 'send') AND sql IS NOT NULL AND name NOT LIKE 'uq_%'"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')

        def insert(table: str, columns: Sequence[str]) -> str:
            return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"

        step = 100_000
        for start in range(0, events, step):
            batch = _events(start, min(events, start + step), rows, now)
            conn.executemany(
                insert("event", EVENT_COLUMNS), (_sqlite_values(r, EVENT_DATES) for r in batch)
            )
        sends = _sends(events // RECIPIENTS_PER_SEND, now)
        conn.executemany(
            insert("send", SEND_COLUMNS), (_sqlite_values(r, SEND_DATES) for r in sends)
        )
        for _, sql in indexes:
            conn.execute(sql)
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


async def seeded_database(db: str, tmp: Path, rows: int, events: int) -> str:
    url = await fresh_database(db, tmp, NAME)
    now = datetime.now(UTC)
    started = time.perf_counter()
    if db == "postgresql":
        await seed_pg(url, rows, now)
    else:
        seed_sqlite(Path(url.removeprefix("sqlite:///")), rows, now)
    listed = time.perf_counter()
    if db == "postgresql":
        await seed_activity_pg(url, events, rows, now)
    else:
        seed_activity_sqlite(Path(url.removeprefix("sqlite:///")), events, rows, now)
    log(f"{db}: seeded {rows:,} suppressions in {listed - started:.0f} s, {events:,} events "
        f"and {events // RECIPIENTS_PER_SEND:,} sends in {time.perf_counter() - listed:.0f} s")  # fmt: skip
    return url


# --------------------------------------------------------------------------- pages

_NEXT = re.compile(r'<a href="([^"]+)" rel="next">Next page</a>')
_ADDRESS = re.compile(r'<a href="/console/address\?email=([^"]+)">')
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def next_href(page: str) -> str | None:
    found = _NEXT.search(page)
    return html.unescape(found.group(1)) if found else None


def listed(page: str) -> list[str]:
    """The addresses a list page shows, in its order."""
    return [unquote(html.unescape(m)) for m in _ADDRESS.findall(page)]


async def sign_in(client: httpx.AsyncClient) -> None:
    """Through GET and POST /console/sign-in, as a browser does."""
    form = await client.get("/console/sign-in")
    csrf = _CSRF.search(form.text)
    assert form.status_code == 200, form.text
    assert csrf is not None, form.text
    answer = await client.post(
        "/console/sign-in", data={"csrf": csrf.group(1), "token": TOKEN, "next": "/console"}
    )
    assert answer.status_code == 303, answer.text


@dataclass
class Case:
    name: str
    console: str  # what the console page is, as the table says it
    api: str  # its floor
    # One iteration: (console samples, API samples) in ms; ``check`` compares the two.
    run: Callable[[int, bool], Awaitable[tuple[list[float], list[float]]]]


class Bench:
    def __init__(self, client: httpx.AsyncClient, rows: int, now: datetime) -> None:
        self.client = client
        self.rows = rows
        self.today = now.date()
        self.auth = {"Authorization": f"Bearer {TOKEN}"}

    async def timed(
        self, url: str, *, api: bool = False, status: int = 200
    ) -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        answer = await self.client.get(url, headers=self.auth if api else None)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != status:
            raise RuntimeError(f"GET {url}: {answer.status_code} {answer.text[:500]}")
        return elapsed, answer

    def listing(
        self, console_query: dict[str, str], api_query: dict[str, str]
    ) -> Callable[[int, bool], Awaitable[tuple[list[float], list[float]]]]:
        console_url = "/console/suppressions" + (
            f"?{urlencode(console_query)}" if console_query else ""
        )
        api_url = "/v1/suppressions?" + urlencode({**api_query, "limit": str(PAGE)})

        async def run(_: int, check: bool) -> tuple[list[float], list[float]]:
            c, page = await self.timed(console_url)
            a, answer = await self.timed(api_url, api=True)
            if check:
                same(
                    listed(page.text),
                    [item["email"] for item in answer.json()["items"]],
                    console_url,
                )
            return [c], [a]

        return run

    async def deep(self, _: int, check: bool) -> tuple[list[float], list[float]]:
        console_times: list[float] = []
        api_times: list[float] = []
        page = (await self.client.get("/console/suppressions")).text
        answer = (await self.client.get(f"/v1/suppressions?limit={PAGE}", headers=self.auth)).json()
        for _ in range(DEEP):
            href = next_href(page)
            assert href is not None, "no Next page link"
            elapsed, response = await self.timed(href)
            console_times.append(elapsed)
            page = response.text
            elapsed, response = await self.timed(
                f"/v1/suppressions?limit={PAGE}&cursor={answer['next_cursor']}", api=True
            )
            api_times.append(elapsed)
            answer = response.json()
        if check:
            same(listed(page), [item["email"] for item in answer["items"]], "page 21")
        return console_times, api_times

    async def address(self, i: int, check: bool) -> tuple[list[float], list[float]]:
        email = lookup_address(random.Random(i).randrange(self.rows))
        c, page = await self.timed(f"/console/address?{urlencode({'email': email})}")
        a, answer = await self.timed(f"/v1/suppressions/{quote(email)}", api=True)
        if check:
            assert f"<h1>{email}</h1>" in page.text, email
            assert answer.json()["email"] == email, email
        return [c], [a]

    async def overview(self, _: int, check: bool) -> tuple[list[float], list[float]]:
        c, page = await self.timed("/console")
        a = 0.0
        for _ in range(3):
            elapsed, answer = await self.timed("/v1/stats?window=30d", api=True)
            a += elapsed
        if check:
            assert "Bounce and complaint rates" in page.text
            assert answer.json()["events"] > 0
        return [c], [a]

    def cases(self) -> list[Case]:
        since = (self.today - timedelta(days=120)).isoformat()
        until = self.today - timedelta(days=90)
        # The console's "Created until" is a whole day, through its end; the API's is
        # exclusive: the next day's start.
        api_until = (until + timedelta(days=1)).isoformat()
        prefix = f"s{self.rows * 4242 // 100_000}"  # s42420 at 1M rows: 11 addresses
        return [
            Case("first page", "/console/suppressions", f"GET /v1/suppressions?limit={PAGE}",
                 self.listing({}, {})),
            Case("by reason", "…?reason=complaint", "…&reason=complaint",
                 self.listing({"reason": "complaint"}, {"reason": "complaint"})),
            Case("by domain", "…?domain=d7.example.org", "…&domain=d7.example.org",
                 self.listing({"domain": "d7.example.org"}, {"domain": "d7.example.org"})),
            Case("by prefix", f"…?q={prefix}", f"…&q={prefix}",
                 self.listing({"q": prefix}, {"q": prefix})),
            Case("since/until", f"…?since={since}&until={until}", f"…&since={since}&until={api_until}",
                 self.listing({"since": since, "until": until.isoformat()}, {"since": since, "until": api_until})),
            Case(f"deep page ({DEEP} × Next)", "a page reached by Next page", "the page at next_cursor",
                 self.deep),
            Case("address page", "/console/address?email=…", "GET /v1/suppressions/{email}",
                 self.address),
            Case("overview", "/console", "GET /v1/stats?window=30d × 3", self.overview),
        ]  # fmt: skip


def same(console: list[str], api: list[str], what: str) -> None:
    """The console page shows the rows its floor reads, or the comparison means nothing."""
    if console != api:
        raise RuntimeError(f"{what}: the console listed {len(console)} rows, the API {len(api)}")


def _figures(console: list[float], api: list[float]) -> dict[str, Any]:
    c50, a50 = percentile(console, 50), percentile(api, 50)
    return {
        "samples": len(console),
        "console_p50_ms": round(c50, 2), "console_p99_ms": round(percentile(console, 99), 2),
        "api_p50_ms": round(a50, 2), "api_p99_ms": round(percentile(api, 99), 2),
        "ratio_p50": round(c50 / a50, 2) if a50 else None,
        "met": bool(a50) and c50 / a50 <= RATIO_TARGET and c50 < P50_TARGET_MS,
    }  # fmt: skip


async def measure(db: str, url: str, tmp: Path, *, rows: int, iters: int, walks: int,
                  only: Sequence[str] = ()) -> dict[str, Any]:  # fmt: skip
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(
        DATABASE_URL=url, DATA_DIR=tmp / f"data-{db}", API_TOKENS=f"ops={TOKEN}",
        LOG_LEVEL="WARNING", LOG_FORMAT="text", SES_SYNC="off",
    )  # fmt: skip
    app = create_app(settings)
    out: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://bench") as client:
            await sign_in(client)
            bench = Bench(client, rows, datetime.now(UTC))
            for case in bench.cases():
                if only and not any(o in case.name for o in only):
                    continue
                n = walks if case.run == bench.deep else iters
                console: list[float] = []
                api: list[float] = []
                await case.run(-1, True)  # warm the pool, the caches and the pages; checked
                for i in range(n):
                    c, a = await case.run(i, False)
                    console += c
                    api += a
                out[case.name] = {"console": case.console, "api": case.api} | _figures(console, api)
                f = out[case.name]
                log(f"{db} {case.name}: console p50 {f['console_p50_ms']} ms, API {f['api_p50_ms']} ms, "
                    f"x{f['ratio_p50']}")  # fmt: skip
    return out


def run_console(dbs: Sequence[str], *, rows: int, events: int, iters: int, walks: int, tmp: Path,
                only: Sequence[str] = (), keep: bool = False) -> dict[str, Any]:  # fmt: skip
    """Seed, measure and drop (unless ``keep``), one database after the other."""
    out: dict[str, Any] = {"rows": rows, "events": events}
    for db in dbs:
        url = asyncio.run(seeded_database(db, tmp, rows, events))
        try:
            loadavg = os.getloadavg()
            out[db] = asyncio.run(
                measure(db, url, tmp, rows=rows, iters=iters, walks=walks, only=only)
            )
            out[db]["_loadavg"] = loadavg
        finally:
            if keep:
                log(f"kept {url}")
            elif db == "postgresql":
                asyncio.run(drop_database(NAME))
    return out


def table(results: dict[str, Any]) -> str:
    """One line per case and database: console and API p50 / p99, the ratio, the verdict."""
    head = ("case", "db", "console p50 / p99 ms", "API p50 / p99 ms", "console/API", "target")
    lines = [head]
    for db in ("postgresql", "sqlite"):
        for name, f in (results.get(db) or {}).items():
            if name.startswith("_"):
                continue
            lines.append((name, db, f"{f['console_p50_ms']:.1f} / {f['console_p99_ms']:.1f}",
                          f"{f['api_p50_ms']:.1f} / {f['api_p99_ms']:.1f}", f"x{f['ratio_p50']:.2f}",
                          "met" if f["met"] else "MISSED"))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [" | ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths, strict=True)))
            for line in lines]  # fmt: skip
    text.insert(1, "-" * len(text[0]))
    text.append(f"(target: console p50 within {RATIO_TARGET:g}x its API floor and under "
                f"{P50_TARGET_MS:g} ms, at {results['rows']:,} rows and {results['events']:,} events)")  # fmt: skip
    return "\n".join(text)


def main(argv: list[str] | None = None) -> None:
    from bench.common import pg_available

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql,sqlite", help="comma list: postgresql,sqlite")
    parser.add_argument("--rows", type=int, default=DEFAULTS["rows"], help="suppressions seeded")
    parser.add_argument("--events", type=int, help="events over 30 days (default: --rows)")
    parser.add_argument("--iters", type=int, default=DEFAULTS["iters"], help="samples per case")
    parser.add_argument(
        "--walks", type=int, default=DEFAULTS["walks"], help=f"walks of {DEEP} Next pages"
    )
    parser.add_argument(
        "--only", default="", help="comma list: run only cases whose name holds one"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the databases (for EXPLAIN)")
    args = parser.parse_args(argv)
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    if "postgresql" in dbs and not asyncio.run(pg_available()):
        log("PostgreSQL not reachable at BENCH_PG_ADMIN: skipping it")
        dbs.remove("postgresql")
    events = args.rows if args.events is None else args.events
    tmp = Path(tempfile.mkdtemp(prefix="bouncer-console-bench-"))
    try:
        info = machine()
        started = time.monotonic()
        only = [o.strip() for o in args.only.split(",") if o.strip()]
        results = run_console(dbs, rows=args.rows, events=events, iters=args.iters,
                              walks=args.walks, tmp=tmp, only=only, keep=args.keep)  # fmt: skip
        elapsed = time.monotonic() - started
        print(f"\nconsole at scale on {info['nproc']} CPUs, {info['memory_gib']} GiB, {info['cpu']}; "
              f"load avg at start {tuple(round(x, 2) for x in info['loadavg_at_start'])}, "
              f"at end {tuple(round(x, 2) for x in os.getloadavg())}; {elapsed:.0f} s\n")  # fmt: skip
        print(table(results))
        if args.json:
            args.json.write_text(
                json.dumps({"machine": info, "console": results}, indent=2, default=str)
            )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
