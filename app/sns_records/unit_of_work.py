"""One committed unit of work on what SNS sent (ingest and subscribing share it)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database

# SNS retries a message its POST did not get a 2xx for (SPEC §2), so a 503 loses nothing.
SNS_RETRIES = "SNS will retry this message"


def transaction(database: Database) -> AbstractAsyncContextManager[AsyncSession]:
    """A session that commits on exit; an outage is DatabaseUnavailable (503), worded for
    SNS, which retries the message."""
    return database.session(retry_hint=SNS_RETRIES)
