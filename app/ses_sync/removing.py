"""A removal deleted from SES's lists at once (SES_SYNC=both), best effort, the outbox its
fallback (SPEC §7).

Between a removal and the next pass (up to SES_SYNC_INTERVAL_SECONDS) SES's entry still
drops every send to the address, and each comes back as an OnAccountSuppressionList
bounce, which suppresses it again (SPEC §3). So the front doors call this right after
the removal commits: the API after its 204 is sent, the CLI before it exits. Whatever
fails here waits in the outbox for the next pass, as it would have anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from app.db import Database
from app.ses.failures import Backoff
from app.ses.suppressed import Pacing
from app.ses_sync.deleting import Deleter
from app.ses_sync.reports import RegionReport
from app.suppression import ses_mirror_store, ses_sync_store
from app.suppression.ses_outbox_store import Waiting
from app.suppression.ses_plan import ToDelete

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client

# A short back-off: the CLI waits for it, and the pass retries what it leaves.
AT_ONCE_BACKOFF = Backoff(retries=2, base=0.5, cap=2.0)


async def delete_in_region(
    database: Database,
    client: SESV2Client,
    waiting: Waiting,
    *,
    region: str,
    sleep: Callable[[float], None],
    clock: Callable[[], datetime],
) -> RegionReport:
    """Delete the forms SES holds of ``waiting``'s address in ``region``, each checked
    first (app.ses_sync.deleting); the report's ``error`` says what failed."""
    report = RegionReport(region)
    key = waiting.key
    async with database.session() as session:
        if await ses_sync_store.active(session, [key], now=clock()):
            return report  # suppressed again since: the entry wins; the pass settles it
        forms = await ses_mirror_store.forms(session, region, key)
    # The mirror holds SES's list as last read; an address SES listed since (the bounce
    # that made it suppressed, minutes ago) is tried in its key's form, and its outbox
    # row stays for the pass, which reads SES first.
    emails = [row.email for row in forms] or [key]
    items = [ToDelete(email, key, waiting.removed_at) for email in sorted(emails)]
    pacing = Pacing(AT_ONCE_BACKOFF, sleep)
    deleter = Deleter(client, database, pacing, report, _no_progress, logged=False)
    known = {row.email: row for row in forms}
    failure = await deleter.delete(key, items, known, guessed=not forms)
    if failure is not None:
        report.error = failure.message
    return report


def _no_progress(stage: str, count: int) -> None:
    """No progress line: one address."""
