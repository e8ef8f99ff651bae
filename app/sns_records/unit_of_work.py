"""One committed unit of work on what SNS sent; an unreachable database becomes 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.errors import BouncerError, Unavailable
from app.outages import is_database_outage


@asynccontextmanager
async def transaction(database: Database) -> AsyncIterator[AsyncSession]:
    """A session that commits on exit; an outage is Unavailable, so SNS retries the message.

    Shared by ingest and subscribing, the two services SNS's POSTs reach.
    """
    try:
        async with database.session() as session:
            yield session
    except BouncerError:
        raise
    except Exception as err:
        if not is_database_outage(err):
            raise
        if isinstance(err, PoolTimeout):
            # The database answers; bouncer has more work than connections.
            raise Unavailable(
                "bouncer is overloaded: no database connection came free in time; "
                "nothing was stored; SNS will retry this message"
            ) from err
        raise Unavailable(
            f"the database is unreachable ({type(err).__name__}): nothing was stored; "
            "SNS will retry this message"
        ) from err
