"""``SesSync``: passes over SES's account-level suppression lists, and their drift (SPEC §7).

The front doors (``bouncer ses sync``, ``POST /v1/ses/sync``, ``GET /v1/ses/drift``) and
the service's periodic pass all call this one object.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from app.addresses import address_key
from app.db import Database
from app.errors import InvalidInput, SesListUnavailable
from app.ses.suppressed import PACING, Pacing
from app.ses_sync import removing
from app.ses_sync.lock import LockLost, PassLock
from app.ses_sync.region_pass import OnProgress, RegionPass
from app.ses_sync.reports import PassReport, RegionDrift, RegionReport
from app.settings import region_problem
from app.suppression import ses_outbox_store
from app.suppression.ses_plan import Direction

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client

    from app.settings import Settings

log = logging.getLogger("bouncer.ses_sync")

ClientFactory = Callable[[str], "SESV2Client"]
Mode = Literal["off", "pull", "both"]
# GET /v1/ses/drift reads SES's list whole: at most once a minute per region and replica.
DRIFT_TTL = timedelta(seconds=60)
_DIRECTION: dict[Mode, Direction] = {
    "off": Direction.PULL,
    "pull": Direction.PULL,
    "both": Direction.BOTH,
}


class SesSync:
    """``client_factory(region)`` makes a new sesv2 client, closed after each use."""

    def __init__(
        self,
        *,
        database: Database,
        regions: Sequence[str],
        mode: Mode,
        client_factory: ClientFactory,
        clock: Callable[[], datetime],
        pacing: Pacing = PACING,
        lock_poll_seconds: float = 0.5,
    ) -> None:
        self.database = database
        self.regions = list(regions)
        self.mode = mode
        self.client_factory = client_factory
        self.clock = clock
        self.pacing = pacing
        self.lock = PassLock(database, poll_seconds=lock_poll_seconds)
        self._drifts: dict[str, RegionDrift] = {}
        # Regions whose drift was asked since their last pass: the next pass reads their
        # list whole, so it mends what the drift showed (an incremental read never sees
        # an entry deleted in SES).
        self._whole_wanted: set[str] = set()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        database: Database,
        *,
        client_factory: ClientFactory,
        clock: Callable[[], datetime],
        pacing: Pacing = PACING,
    ) -> SesSync:
        return cls(
            database=database,
            regions=settings.ses_sync_regions,
            mode=settings.SES_SYNC,
            client_factory=client_factory,
            clock=clock,
            pacing=pacing,
        )

    @property
    def default_direction(self) -> Direction:
        """SES_SYNC's direction; ``pull`` when it is ``off`` (an operator's explicit pass)."""
        return _DIRECTION[self.mode]

    async def run_pass(
        self,
        *,
        direction: Direction | None = None,
        regions: Sequence[str] | None = None,
        dry_run: bool = False,
        wait: bool = True,
        on_progress: OnProgress | None = None,
    ) -> PassReport:
        """One pass over ``regions`` (None or empty: all of SES_SYNC_REGIONS), one region
        after another, one pass at a time across replicas: ``wait`` for a running one, or
        SyncBusy (409). A region whose list cannot be read is reported failed (``error``)
        while the others run; SesListUnavailable (502) when none could be reached. A pass
        that loses its lock stops before its next write: the region it was in says so in
        its ``error``, and so do the regions it did not begin (app.ses_sync.lock).

        ``dry_run`` reads SES's list and plans, and writes nothing anywhere, the mirror of
        SES's list included: the report's counts and ``plan`` are what a pass would do.
        ``on_progress(region, stage, count)`` is called on the event loop as work is done
        (stages ``read``, ``pulled``, ``pushed``, ``deleted``; ``count`` is the advance).
        """
        chosen = self._chosen(regions)
        direction = _direction(direction) if direction else self.default_direction
        async with self.lock.held(wait=wait):
            reports: list[RegionReport] = []
            unreachable: list[SesListUnavailable] = []
            for region in chosen:
                try:
                    await self.lock.check()
                except LockLost as lost:  # stopped: this region and the rest not run
                    reports.append(RegionReport(region, error=lost.message))
                    continue
                async with self._region(region, on_progress) as one:
                    try:
                        report = await one.run(
                            direction, dry_run=dry_run, whole=region in self._whole_wanted
                        )
                    except SesListUnavailable as err:
                        log.warning("SES sync in %s: %s", region, err.message)
                        if not dry_run:
                            await one.failed(err)
                        report = RegionReport(region, failed=1, error=err.message)
                        if err.is_region_wide:
                            unreachable.append(err)
                    else:
                        if not dry_run and report.error is None:
                            self._whole_wanted.discard(region)
                            self._drifts.pop(region, None)
                reports.append(report)
        if len(unreachable) == len(chosen):
            raise unreachable[0]
        return PassReport(reports, dry_run=dry_run, direction=direction)

    async def drift(self, *, regions: Sequence[str] | None = None) -> list[RegionDrift]:
        """Per region, how far the lists are apart (SPEC §7), SES's list read whole and
        kept for DRIFT_TTL. SesListUnavailable (502) when a region's list cannot be read."""
        found: list[RegionDrift] = []
        for region in self._chosen(regions):
            cached = self._drifts.get(region)
            if cached is None or self.clock() - cached.checked_at >= DRIFT_TTL:
                async with self._region(region, None) as one:
                    cached = await one.drift()
                self._drifts[region] = cached
                self._whole_wanted.add(region)
            found.append(cached)
        return found

    async def delete_removed(self, email: str) -> list[RegionReport]:
        """Delete a removal just committed (SES_SYNC=both) from SES's list at once, in
        each region where it waits in the outbox; best effort: what fails stays there for
        the next pass (each report's ``error``). No pass lock: it must not wait minutes
        for a pass, and every step is safe beside one (app.ses_sync.removing)."""
        key = address_key(email)
        async with self.database.session() as session:
            waiting = await ses_outbox_store.for_key(session, key)
        reports: list[RegionReport] = []
        for region in self.regions:
            if region in waiting:
                async with self._client(region) as client:
                    report = await removing.delete_in_region(
                        self.database,
                        client,
                        waiting[region],
                        region=region,
                        sleep=self.pacing.sleep,
                        clock=self.clock,
                    )
                reports.append(report)
        return reports

    async def delete_removed_quietly(self, email: str) -> None:
        """``delete_removed`` after an answer was sent: nothing to raise to, so logged."""
        try:
            reports = await self.delete_removed(email)
        except Exception:  # the outbox keeps the removal: the next pass deletes it
            log.exception("SES sync: could not delete %s from SES's list at once", email)
            return
        for report in reports:
            if report.error is not None:
                log.warning(
                    "SES sync in %s: %s stays in SES's list until the next pass: %s",
                    report.region,
                    email,
                    report.error,
                )

    def _chosen(self, regions: Sequence[str] | None) -> list[str]:
        chosen = [region.strip().lower() for region in regions or self.regions]
        for region in chosen:
            if region not in self.regions:
                raise InvalidInput(
                    f"region {region!r} is not synced: SES_SYNC_REGIONS holds "
                    f"{', '.join(self.regions)}; add it there to sync its list",
                    field="region",
                )
            if (problem := region_problem(region)) is not None:
                # AWS_REGION stands in for SES_SYNC_REGIONS, and with SES_SYNC=off (a pass
                # from the CLI) nothing checked it at start.
                raise InvalidInput(
                    f"{problem}: set SES_SYNC_REGIONS (or AWS_REGION) to region codes such "
                    "as us-east-1",
                    field="region",
                )
        return list(dict.fromkeys(chosen))

    @asynccontextmanager
    async def _region(
        self, region: str, on_progress: OnProgress | None
    ) -> AsyncIterator[RegionPass]:
        async with self._client(region) as client:
            yield RegionPass(
                region, client, self.database, self.clock, self.pacing, on_progress, self.lock.check
            )

    @asynccontextmanager
    async def _client(self, region: str) -> AsyncIterator[SESV2Client]:
        # Building a client reads botocore's service model from disk: off the event loop.
        client = await asyncio.to_thread(self.client_factory, region)
        try:
            yield client
        finally:
            client.close()


def _direction(given: str) -> Direction:
    """``given`` as a Direction (a front door may pass its plain string)."""
    try:
        return Direction(given)
    except ValueError:
        choices = ", ".join(Direction)
        raise InvalidInput(
            f"unknown direction {given!r}: use one of {choices}", field="direction"
        ) from None
