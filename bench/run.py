# ruff: noqa: E501  (table-building lines in a script)
"""One command for the benchmark: ``python -m bench.run --quick`` (~10 min) or ``--full``.

Ingest: bouncer (`bouncer serve --workers N`) and the floor (bench/floor_app.py, same
uvicorn) run side by side on the same database; the load generator (bench/load.py, its own
process) alternates between them so a noisy neighbour hurts both alike. Then fixed-rate
runs against bouncer. Send path: bench/check_bench.py. List at scale (import, export,
lookup): bench/list_bench.py. The console's pages against their API floors:
bench/console_bench.py. Prints a table and writes bench/results/last.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.batch_bench import run_batch
from bench.check_bench import run_check, run_http_bulk
from bench.common import (
    ROOT,
    Server,
    drop_pg_database,
    machine,
    median,
    pg_available,
    presign,
    reset_pg_database,
    write_requests,
)
from bench.console_bench import run_console
from bench.console_bench import table as console_table
from bench.consumer_bench import measure as measure_consumer
from bench.floor_app import create_table
from bench.list_bench import run_list
from bench.list_bench import table as list_table
from tests.signing import SnsSigner

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "runs": 3, "sat_requests": 1000, "warmup": 200, "rates": [250, 500], "rate_seconds": 4,
        "check_rows": 100_000, "single_iters": 2000, "bulk_iters": 10, "http_bulk_iters": 5,
        "list_rows": 1_000_000, "list_runs": 1, "lookup_iters": 1000, "lookup_runs": 1,
        "batch_events": 20_000,
        "consumer_events": 5_000,
        "lookup_rows": {"postgresql": [10_000, 100_000], "sqlite": [10_000, 100_000]},
        "console_rows": 100_000, "console_iters": 10, "console_walks": 1,
    },
    "full": {
        "runs": 5, "sat_requests": 5000, "warmup": 500, "rates": [250, 500], "rate_seconds": 20,
        "check_rows": 1_000_000, "single_iters": 10000, "bulk_iters": 20, "http_bulk_iters": 10,
        "list_rows": 1_000_000, "list_runs": 2, "lookup_iters": 2000, "lookup_runs": 2,
        "batch_events": 100_000,
        "consumer_events": 20_000,
        "lookup_rows": {"postgresql": [10_000, 10_000_000], "sqlite": [10_000, 1_000_000]},
        "console_rows": 1_000_000, "console_iters": 30, "console_walks": 3,
    },
}  # fmt: skip


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load(url: str, requests: Path, *, mode: str, max_seconds: float, **kw: Any) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.load", "--url", f"{url}/sns", "--requests", str(requests),
            "--mode", mode, "--max-seconds", str(max_seconds)]  # fmt: skip
    for key, value in kw.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=max_seconds + 60)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def ingest(db: str, url: str, files: dict[str, Any], tmp: Path, cert_dir: Path, cert: Path,
           cfg: dict[str, Any], workers: int, concurrency: int) -> dict[str, Any]:  # fmt: skip
    asyncio.run(create_table(url))
    bouncer = Server.bouncer(database_url=url, data_dir=tmp / f"data-{db}", cert_dir=cert_dir,
                             workers=workers, log_path=tmp / f"bouncer-{db}.log")  # fmt: skip
    floor = Server.floor(
        database_url=url, cert_path=cert, workers=workers, log_path=tmp / f"floor-{db}.log"
    )
    # The bare floor (orjson + verify + one asyncpg INSERT) runs on PostgreSQL only.
    bare = (
        Server.bare_floor(database_url=url, cert_path=cert, workers=workers,
                          log_path=tmp / f"bare-{db}.log")
        if db == "postgresql" else None
    )  # fmt: skip
    out: dict[str, Any] = {
        "bouncer_saturation": [], "floor_saturation": [], "bare_saturation": [], "rates": {}
    }  # fmt: skip
    try:
        bouncer.wait_ready()
        floor.wait_ready()
        if bare is not None:
            bare.wait_ready()
            load(bare.url, files["warmup_f"], mode="saturation", concurrency=concurrency,
                 max_seconds=120.0)  # fmt: skip
        sat_limit = 120.0
        load(
            bouncer.url,
            files["warmup_b"],
            mode="saturation",
            concurrency=concurrency,
            max_seconds=sat_limit,
        )
        load(
            floor.url,
            files["warmup_f"],
            mode="saturation",
            concurrency=concurrency,
            max_seconds=sat_limit,
        )
        for r in range(cfg["runs"]):
            # the same envelopes go to both (separate tables), alternating
            b = load(
                bouncer.url,
                files["sat"][r],
                mode="saturation",
                concurrency=concurrency,
                max_seconds=sat_limit,
            )
            f = load(
                floor.url,
                files["sat"][r],
                mode="saturation",
                concurrency=concurrency,
                max_seconds=sat_limit,
            )
            out["bouncer_saturation"].append(b)
            out["floor_saturation"].append(f)
            bare_note = ""
            if bare is not None:
                x = load(bare.url, files["sat"][r], mode="saturation", concurrency=concurrency,
                         max_seconds=sat_limit)  # fmt: skip
                out["bare_saturation"].append(x)
                bare_note = f", bare floor {x['throughput_rps']}/s (ok {x['ok']}/{x['sent']})"
            log(f"{db} run {r + 1}: bouncer {b['throughput_rps']}/s (ok {b['ok']}/{b['sent']}), "
                f"floor {f['throughput_rps']}/s (ok {f['ok']}/{f['sent']}){bare_note}")  # fmt: skip
        for rate in cfg["rates"]:
            runs = []
            for r in range(cfg["runs"]):
                res = load(bouncer.url, files["rate"][rate][r], mode="rate", rate=rate,
                           max_seconds=cfg["rate_seconds"] * 3 + 10)  # fmt: skip
                runs.append(res)
                log(f"{db} {rate}/s run {r + 1}: achieved {res['throughput_rps']}/s, "
                    f"p50 {res['p50_ms']} ms, p99 {res['p99_ms']} ms, ok {res['ok']}/{res['sent']}")  # fmt: skip
                if res["throughput_rps"] < 0.9 * rate:
                    # Past saturation the queue grows for as long as the run lasts: the
                    # latency only measures the run's length. One run shows it; more waste time.
                    log(f"{db} {rate}/s is past saturation: no further runs at this rate")
                    break
            out["rates"][str(rate)] = runs
    finally:
        bouncer.stop()
        floor.stop()
        if bare is not None:
            bare.stop()
    problems = [
        line for line in bouncer.output().splitlines() if "Traceback" in line or " 500 " in line
    ]
    out["server_problems"] = problems[:20]
    return out


def summarise(db: str, ing: dict[str, Any] | None, chk: dict[str, Any] | None) -> dict[str, Any]:
    s: dict[str, Any] = {"db": db}
    if ing:
        b = [x["throughput_rps"] for x in ing["bouncer_saturation"]]
        f = [x["throughput_rps"] for x in ing["floor_saturation"]]
        ratios = [x / y for x, y in zip(b, f, strict=True) if y]
        s |= {
            "bouncer_sat_rps": median(b), "bouncer_sat_runs": b,
            "floor_sat_rps": median(f), "floor_sat_runs": f,
            "ratio": round(median(ratios), 2), "ratio_runs": [round(x, 2) for x in ratios],
            "bouncer_sat_p50_ms": median([x["p50_ms"] for x in ing["bouncer_saturation"]]),
            "bouncer_sat_p99_ms": median([x["p99_ms"] for x in ing["bouncer_saturation"]]),
            "floor_sat_p50_ms": median([x["p50_ms"] for x in ing["floor_saturation"]]),
            "floor_sat_p99_ms": median([x["p99_ms"] for x in ing["floor_saturation"]]),
            "non_200": sum(x["sent"] - x["ok"] for x in ing["bouncer_saturation"] + ing["floor_saturation"]),
        }  # fmt: skip
        bare = [x["throughput_rps"] for x in ing.get("bare_saturation", [])]
        if bare:
            s |= {
                "bare_sat_rps": median(bare), "bare_sat_runs": bare,
                "ratio_bare": round(median([x / y for x, y in zip(b, bare, strict=True) if y]), 2),
                "bare_sat_p99_ms": median([x["p99_ms"] for x in ing["bare_saturation"]]),
            }  # fmt: skip
        p99_ratios = [
            x["p99_ms"] / y["p99_ms"]
            for x, y in zip(ing["bouncer_saturation"], ing["floor_saturation"], strict=True)
            if y["p99_ms"]
        ]
        s["p99_ratio"] = round(median(p99_ratios), 2) if p99_ratios else None
        for rate, runs in ing["rates"].items():
            s[f"rate{rate}"] = {
                "overloaded": any(x["throughput_rps"] < 0.9 * int(rate) for x in runs),
                "runs": len(runs),
                "achieved_rps": median([x["throughput_rps"] for x in runs]),
                "p50_ms": median([x["p50_ms"] for x in runs if x["p50_ms"] is not None]),
                "p99_ms": median([x["p99_ms"] for x in runs if x["p99_ms"] is not None]),
                "p99_runs": [x["p99_ms"] for x in runs],
                "not_ok": sum(x["sent"] - x["ok"] for x in runs),
            }
    if chk:
        s["check"] = chk
    return s


def fmt(value: Any, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        value = f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return f"{value}{unit}"


def verdict(value: float | None, target: float, *, above: bool) -> str:
    """The figure and whether it meets its target (``above``: at least, else at most)."""
    if value is None:
        return "-"
    met = value >= target if above else value <= target
    return f"{fmt(value)} {'met' if met else 'MISSED'}"


def table(summary: list[dict[str, Any]], cfg: dict[str, Any], workers: int) -> str:
    dbs = [s["db"] for s in summary]
    lines: list[tuple[str, list[str]]] = []

    def row(label: str, key: Any) -> None:
        lines.append((label, [key(s) for s in summary]))

    if any("bouncer_sat_rps" in s for s in summary):
        row(
            f"ingest: bouncer saturation (notif/s, --workers {workers})",
            lambda s: fmt(s.get("bouncer_sat_rps")),
        )
        row("ingest: floor saturation (notif/s)", lambda s: fmt(s.get("floor_sat_rps")))
        row(
            "ingest: bouncer / floor (target >= 0.6 PG, >= 0.5 SQLite)",
            lambda s: verdict(s.get("ratio"), 0.6 if s["db"] == "postgresql" else 0.5, above=True),
        )
        row("ingest: bare floor saturation (notif/s)", lambda s: fmt(s.get("bare_sat_rps")))
        row("ingest: bouncer / bare floor (reported)", lambda s: fmt(s.get("ratio_bare")))
        row(
            "ingest: bouncer p50 / p99 at saturation",
            lambda s: (
                f"{fmt(s.get('bouncer_sat_p50_ms'))} / {fmt(s.get('bouncer_sat_p99_ms'), ' ms')}"
            ),
        )
        row(
            "ingest: floor p50 / p99 at saturation",
            lambda s: f"{fmt(s.get('floor_sat_p50_ms'))} / {fmt(s.get('floor_sat_p99_ms'), ' ms')}",
        )
        row(
            "ingest: bouncer p99 / floor p99 at saturation (target <= 2)",
            lambda s: verdict(s.get("p99_ratio"), 2.0, above=False),
        )
        for rate in cfg["rates"]:
            key = f"rate{rate}"
            row(
                f"ingest @ {rate}/s: achieved (notif/s)",
                lambda s, k=key: fmt(s.get(k, {}).get("achieved_rps")),
            )
            row(
                f"ingest @ {rate}/s: p50 / p99",
                lambda s, k=key: (
                    f"{fmt(s.get(k, {}).get('p50_ms'))} / {fmt(s.get(k, {}).get('p99_ms'), ' ms')}"
                    + (" (OVERLOADED)" if s.get(k, {}).get("overloaded") else "")
                ),
            )
            row(
                f"ingest @ {rate}/s: not 200 (503 pool timeout etc.)",
                lambda s, k=key: fmt(s.get(k, {}).get("not_ok")),
            )
    if any("check" in s for s in summary):
        row(
            "check: rows in suppression",
            lambda s: f"{s['check']['rows']:,}" if "check" in s else "-",
        )
        row(
            "check: 1-3 recipients p50 / p99",
            lambda s: (
                f"{fmt(s['check']['single_p50_ms'])} / {fmt(s['check']['single_p99_ms'], ' ms')}"
                if "check" in s
                else "-"
            ),
        )
        row(
            "send: time bouncer adds, p50 / p99 (target p99 < 2 ms)",
            lambda s: (
                f"{fmt(s['check'].get('send_added_p50_ms'))} / {fmt(s['check'].get('send_added_p99_ms'), ' ms')}"
                if "check" in s
                else "-"
            ),
        )
        row(
            "send: moto's send_email itself, p50 / p99",
            lambda s: (
                f"{fmt(s['check'].get('send_ses_p50_ms'))} / {fmt(s['check'].get('send_ses_p99_ms'), ' ms')}"
                if "check" in s
                else "-"
            ),
        )
        row(
            "check: 10,000 addresses, entry_store.check",
            lambda s: (
                f"{fmt(s['check']['bulk_median_ms'])} / {fmt(s['check']['bulk_p99_ms'], ' ms')}"
                if "check" in s
                else "-"
            ),
        )
        row(
            "check: 10,000 addresses, POST /v1/suppressions/check (target < 50 ms on PG)",
            lambda s: (
                f"{fmt(s['check'].get('http_bulk_median_ms'))} / {fmt(s['check'].get('http_bulk_p99_ms'), ' ms')}"
                + (
                    f" {'met' if s['check'].get('http_bulk_median_ms', 1e9) < 50 else 'MISSED'}"
                    if s["db"] == "postgresql"
                    else ""
                )
                if "check" in s
                else "-"
            ),
        )
    if any("consumer" in s for s in summary):
        row(
            "consume: events/s from SQS, one process (beside /sns's saturation above)",
            lambda s: (
                f"{fmt(s['consumer']['events_per_s'])} (moto_server's own floor "
                f"{fmt(s['consumer']['moto_floor'])} msg/s)"
                if "consumer" in s
                else "-"
            ),
        )
        row(
            "consume: the consumer's CPU per event",
            lambda s: (
                fmt(s["consumer"]["consumer_cpu_ms_per_event"], " ms") if "consumer" in s else "-"
            ),
        )
    if any("batch" in s for s in summary):
        row(
            "batch API: events/s, batches of 100 (target >= 5,000 on PG)",
            lambda s: (
                (
                    verdict(s["batch"]["batched_events_per_s"], 5000, above=True)
                    if s["db"] == "postgresql"
                    else fmt(s["batch"]["batched_events_per_s"])
                )
                if "batch" in s
                else "-"
            ),
        )
        row(
            "batch API: one event per transaction (its floor, events/s)",
            lambda s: fmt(s["batch"]["one_by_one_events_per_s"]) if "batch" in s else "-",
        )
    if not lines:  # every part this table shows was skipped
        return ""
    width = max(len(label) for label, _ in lines)
    cols = [max(len(d), *(len(v[i]) for _, v in lines)) for i, d in enumerate(dbs)]
    out = [f"{'':<{width}} | " + " | ".join(f"{d:>{c}}" for d, c in zip(dbs, cols, strict=True))]
    out.append("-" * len(out[0]))
    for label, values in lines:
        out.append(
            f"{label:<{width}} | "
            + " | ".join(f"{v:>{c}}" for v, c in zip(values, cols, strict=True))
        )
    out.append(
        f"(medians of {cfg['runs']} runs, alternating bouncer/floor; an OVERLOADED rate is past "
        "saturation:\n one run only, its latency grows with the run's length; check rows: median / p99)"
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="the default: about 10 minutes")
    group.add_argument("--full", action="store_true", help="more runs, longer, 1,000,000 rows")
    parser.add_argument("--db", default="postgresql,sqlite", help="comma list: postgresql,sqlite")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn workers for bouncer and the floors"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="connections at saturation")
    parser.add_argument("--runs", type=int, help="override the profile's run count")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-check", action="store_true")
    parser.add_argument("--skip-list", action="store_true", help="no list-at-scale runs")
    parser.add_argument("--skip-batch", action="store_true", help="no batch API run")
    parser.add_argument(
        "--skip-consumer", action="store_true", help="no `bouncer consume` run (SQS, moto_server)"
    )
    parser.add_argument(
        "--skip-console", action="store_true", help="no console pages against their API floors"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    args = parser.parse_args(argv)
    profile = "full" if args.full else "quick"
    cfg = dict(PROFILES[profile])
    if args.runs:
        cfg["runs"] = args.runs
    started = time.monotonic()
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    if "postgresql" in dbs and not asyncio.run(pg_available()):
        log("PostgreSQL not reachable at BENCH_PG_ADMIN: skipping it")
        dbs.remove("postgresql")

    tmp = Path(tempfile.mkdtemp(prefix="bouncer-bench-"))
    results: dict[str, Any] = {
        "profile": profile, "config": cfg, "workers": args.workers, "concurrency": args.concurrency,
        "machine": machine(), "started_at": datetime.now(UTC).isoformat(), "ingest": {}, "check": {},
        "list": {}, "batch": {}, "console": {},
    }  # fmt: skip
    try:
        files: dict[str, Any] = {}
        if not args.skip_ingest:
            signer = SnsSigner.create()
            cert_dir = tmp / "certs"
            cert_dir.mkdir()
            cert = signer.write_cert(cert_dir)
            plan: list[tuple[str, int]] = [("warmup_b", cfg["warmup"]), ("warmup_f", cfg["warmup"])]
            plan += [(f"sat{r}", cfg["sat_requests"]) for r in range(cfg["runs"])]
            plan += [
                (f"rate{rate}_{r}", rate * cfg["rate_seconds"])
                for rate in cfg["rates"]
                for r in range(cfg["runs"])
            ]
            total = sum(n for _, n in plan)
            log(f"pre-signing {total} SNS notifications")
            envelopes = presign(signer, total)
            sizes = [len(b) for b, _ in envelopes]
            results["body_bytes"] = {
                "min": min(sizes),
                "mean": round(sum(sizes) / len(sizes)),
                "max": max(sizes),
            }
            pos = 0
            files = {"sat": [], "rate": {rate: [] for rate in cfg["rates"]}}
            for name, n in plan:
                path = tmp / f"{name}.jsonl"
                write_requests(path, envelopes[pos : pos + n])
                pos += n
                if name.startswith("sat"):
                    files["sat"].append(path)
                elif name.startswith("rate"):
                    rate = int(name[4:].split("_")[0])
                    files["rate"][rate].append(path)
                else:
                    files[name] = path

        summary = []
        for db in dbs:
            if db == "postgresql":
                url = asyncio.run(reset_pg_database())
            else:
                url = f"sqlite:///{tmp / 'bench.db'}"
            ing = chk = None
            if not args.skip_ingest:
                log(f"ingest on {db}")
                cert = next((tmp / "certs").iterdir())
                ing = ingest(
                    db, url, files, tmp, tmp / "certs", cert, cfg, args.workers, args.concurrency
                )
                results["ingest"][db] = ing
            if not args.skip_check:
                log(f"suppression check on {db} ({cfg['check_rows']:,} rows)")
                chk = asyncio.run(run_check(url, rows_count=cfg["check_rows"], single_iters=cfg["single_iters"],
                                            bulk_iters=cfg["bulk_iters"]))  # fmt: skip
                server = Server.bouncer(database_url=url, data_dir=tmp / f"data-{db}", cert_dir=tmp,
                                        workers=1, log_path=tmp / f"bouncer-check-{db}.log")  # fmt: skip
                try:
                    server.wait_ready()
                    chk |= run_http_bulk(server, cfg["check_rows"], cfg["http_bulk_iters"])
                finally:
                    server.stop()
                log(f"{db}: single p50 {chk['single_p50_ms']} ms p99 {chk['single_p99_ms']} ms; "
                    f"bulk {chk['bulk_median_ms']} ms; http bulk {chk['http_bulk_median_ms']} ms")  # fmt: skip
                results["check"][db] = chk
            summary.append(summarise(db, ing, chk))
            if not args.skip_batch:
                log(f"batch API on {db} ({cfg['batch_events']:,} events)")
                summary[-1]["batch"] = results["batch"][db] = asyncio.run(
                    run_batch(db, events=cfg["batch_events"], batch=100)
                )
            if db == "postgresql":
                asyncio.run(drop_pg_database())
        if not args.skip_consumer:
            log(f"bouncer consume on {', '.join(dbs)} ({cfg['consumer_events']:,} events)")
            results["consumer"] = measure_consumer(dbs, events=cfg["consumer_events"])
            by_db = {r["db"]: r for r in results["consumer"]["results"]}
            for s in summary:
                if s["db"] in by_db:
                    s["consumer"] = by_db[s["db"]] | {
                        "moto_floor": results["consumer"]["moto_floor_messages_per_s"]
                    }
        if not args.skip_list:
            log(f"list at scale on {', '.join(dbs)} ({cfg['list_rows']:,} rows)")
            results["list"] = run_list(
                dbs, rows=cfg["list_rows"], runs=cfg["list_runs"], lookup_rows=cfg["lookup_rows"],
                lookup_iters=cfg["lookup_iters"], lookup_runs=cfg["lookup_runs"], tmp=tmp,
            )  # fmt: skip
        if not args.skip_console:
            # As many events over 30 days as suppressions: the overview's figures at scale.
            log(f"console pages on {', '.join(dbs)} ({cfg['console_rows']:,} rows and events)")
            results["console"] = run_console(
                dbs, rows=cfg["console_rows"], events=cfg["console_rows"],
                iters=cfg["console_iters"], walks=cfg["console_walks"], tmp=tmp,
            )  # fmt: skip
        results["summary"] = summary
        results["elapsed_s"] = round(time.monotonic() - started, 1)
        text = table(summary, cfg, args.workers) if summary else ""
        m = results["machine"]
        print(f"\nbouncer bench ({profile}) on {m['nproc']} CPUs, {m['memory_gib']} GiB, {m['cpu']}; "
              f"load avg at start {tuple(round(x, 2) for x in m['loadavg_at_start'])}; "
              f"bodies {results.get('body_bytes')}; {results['elapsed_s']} s\n")  # fmt: skip
        print(text)
        if results["list"]:
            print(f"\nlist at scale (medians of {cfg['list_runs']} import/export runs, "
                  f"{cfg['lookup_runs']} lookup runs of {cfg['lookup_iters']:,})\n")  # fmt: skip
            print(list_table(results["list"]))
        if results["console"]:
            print(f"\nthe console against its API floors ({cfg['console_iters']} samples a case)\n")
            print(console_table(results["console"]))
        out_dir = ROOT / "bench" / "results"
        out_dir.mkdir(exist_ok=True)
        (out_dir / "last.json").write_text(json.dumps(results, indent=2, default=str))
        print(f"\nwritten: {out_dir / 'last.json'}")
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
