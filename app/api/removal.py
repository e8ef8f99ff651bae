"""Removing an entry through a web door (DELETE /v1/suppressions/{email}, the console's
Remove button): the removal, and with SES_SYNC=both the delete from SES's list."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import BackgroundTasks
from sqlalchemy.ext.asyncio import AsyncSession

from app.ses_sync import SesSync
from app.settings import Settings
from app.suppression import entries


async def remove_entry(
    session: AsyncSession,
    email: str,
    *,
    actor: str,
    note: str | None,
    settings: Settings,
    ses_sync: SesSync,
    background: BackgroundTasks,
) -> bool:
    """Remove the address's entry; False when it had none. With SES_SYNC=both the removal
    waits in the outbox (same transaction), and SES's entry is deleted right after the
    answer is sent: ``session`` must commit before then (SessionDep does)."""
    regions = settings.ses_removal_regions
    removed = await entries.remove(
        session, email, actor=actor, note=note, now=datetime.now(UTC), ses_regions=regions
    )
    if removed and regions:
        # After the answer is sent (the session commits before it): SES's entry goes at
        # once, best effort, so the next send is not dropped by it; the outbox is the
        # fallback (SPEC §7: a removal is never forgotten).
        background.add_task(ses_sync.delete_removed_quietly, email)
    return removed
