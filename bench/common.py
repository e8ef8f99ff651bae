"""Shared pieces of the benchmark: payloads, pre-signing, databases and server processes."""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.db import UtcDateTime, table_of  # noqa: E402
from app.models import Suppression, SuppressionChange  # noqa: E402
from app.suppression.bulk_store import ENTRY_COLUMNS, LOG_COLUMNS, NewEntry  # noqa: E402
from tests.live import LiveServer  # noqa: E402
from tests.signing import TOPIC_ARN, SnsSigner, post_args  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = os.environ.get("BENCH_PG_DB", "bouncer_bench")

# The suppression table's columns, in the order the seeders give their values (each row
# a bulk_store.NewEntry), and a change-log line's; both read off the tables.
SUPPRESSION_COLUMNS = ENTRY_COLUMNS
CHANGE_COLUMNS = LOG_COLUMNS


def _dates(table: Any, names: Sequence[str]) -> list[int]:
    return [i for i, name in enumerate(names) if isinstance(table.c[name].type, UtcDateTime)]


_ENTRY_DATES = _dates(table_of(Suppression), SUPPRESSION_COLUMNS)
_CHANGE_DATES = _dates(table_of(SuppressionChange), CHANGE_COLUMNS)


def sqlite_datetime(value: datetime | None) -> str | None:
    """A datetime as SQLAlchemy stores it on SQLite: naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def sqlite_row(row: tuple[Any, ...], *, change: bool = False) -> tuple[Any, ...]:
    """A suppression row (SUPPRESSION_COLUMNS order), or with ``change`` a change-log line
    (CHANGE_COLUMNS order), with its dates as SQLite text."""
    values = list(row)
    for i in _CHANGE_DATES if change else _ENTRY_DATES:
        values[i] = sqlite_datetime(values[i])
    return tuple(values)


def added_line(row: NewEntry, actor: str) -> tuple[Any, ...]:
    """The "added" change-log line (CHANGE_COLUMNS order) of a new entry."""
    return (row.email, "added", actor, row.reason, row.expires_at, None, row.created_at)


# --------------------------------------------------------------------------- payloads


def _ses_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ses_message(rng: random.Random, seq: int) -> str:
    """One SES identity notification: ~55% hard bounce, ~25% soft bounce, ~20% complaint.

    Shaped like AWS's documented examples (mail + bounce/complaint objects), 1-3 recipients
    drawn from a pool of 50,000 addresses so soft bounces repeat and accumulate.
    """
    now = datetime.now(UTC)
    when = _ses_time(now)
    n = rng.choice((1, 1, 1, 2, 3))
    recipients = [
        f"user{rng.randrange(50_000)}@domain{rng.randrange(400)}.example.com" for _ in range(n)
    ]
    recipients = list(dict.fromkeys(recipients))
    ses_id = f"0100018{uuid.uuid4().hex[:9]}-{uuid.uuid4()}-000000"
    mail = {
        "timestamp": when,
        "source": "no-reply@mail.example.com",
        "messageId": ses_id,
        "destination": recipients,
    }
    roll = rng.random()
    feedback = f"0100018{uuid.uuid4().hex[:9]}-{uuid.uuid4()}-000000"
    body: dict[str, Any]
    if roll < 0.80:
        hard = roll < 0.55
        body = {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent" if hard else "Transient",
                "bounceSubType": "General" if hard else rng.choice(("General", "MailboxFull")),
                "bouncedRecipients": [
                    {
                        "emailAddress": r,
                        "status": "5.1.1" if hard else "4.2.2",
                        "diagnosticCode": (
                            "smtp; 550 5.1.1 user unknown"
                            if hard
                            else "smtp; 452 4.2.2 mailbox full"
                        ),
                    }
                    for r in recipients
                ],
                "timestamp": when,
                "feedbackId": feedback,
                "reportingMTA": "dsn; a8-12.smtp-out.amazonses.com",
            },
            "mail": mail,
        }
    else:
        body = {
            "notificationType": "Complaint",
            "complaint": {
                "userAgent": "ExampleCorp Feedback Loop (V0.01)",
                "complainedRecipients": [{"emailAddress": r} for r in recipients],
                "complaintFeedbackType": "abuse",
                "arrivalDate": when,
                "timestamp": when,
                "feedbackId": feedback,
            },
            "mail": mail,
        }
    return json.dumps(body)


_SIGNER: SnsSigner | None = None


def _init_worker(signer: SnsSigner) -> None:
    global _SIGNER
    _SIGNER = signer


def _sign_batch(args: tuple[int, int, int]) -> list[tuple[str, dict[str, str]]]:
    seed, start, count = args
    assert _SIGNER is not None
    rng = random.Random(seed * 1_000_003 + start)
    out = []
    for i in range(start, start + count):
        envelope = _SIGNER.make_notification(ses_message(rng, i), topic_arn=TOPIC_ARN)
        body, headers = post_args(envelope)
        out.append((body.decode(), headers))
    return out


def presign(
    signer: SnsSigner, count: int, *, seed: int = 1, procs: int = 2
) -> list[tuple[str, dict[str, str]]]:
    """``count`` signed SNS notifications (body text, headers), unique MessageIds."""
    step = 500
    jobs = [(seed, s, min(step, count - s)) for s in range(0, count, step)]
    result: list[tuple[str, dict[str, str]]] = []
    with ProcessPoolExecutor(procs, initializer=_init_worker, initargs=(signer,)) as pool:
        for batch in pool.map(_sign_batch, jobs):
            result.extend(batch)
    return result


def write_requests(path: Path, requests: Sequence[tuple[str, Mapping[str, str]]]) -> None:
    with path.open("w") as fh:
        for body, headers in requests:
            fh.write(json.dumps({"body": body, "headers": dict(headers)}) + "\n")


# --------------------------------------------------------------------------- databases


async def reset_pg_database() -> str:
    """Drop and create the bench database; returns its plain URL."""
    import asyncpg

    admin = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{PG_DB}"')
    finally:
        await conn.close()
    base = admin.rsplit("/", 1)[0]
    return f"{base}/{PG_DB}"


async def drop_pg_database() -> None:
    import asyncpg

    admin = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    finally:
        await conn.close()


async def pg_available() -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    except Exception:
        return False
    await conn.close()
    return True


# --------------------------------------------------------------------------- servers


class Server(LiveServer):
    """A server child process on loopback (bouncer or the floor), output to a log file."""

    @classmethod
    def bouncer(
        cls, *, database_url: str, data_dir: Path, cert_dir: Path, workers: int, log_path: Path
    ) -> Server:
        env = {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "SNS_TOPIC_ARNS": TOPIC_ARN,
            "SNS_CERT_DIR": str(cert_dir),
            "API_TOKENS": "ops=secret-bench-token",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
        }
        return cls(env, log_path, ["--workers", str(workers)])

    @classmethod
    def floor(cls, *, database_url: str, cert_path: Path, workers: int, log_path: Path) -> Server:
        env = {"FLOOR_DATABASE_URL": database_url}
        return cls._uvicorn("bench.floor_app:app", env, cert_path, workers, log_path)

    @classmethod
    def bare_floor(
        cls, *, database_url: str, cert_path: Path, workers: int, log_path: Path
    ) -> Server:
        env = {"BARE_DATABASE_URL": database_url.replace("postgresql+asyncpg://", "postgresql://")}
        return cls._uvicorn("bench.bare_floor_app:app", env, cert_path, workers, log_path)

    @classmethod
    def _uvicorn(
        cls, app: str, env: dict[str, str], cert_path: Path, workers: int, log_path: Path
    ) -> Server:
        """A floor app under uvicorn: the certificate and the topic it checks against."""
        env = {**env, "FLOOR_CERT": str(cert_path), "FLOOR_TOPIC": TOPIC_ARN}
        command = [
            sys.executable, "-m", "uvicorn", app,
            "--host", "127.0.0.1", "--port", "{port}", "--workers", str(workers),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        return cls(env, log_path, command=command)

    def wait_ready(self, timeout: float = 90.0, path: str = "/readyz") -> None:
        super().wait_ready(timeout, path)


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    import platform

    mem_kb = 0
    cpu = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
    }


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)
