"""`bouncer replay` (SPEC §8): a file's bodies through the queue core in batches, tallied.

Each batch is one transaction (QueueIngest.take), so a database lost mid-file leaves
every batch before it stored and nothing of its own; replaying the file again is safe,
what is stored already counts as duplicate.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.errors import DatabaseUnavailable
from app.ingest.queued import REFUSED, RETRY, QueueIngest, Taken
from app.queues.replay_lines import FileMessage

log = logging.getLogger("bouncer.replay")

# The statuses a summary counts, in the order it shows them.
STATUSES = ("processed", "duplicate", "confirmed", "pending", "unsubscribed", REFUSED, RETRY)
# How many refused (and retry) messages a summary names, the first ones met.
SHOWN = 10
DEFAULT_BATCH, MAX_BATCH = 100, 1000
# A file of unreadable lines is counted this many at a time, never held whole.
_HELD = 10_000


@dataclass(frozen=True, slots=True)
class Problem:
    """A message that took no effect: where it is in the file, and why."""

    line: int
    index: int | None
    status: str
    cause: str
    reason: str

    @property
    def where(self) -> str:
        return FileMessage(self.line, self.index).where


@dataclass(frozen=True, slots=True)
class Stopped:
    """The database was lost at ``at``: nothing from there on was taken."""

    at: FileMessage
    error: DatabaseUnavailable


@dataclass
class ReplayTally:
    counts: Counter[str] = field(default_factory=Counter)
    refused_by_cause: Counter[str] = field(default_factory=Counter)
    refused: list[Problem] = field(default_factory=list)
    retry: list[Problem] = field(default_factory=list)
    stopped: Stopped | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, item: FileMessage, taken: Taken) -> None:
        self.counts[taken.status] += 1
        if taken.status == REFUSED:
            self.refused_by_cause[taken.cause or "error"] += 1
        if taken.status in (REFUSED, RETRY):
            shown = self.refused if taken.status == REFUSED else self.retry
            if len(shown) < SHOWN:
                problem = Problem(
                    item.line, item.index, taken.status, taken.cause or "error", taken.reason or ""
                )
                shown.append(problem)

    def summary(self) -> dict[str, Any]:
        """The summary as `--format json` prints it."""
        out: dict[str, Any] = {status: self.counts[status] for status in STATUSES}
        out["total"] = self.total
        out["refused_by_cause"] = dict(sorted(self.refused_by_cause.items()))
        out["refused_messages"] = [_shown(p) for p in self.refused]
        out["retry_messages"] = [_shown(p) for p in self.retry]
        out["stopped"] = None
        if self.stopped is not None:
            at = self.stopped.at
            out["stopped"] = {
                "line": at.line,
                "message": at.index,
                "error": self.stopped.error.what_failed,
            }
        return out


def _shown(problem: Problem) -> dict[str, Any]:
    return {
        "line": problem.line,
        "message": problem.index,
        "cause": problem.cause,
        "reason": problem.reason,
    }


async def replay(
    items: Iterable[FileMessage],
    ingest: QueueIngest,
    *,
    batch_size: int = DEFAULT_BATCH,
    on_batch: Callable[[ReplayTally], None] | None = None,
) -> ReplayTally:
    """Takes every body of ``items``, ``batch_size`` a transaction, until the end or the
    database is lost (``ReplayTally.stopped``); ``on_batch`` is told after each batch."""
    tally = ReplayTally()
    batch: list[FileMessage] = []
    bodies = 0
    for item in items:
        # Unreadable lines wait in the batch too, so the tally keeps the file's order.
        batch.append(item)
        bodies += item.body is not None
        if bodies >= batch_size or len(batch) >= _HELD:
            if not await _take(batch, ingest, tally):
                return tally
            batch, bodies = [], 0
            if on_batch is not None:
                on_batch(tally)
    if batch and await _take(batch, ingest, tally) and on_batch is not None:
        on_batch(tally)
    return tally


async def _take(batch: list[FileMessage], ingest: QueueIngest, tally: ReplayTally) -> bool:
    """Takes the batch's bodies in one transaction and counts each item; False, with
    ``tally.stopped`` set, once the database is lost."""
    taking = [item for item in batch if item.body is not None]
    outcomes: list[Taken] = []
    try:
        if taking:
            # A confirmation that cannot be made is that body's answer (QueueIngest), so
            # only the database can fail the batch.
            outcomes = await ingest.take([item.body or "" for item in taking])
    except DatabaseUnavailable as err:
        at = taking[len(outcomes)]
        _count(batch, outcomes, tally, until=at)
        tally.stopped = Stopped(at, err)
        log.warning("the database is unreachable: replay stopped at %s", at.where)
        return False
    _count(batch, outcomes, tally)
    return True


def _count(
    batch: list[FileMessage],
    outcomes: list[Taken],
    tally: ReplayTally,
    *,
    until: FileMessage | None = None,
) -> None:
    taken = iter(outcomes)
    for item in batch:
        if item is until:
            return
        if item.body is None:
            tally.count(item, Taken(REFUSED, "unknown", None, "malformed", item.problem))
        else:
            tally.count(item, next(taken))
