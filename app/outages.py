"""Which third-party failures mean "the database is unreachable, retry later" (503), and
the one place they become ``DatabaseUnavailable``: ``as_unavailable``, around every
session app.db makes (httpx's ``map_exceptions``, for the database)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from app.errors import BouncerError, DatabaseUnavailable

# The name app.api.handlers logged outages under before they were translated here.
log = logging.getLogger("bouncer.errors")

# asyncpg and aiosqlite surface lost connections, refused connects, timeouts and a
# locked SQLite file as these; none says anything about the request itself.
_TRANSIENT: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    ConnectionError,
    TimeoutError,
    asyncio.TimeoutError,
    OSError,
)


@contextmanager
def as_unavailable(*, retry_hint: str) -> Iterator[None]:
    """Raise DatabaseUnavailable, from the driver's error, for an outage inside the block.

    Pool exhaustion (SQLAlchemy's TimeoutError from the pool) is the database answering
    while bouncer has more work than connections: "overloaded", not "unreachable".
    """
    try:
        yield
    except BouncerError:
        raise  # already decided: a nested session's DatabaseUnavailable, a refusal, ...
    except Exception as err:
        if not is_database_outage(err):
            raise
        overloaded = isinstance(err, sa_exc.TimeoutError)
        conflict = is_lock_conflict(err)
        # Logged here, once per unit of work: the 503 tells the client, this the operator.
        log.warning(
            "database unavailable: %s%s",
            type(err).__name__,
            " (no pooled connection came free in time)"
            if overloaded
            else " (a deadlock with another writer)"
            if conflict
            else "",
        )
        raise DatabaseUnavailable(
            type(err).__name__, overloaded=overloaded, conflict=conflict, retry_hint=retry_hint
        ) from err


def is_database_outage(err: BaseException) -> bool:
    if isinstance(err, DatabaseUnavailable):
        return True  # translated already by as_unavailable
    if is_lock_conflict(err):
        # Not the request's fault and gone on a retry: a 503 (SNS retries), never a 500.
        return True
    if isinstance(err, sa_exc.DBAPIError) and err.connection_invalidated:
        return True
    if isinstance(err, _TRANSIENT):
        return True
    # asyncpg raises its own connection errors, which SQLAlchemy wraps twice (DBAPIError,
    # whose .orig is its adapter's Error, whose __cause__ is asyncpg's): look down the chain.
    seen: set[int] = {id(err)}
    cause = getattr(err, "orig", None) or err.__cause__
    while cause is not None and id(cause) not in seen:
        if type(cause).__name__ in _ASYNCPG_OUTAGES:
            return True
        seen.add(id(cause))
        cause = getattr(cause, "orig", None) or cause.__cause__
    return False


_ASYNCPG_OUTAGES = frozenset(
    {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "ConnectionFailureError",
        "InterfaceError",
        "TooManyConnectionsError",
        "AdminShutdownError",
        "CrashShutdownError",
    }
)


# PostgreSQL's "deadlock_detected" and "serialization_failure": it rolled the transaction
# back so that another could go on (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_LOCK_CONFLICTS = frozenset({"40P01", "40001"})


def is_lock_conflict(err: BaseException) -> bool:
    """PostgreSQL ended the transaction to break a deadlock (or a serialization conflict)."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if getattr(cause, "sqlstate", None) in _LOCK_CONFLICTS:
            return True
        seen.add(id(cause))
        cause = getattr(cause, "orig", None) or cause.__cause__
    return False
