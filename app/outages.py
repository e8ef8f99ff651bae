"""Which third-party failures mean "the database is unreachable, retry later" (503)."""

from __future__ import annotations

import asyncio

from sqlalchemy import exc as sa_exc

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


def is_database_outage(err: BaseException) -> bool:
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
