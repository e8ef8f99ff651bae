"""The events of each verdict the rates count, and the recipients sent, over consecutive
spans of time: one statement, every figure a count over an index range.

Each figure is its own ``count(*)`` of one verdict between two instants, which reads a
range of the (verdict, occurred_at) index and nothing else. Grouping the rows instead
(by verdict, or by a day computed from each row) evaluates and hashes every row: at a
million events in 30 days the overview took seconds that way (issue #18; the figures
are in bench/README.md).
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.activity import send_log
from app.db import UtcDateTime
from app.models import Event, Send
from app.vocabulary import Verdict

# What the rates are made of; the other verdicts (record only, unsubscribe) count nowhere.
COUNTED = (Verdict.DELIVERY, Verdict.HARD_BOUNCE, Verdict.SOFT_BOUNCE, Verdict.COMPLAINT)


@dataclass(frozen=True)
class Counts:
    sends: int  # recipients SES accepted messages for, as send_log counts them
    deliveries: int
    hard_bounces: int
    soft_bounces: int
    complaints: int

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.sends + other.sends,
            self.deliveries + other.deliveries,
            self.hard_bounces + other.hard_bounces,
            self.soft_bounces + other.soft_bounces,
            self.complaints + other.complaints,
        )


NONE = Counts(0, 0, 0, 0, 0)


@dataclass(frozen=True)
class Spans:
    bounds: Sequence[datetime]  # ascending, no two equal
    spans: Sequence[Counts]  # spans[i]: from bounds[i] (included) to bounds[i + 1]

    def between(self, since: datetime, until: datetime) -> Counts:
        """The counts from ``since`` (included) to ``until``, both among the bounds."""
        first, last = self._index(since), self._index(until)
        total = NONE
        for counts in self.spans[first:last]:
            total += counts
        return total

    def _index(self, moment: datetime) -> int:
        i = bisect_left(self.bounds, moment)
        if i == len(self.bounds) or self.bounds[i] != moment:
            raise ValueError(f"{moment.isoformat()} is not one of the tally's bounds")
        return i


async def count(session: AsyncSession, bounds: Iterable[datetime]) -> Spans:
    """The counts between each two consecutive ``bounds`` (at least two), in one statement."""
    ordered = sorted(set(bounds))
    if len(ordered) < 2:
        raise ValueError("a tally needs two bounds at least")
    statement = _statement(len(ordered) - 1)
    row = (await session.execute(statement, {f"b{i}": b for i, b in enumerate(ordered)})).one()
    per_span = 1 + len(COUNTED)
    spans = [
        Counts(*(int(v or 0) for v in row[i * per_span : (i + 1) * per_span]))
        for i in range(len(ordered) - 1)
    ]
    return Spans(ordered, spans)


@functools.cache
def _statement(spans: int) -> Any:
    """SELECT of (sends, then each COUNTED verdict) per span, the bounds as b0, b1, …;
    built once per number of spans."""
    columns: list[Any] = []
    for i in range(spans):
        since = bindparam(f"b{i}", type_=UtcDateTime())
        until = bindparam(f"b{i + 1}", type_=UtcDateTime())
        columns.append(
            select(func.sum(Send.recipient_count))
            .where(send_log.sent_between(since=since, until=until))
            .scalar_subquery()
        )
        columns += [
            select(func.count())
            .select_from(Event)
            .where(Event.verdict == verdict, Event.occurred_at >= since, Event.occurred_at < until)
            .scalar_subquery()
            for verdict in COUNTED
        ]
    return select(*columns)
