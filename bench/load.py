"""Load generator: POSTs pre-signed SNS notifications to a server on loopback.

Runs as its own process (the orchestrator starts it), bounded by a request file and a hard
time limit. Two modes:

  saturation  --concurrency C: C keep-alive connections, each sending its next request as
              soon as the last is answered (closed loop); reports completed/elapsed.
  rate        --rate R: open loop; request i is *scheduled* at t0 + i/R and its latency is
              measured from that scheduled time, not from when it actually left, so a
              stalled server is charged for the queue it causes (no coordinated omission).

The client is a minimal HTTP/1.1 keep-alive client on asyncio streams rather than httpx:
on a 2-core box shared with the server, httpx's per-request CPU (~0.5 ms) would be taken
from the server under test. Requests are serialised to bytes before the clock starts.

Prints one JSON object to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit


def build_requests(path: Path, host: str, port: int, target: str) -> list[bytes]:
    out = []
    for line in path.read_text().splitlines():
        item = json.loads(line)
        body = item["body"].encode()
        head = [f"POST {target} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in item["headers"].items() if k.lower() != "content-length"]
        out.append(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return out


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Conn:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed by server")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        closing = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"connection" and value.strip().lower() == b"close":
                closing = True
        body = await self.reader.readexactly(length) if length else b""
        if closing:
            self.close()
            raise _Closed(status, body)
        return status, body

    def close(self) -> None:
        self.writer.close()


class _Closed(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body


class Pool:
    """Idle keep-alive connections, opened on demand up to ``limit``."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Conn] = []
        self.sem = asyncio.Semaphore(limit)
        self.opened = 0

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        async with self.sem:
            reused = bool(self.idle)
            conn = self.idle.pop() if reused else await self._open()
            try:
                result = await conn.send(raw)
            except _Closed as closed:
                return closed.status, closed.body
            except (ConnectionError, asyncio.IncompleteReadError):
                conn.close()
                if not reused:
                    raise
                # The server closed an idle keep-alive connection (uvicorn: 5 s): once more
                # on a fresh one, as any HTTP client would.
                conn = await self._open()
                try:
                    result = await conn.send(raw)
                except _Closed as closed:
                    return closed.status, closed.body
                except BaseException:
                    conn.close()
                    raise
            except BaseException:
                conn.close()
                raise
            self.idle.append(conn)
            return result

    async def _open(self) -> Conn:
        self.opened += 1
        return await Conn.open(self.host, self.port)

    def close(self) -> None:
        for conn in self.idle:
            conn.close()


async def run(args: argparse.Namespace) -> dict[str, object]:
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loopback only")
    requests = build_requests(Path(args.requests), host, port, parts.path or "/sns")
    if args.limit:
        requests = requests[: args.limit]
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    bodies: Counter[str] = Counter()

    def record(started: float, status: int, body: bytes) -> None:
        latencies.append(time.perf_counter() - started)
        statuses[str(status)] += 1
        if status == 200:
            try:
                bodies[json.loads(body).get("status", "?")] += 1
            except ValueError:
                bodies["unparsable"] += 1

    if args.mode == "saturation":
        pool = Pool(host, port, args.concurrency)
        queue = iter(requests)

        async def worker() -> None:
            for raw in queue:
                started = time.perf_counter()
                try:
                    status, body = await pool.request(raw)
                except Exception as err:
                    errors[type(err).__name__] += 1
                    continue
                record(started, status, body)

        t0 = time.perf_counter()
        tasks = [asyncio.create_task(worker()) for _ in range(args.concurrency)]
    else:
        pool = Pool(host, port, args.max_connections)

        async def one(raw: bytes, scheduled: float) -> None:
            try:
                status, body = await pool.request(raw)
            except Exception as err:
                errors[type(err).__name__] += 1
                return
            record(scheduled, status, body)

        t0 = time.perf_counter()
        tasks = []

        async def schedule() -> None:
            for i, raw in enumerate(requests):
                due = t0 + i / args.rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(raw, due)))

        await schedule()

    _done, pending = await asyncio.wait(
        tasks, timeout=max(0.1, args.max_seconds - (time.perf_counter() - t0))
    )
    elapsed = time.perf_counter() - t0
    for task in pending:
        task.cancel()
    pool.close()
    ok = statuses.get("200", 0)
    lat_ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float | None:
        if not lat_ms:
            return None
        k = max(0, min(len(lat_ms) - 1, round(p / 100 * len(lat_ms) + 0.5) - 1))
        return round(lat_ms[k], 2)

    return {
        "mode": args.mode,
        "rate": args.rate if args.mode == "rate" else None,
        "concurrency": args.concurrency if args.mode == "saturation" else None,
        "sent": len(requests),
        "completed": len(latencies),
        "ok": ok,
        "timed_out": len(pending) > 0,
        "unfinished": len(pending),
        "elapsed_s": round(elapsed, 3),
        "throughput_rps": round(ok / elapsed, 1) if elapsed else None,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": round(lat_ms[-1], 2) if lat_ms else None,
        "statuses": dict(statuses),
        "outcomes": dict(bodies),
        "errors": dict(errors),
        "connections_opened": pool.opened,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8000/sns")
    parser.add_argument("--requests", required=True, help="JSON lines {body, headers}")
    parser.add_argument("--mode", choices=("saturation", "rate"), required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=250.0)
    parser.add_argument("--max-connections", type=int, default=256)
    parser.add_argument("--limit", type=int, default=0, help="send at most this many")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="hard stop")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
