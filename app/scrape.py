"""What GET /metrics answers: the counters of every worker, and gauges read from the database.

With several worker processes (``bouncer serve --workers N``), each keeps its counters in
files under ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode), and any
worker's scrape sums them all: one answer per replica, whichever worker is asked.
https://prometheus.github.io/client_python/multiprocess/

The list's gauges (entries by reason, the 24 h rates) are not counted but read: the
scraping process queries the database, at most once per ``ttl``, so they are never
summed across workers and a scrape storm costs the database one query per 15 s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.activity import stats
from app.db import Database
from app.outages import is_database_outage
from app.suppression import entries, policy

log = logging.getLogger("bouncer.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
GAUGE_TTL_SECONDS = 15.0


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV, "").strip()
    return Path(value) if value else None


@contextmanager
def worker_metrics(workers: int) -> Iterator[Path | None]:
    """Around ``uvicorn.run`` in the parent: with several workers, a metrics folder they share.

    A folder the operator names in PROMETHEUS_MULTIPROC_DIR is emptied of earlier runs'
    files at start (their counts would be added in); otherwise a fresh private one is made
    and removed afterwards. Set before the workers start, so each imports
    prometheus_client in multiprocess mode.
    """
    if workers <= 1:
        yield multiprocess_dir()
        return
    given = multiprocess_dir()
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        for stale in given.glob("*.db"):
            stale.unlink()
        yield given
        return
    folder = Path(tempfile.mkdtemp(prefix="bouncer-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


def worker_stopped() -> None:
    """At a worker's shutdown: drop its live gauges' files (its counters keep counting)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class ListState:
    entries_by_reason: dict[str, int]
    bounce_rate: float | None
    complaint_rate: float | None


class ListGauges(Collector):
    """The suppression list's gauges, refreshed from the database at most once per ``ttl``."""

    def __init__(
        self, *, ttl: float = GAUGE_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._state: ListState | None = None
        self._problem: str | None = None
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    async def refresh(self, database: Database) -> None:
        async with self._lock:  # a scrape storm waits for one query, then reads its answer
            if self._read_at is not None and self._clock() - self._read_at < self.ttl:
                return
            try:
                self._state = await _read(database)
                self._problem = None
            except Exception as err:
                # Omitted, not stale: an alert on absent() fires, and no old number
                # passes for a current one. Cached like an answer, so a database in
                # trouble gets no more queries than a healthy one. Never a 500: the
                # counters are still worth serving.
                self._state = None
                if is_database_outage(err):
                    # The driver's error, which the session boundary keeps as ``problem``.
                    cause = getattr(err, "problem", None) or type(err).__name__
                    self._problem = f"database unreachable ({cause})"
                    log.warning("metrics: list gauges omitted: %s", self._problem)
                else:
                    self._problem = f"database could not be read ({type(err).__name__})"
                    log.exception("metrics: list gauges omitted: %s", self._problem)
            self._read_at = self._clock()

    def collect(self) -> Iterable[Metric]:
        state = self._state
        if state is None:
            return
        by_reason = GaugeMetricFamily(
            "bouncer_suppression_entries",
            "Active entries on the suppression list, by reason (read from the database).",
            labels=["reason"],
        )
        # Every reason, 0 included, so a rule on one never sees it vanish.
        for reason in sorted({*policy.REASONS, *state.entries_by_reason}):
            by_reason.add_metric([reason], state.entries_by_reason.get(reason, 0))
        yield by_reason
        # Omitted while nothing was sent or delivered in the window: no rate to give.
        for name, rate, what in (
            ("bouncer_bounce_rate_24h", state.bounce_rate, "bounce"),
            ("bouncer_complaint_rate_24h", state.complaint_rate, "complaint"),
        ):
            if rate is not None:
                yield GaugeMetricFamily(
                    name, f"The {what} rate over the last 24 hours, as /v1/stats gives it.", rate
                )

    def render(self) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        text = generate_latest(registry)
        if self._problem is not None:
            # A comment line: Prometheus ignores it; a person reading the page sees why.
            text += f"# bouncer: list gauges omitted: {self._problem}\n".encode()
        return text


async def _read(database: Database) -> ListState:
    now = datetime.now(UTC)
    async with database.session() as session:
        by_reason = await entries.count_by_reason(session, now=now)
        day = await stats.compute(session, window="24h", now=now)
    return ListState(by_reason, day.bounce_rate, day.complaint_rate)


def render(gauges: ListGauges) -> bytes:
    """The page: every worker's counters (or this process's), then the list's gauges."""
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counters = generate_latest(registry)
    else:
        counters = generate_latest(REGISTRY)
    return counters + gauges.render()
