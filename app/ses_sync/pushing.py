"""A plan's SES side (``both``, ``push``): removals deleted from SES, bounces and
complaints put into it, each call in a worker thread and outside any transaction.

What to do is decided again just before, on a fresh read (``push_work``): the plan was
made before the pulls, and an operator may have removed or re-added an address since.
A removal waiting in the outbox is deleted even if the plan missed it, an address
removed meanwhile is never put back, and one suppressed again is not deleted.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.db import Database
from app.errors import SesListUnavailable
from app.ses import suppressed
from app.ses.suppressed import Pacing, SesReason
from app.ses_sync.deleting import Deleter, count_failure
from app.ses_sync.reports import RegionReport
from app.suppression import ses_mirror_store, ses_notes, ses_outbox_store, ses_sync_store
from app.suppression.effects import ChangeLine
from app.suppression.ses_mirror_store import MirrorRow
from app.suppression.ses_outbox_store import Waiting
from app.suppression.ses_plan import Held, Plan, ToDelete
from app.vocabulary import ChangeAction

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client

# Entries put into SES between two mirror writes.
_FLUSH_EVERY = 100


@dataclass(frozen=True)
class PushWork:
    deletes: dict[str, list[ToDelete]]  # by key: every form to delete, exactly as SES holds it
    puts: list[tuple[str, SesReason]]  # (key, reason)
    settled: list[str]  # outbox keys with nothing (left) to delete


def push_work(
    plan: Plan,
    waiting: Mapping[str, Waiting],
    forms: Mapping[str, Sequence[MirrorRow]],
    active: Mapping[str, Held],
) -> PushWork:
    """``plan``'s deletes and puts as they stand now. ``waiting``: the region's outbox;
    ``forms``: the mirror's forms by key; ``active``: the current entry of each address
    the plan puts or the outbox names that has an active one."""
    deletes: dict[str, dict[str, ToDelete]] = defaultdict(dict)
    for item in plan.delete:
        if item.key not in active:
            deletes[item.key][item.email] = item
    for key, row in waiting.items():
        if key in active:
            continue  # suppressed again since: the entry wins, and is pushed
        for form in forms.get(key, ()):
            # A form SES updated after the removal is a new bounce, and stays.
            if form.last_update <= row.removed_at:
                deletes[key].setdefault(form.email, ToDelete(form.email, key, row.removed_at))
    puts: list[tuple[str, SesReason]] = []
    for wanted in plan.put:
        # Removed since the plan (not active), no longer a bounce or complaint, or given an
        # expiry: not put.
        current = active.get(wanted.email)
        if current is not None and (reason := current.for_ses) is not None:
            puts.append((wanted.email, reason))
    return PushWork(
        deletes={key: list(found.values()) for key, found in sorted(deletes.items())},
        puts=puts,
        settled=[key for key in waiting if key not in deletes],
    )


@dataclass(frozen=True)
class Pusher:
    """One region's SES writes, counted into ``report``."""

    region: str
    client: SESV2Client
    database: Database
    pacing: Pacing
    clock: Callable[[], datetime]
    report: RegionReport
    progress: Callable[[str, int], None]
    check: Callable[[], Awaitable[None]]  # LockLost when the pass's lock is gone

    async def run(self, plan: Plan, forms: Mapping[str, Sequence[MirrorRow]]) -> None:
        """Deletes first (a removal is what an operator waits on), then puts. Raises the
        SesListUnavailable that stopped the region, after recording what was done."""
        async with self.database.session() as session:
            waiting = await ses_outbox_store.waiting(session, self.region)
            keys = {item.email for item in plan.put} | set(waiting)
            active = await ses_sync_store.active(session, keys, now=self.clock())
        work = push_work(plan, waiting, forms, active)
        await self.check()
        if work.settled:
            async with self.database.session() as session:
                await ses_outbox_store.done(session, self.region, work.settled)
        deleter = Deleter(self.client, self.database, self.pacing, self.report, self.progress)
        for key, items in work.deletes.items():
            known = {row.email: row for row in forms.get(key, ())}
            failure = await deleter.delete(key, items, known)
            if failure is not None and failure.is_region_wide:
                raise failure
        await self.check()
        await self._put(work.puts)

    async def _put(self, puts: Sequence[tuple[str, SesReason]]) -> None:
        done: list[MirrorRow] = []
        try:
            for key, _ in puts:
                # Checked again just before its call: the list of puts may take minutes to
                # get through SES's rate, and an address removed meanwhile must not go in
                # (SES would then date it after the removal, and the next pass pull it back).
                started = self.clock()
                async with self.database.read() as session:
                    still = await ses_sync_store.active(session, [key], now=started)
                if key not in still or (reason := still[key].for_ses) is None:
                    continue
                try:
                    await asyncio.to_thread(
                        suppressed.put_suppressed, self.client, key, reason, pacing=self.pacing
                    )
                except SesListUnavailable as err:
                    count_failure(self.report, err, key)
                    if err.is_region_wide:
                        raise
                    continue
                # Dated as of the check (what the entry stands for), with the call's end:
                # SES dates it when the call lands, by its own clock (app.models.SesMirror).
                done.append(MirrorRow(key, key, reason, started, pushed_at=self.clock()))
                self.report.pushed += 1
                self.progress("pushed", 1)
                await self._removed_meanwhile(key, since=started)
                if len(done) >= _FLUSH_EVERY:
                    await self._remember(done)
                    done = []
        finally:
            await self._remember(done)

    async def _removed_meanwhile(self, key: str, *, since: datetime) -> None:
        """An operator may remove the address while the Put is under way (throttled
        retries take up to ~47 s): SES then holds what bouncer no longer does, so its
        removal waits in the outbox (again) for the next pass to delete."""
        async with self.database.session() as session:
            removed_at = await ses_sync_store.removed_since(session, key, since, now=self.clock())
            if removed_at is not None:
                await ses_outbox_store.enqueue(
                    session, key, regions=[self.region], removed_at=removed_at
                )

    async def _remember(self, rows: Sequence[MirrorRow]) -> None:
        """The mirror holds what was put, and each entry's history says SES holds it now
        (so no pass notes it again)."""
        if not rows:
            return
        actor = ses_notes.sync_actor(self.region)
        lines = [
            ChangeLine(
                row.key, ChangeAction.NOTED, actor, note=ses_notes.pushed(self.region, row.reason)
            )
            for row in rows
        ]
        async with self.database.session() as session:
            await ses_mirror_store.merge(session, self.region, rows)
            await ses_sync_store.add_lines(session, lines, now=self.clock())
