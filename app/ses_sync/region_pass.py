"""One region's pass: read SES's list into the mirror, plan against bouncer's list, carry
the plan out (bouncer's side, then SES's), and record where the region stands.

No database transaction is ever open during an SES call: each read or write of
bouncer's tables is a short transaction of its own between them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.db import Database
from app.errors import SesListUnavailable
from app.ses.suppressed import Pacing, SesEntry
from app.ses_sync import pulling, reading
from app.ses_sync.lock import LockLost
from app.ses_sync.pushing import Pusher
from app.ses_sync.reports import RegionDrift, RegionReport
from app.suppression import ses_mirror_store, ses_notes, ses_sync_store
from app.suppression.ses_mirror_store import MirrorRow
from app.suppression.ses_plan import Direction, Plan, reconcile

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from types_boto3_sesv2.client import SESV2Client

log = logging.getLogger("bouncer.ses_sync")


async def _unchecked() -> None:
    """No lock to check (a drift, a test's pass)."""


# (region, stage, how many more): a front door's progress line.
OnProgress = Callable[[str, str, int], None]


@dataclass(frozen=True)
class RegionPass:
    region: str
    client: SESV2Client
    database: Database
    clock: Callable[[], datetime]
    pacing: Pacing
    on_progress: OnProgress | None = None
    # LockLost when the pass's lock is gone: asked before each write phase.
    check: Callable[[], Awaitable[None]] = _unchecked

    def progress(self, stage: str, count: int) -> None:
        if self.on_progress is not None and count:
            self.on_progress(self.region, stage, count)

    async def run(self, direction: Direction, *, dry_run: bool, whole: bool) -> RegionReport:
        """The region's report. Raises SesListUnavailable when SES's list could not be
        read (nothing was changed); a failure after that is in the report's ``error``."""
        started = self.clock()
        async with self.database.session() as session:
            state = await ses_mirror_store.state(session, self.region)
            since = reading.start_date(state, now=started, whole=whole)
            mirror = [] if since is None else await ses_mirror_store.rows(session, self.region)
            pushed = await self._pushed(session, mirror if since is not None else None)
        read = await self._read(since)
        fresh = reading.mirror_rows(read, pushed)
        rows = reading.merged(mirror, fresh)
        plan = await self._plan(rows, reading.plan_entries(rows, fresh, read), direction, started)
        report = RegionReport(self.region, plan=plan)
        if dry_run:
            report.pulled, report.noted = len(plan.pull), len(plan.note)
            report.pushed, report.deleted = len(plan.put), len(plan.delete)
            return report
        try:
            await self.check()
            async with self.database.session() as session:
                if since is None:
                    await ses_mirror_store.replace(session, self.region, fresh)
                else:
                    await ses_mirror_store.merge(session, self.region, fresh)
                await ses_mirror_store.save_read(
                    session, self.region, started=started, whole=since is None
                )
            await self._apply(plan, rows, report)
        except LockLost as lost:  # stopped before the next write; the next pass carries on
            log.warning("SES sync in %s: %s", self.region, lost.message)
            report.error = lost.message
        return report

    async def drift(self) -> RegionDrift:
        """SES's list read whole, against bouncer's list; nothing is written."""
        checked_at = self.clock()
        async with self.database.read() as session:
            pushed = await self._pushed(session, None)
        read = await self._read(None)
        rows = reading.mirror_rows(read, pushed)
        plan = await self._plan(
            rows, reading.plan_entries(rows, rows, read), Direction.PULL, checked_at
        )
        return RegionDrift(self.region, plan.drift, checked_at)

    async def _pushed(
        self, session: AsyncSession, mirror: Sequence[MirrorRow] | None
    ) -> dict[str, MirrorRow]:
        """The mirror's rows of bouncer's own Puts (taken from ``mirror`` when read whole)."""
        if mirror is None:
            return await ses_mirror_store.pushed(session, self.region)
        return {row.email: row for row in mirror if row.pushed_at is not None}

    async def failed(self, err: SesListUnavailable) -> None:
        """Record that the region's list could not be read."""
        async with self.database.session() as session:
            await ses_mirror_store.save_pass(
                session, self.region, at=self.clock(), error=err.message
            )

    async def _read(self, since: datetime | None) -> list[SesEntry]:
        return await reading.read_list(
            self.client,
            since=since,
            pacing=self.pacing,
            on_page=lambda count: self.progress("read", count),
        )

    async def _plan(
        self,
        rows: Sequence[MirrorRow],
        entries: Sequence[SesEntry],
        direction: Direction,
        now: datetime,
    ) -> Plan:
        keys = {row.key for row in rows}
        actor = ses_notes.sync_actor(self.region)
        async with self.database.session() as session:
            held = await ses_sync_store.held(session, ses_keys=keys, actor=actor, now=now)
            removals = await ses_sync_store.removals(session, keys - held.keys())
        return reconcile(held, entries, removals=removals, direction=direction)

    async def _apply(self, plan: Plan, rows: Sequence[MirrorRow], report: RegionReport) -> None:
        region, database, clock = self.region, self.database, self.clock
        await self.check()
        report.pulled = await pulling.pull(
            database, plan.pull, region=region, clock=clock, progress=self.progress
        )
        await self.check()
        report.noted = await pulling.note(database, plan.note, region=region, clock=clock)
        if plan.direction.pushes:
            forms: dict[str, list[MirrorRow]] = defaultdict(list)
            for row in rows:
                forms[row.key].append(row)
            pusher = Pusher(
                region, self.client, database, self.pacing, clock, report, self.progress, self.check
            )
            try:
                await pusher.run(plan, forms)
            except SesListUnavailable as err:
                report.error = err.message
        async with database.session() as session:
            await ses_mirror_store.save_pass(session, region, at=clock(), error=report.error)
        log.info(
            "SES sync in %s: %d pulled, %d noted, %d pushed, %d deleted, %d failed, "
            "%d of SES's entries unreadable%s",
            region,
            report.pulled,
            report.noted,
            report.pushed,
            report.deleted,
            report.failed,
            len(plan.invalid),
            f"; stopped: {report.error}" if report.error else "",
        )
