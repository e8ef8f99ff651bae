"""Deleting a removed address's forms from one region's SES list, each checked first.

DeleteSuppressedDestination has no condition: an entry SES updated after the removal (a
new hard bounce, from another application on the account that bouncer's SNS never hears
of) would go with it, and SES would stop blocking an address that just bounced. So each
form is read first (GetSuppressedDestination) and deleted only when SES's newest word
on it is no later than the removal; bouncer's own Put counts as of bouncer's check
(app.ses_sync.reading.mirror_row). What is left between the Get and the Delete is one
round trip.
https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_GetSuppressedDestination.html
https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_DeleteSuppressedDestination.html
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.db import Database
from app.errors import SesListUnavailable
from app.ses import suppressed
from app.ses.suppressed import Pacing
from app.ses_sync import reading
from app.ses_sync.reports import RegionReport
from app.suppression import ses_mirror_store, ses_outbox_store
from app.suppression.ses_mirror_store import MirrorRow
from app.suppression.ses_plan import ToDelete

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client

log = logging.getLogger("bouncer.ses_sync")


def count_failure(
    report: RegionReport, err: SesListUnavailable, email: str, *, logged: bool = True
) -> None:
    """One SES call that failed for good (the next pass retries it)."""
    report.failed += 1
    if logged:
        log.warning("SES sync in %s: %s failed: %s", report.region, email, err.message)


@dataclass(frozen=True)
class Deleter:
    """One region's deletes, counted into ``report``: ``deleted`` counts the forms this
    call took out, not those SES no longer held."""

    client: SESV2Client
    database: Database
    pacing: Pacing
    report: RegionReport
    progress: Callable[[str, int], None]
    logged: bool = True  # False: the caller says what failed (the report's error)

    async def delete(
        self,
        key: str,
        items: Sequence[ToDelete],
        known: Mapping[str, MirrorRow],
        *,
        guessed: bool = False,
    ) -> SesListUnavailable | None:
        """Delete ``items`` (forms of ``key``; ``known``: the mirror's rows of it, by
        form), record what is gone in the mirror and the outbox, and give the failure that
        stopped them, if one did. The outbox row is dropped once nothing is left to
        delete; a failure counts an attempt on it; with ``guessed`` (forms the mirror does
        not know, tried all the same) it stays for the next pass, which reads SES first."""
        gone: list[str] = []
        newer: list[MirrorRow] = []
        failure: SesListUnavailable | None = None
        for item in items:
            try:
                outcome = await self._delete_one(key, item, known.get(item.email))
            except SesListUnavailable as err:
                count_failure(self.report, err, item.email, logged=self.logged)
                failure = err
                if err.is_region_wide:
                    break
                continue
            if isinstance(outcome, MirrorRow):
                newer.append(outcome)
                continue
            gone.append(item.email)
            if outcome:
                self.report.deleted += 1
                self.progress("deleted", 1)
        region = self.report.region
        async with self.database.session() as session:
            await ses_mirror_store.forget(session, region, gone)
            await ses_mirror_store.merge(session, region, newer)  # the next plan pulls it
            if failure is not None:
                removed_at = items[0].removed_at
                await ses_outbox_store.failed(
                    session, region, key, removed_at=removed_at, error=failure.message
                )
            elif not guessed:
                await ses_outbox_store.done(session, region, [key])
        return failure

    async def _delete_one(
        self, key: str, item: ToDelete, known: MirrorRow | None
    ) -> MirrorRow | bool:
        """True: deleted; False: SES no longer held it; a row: SES updated it after the
        removal (a new bounce), as SES dates it, and it stays."""
        current = await asyncio.to_thread(
            suppressed.get_suppressed, self.client, item.email, pacing=self.pacing
        )
        if current is None:
            return False
        row = reading.mirror_row(current, key, known)
        if row.last_update > item.removed_at:
            log.info(
                "SES sync in %s: %s was updated in SES after its removal (a new bounce): kept",
                self.report.region,
                item.email,
            )
            return row
        return await asyncio.to_thread(
            suppressed.delete_suppressed, self.client, item.email, pacing=self.pacing
        )
