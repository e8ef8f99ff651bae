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
    # asyncpg raises its own connection errors, which SQLAlchemy may wrap as DBAPIError.
    cause = getattr(err, "orig", None) or err.__cause__
    return (
        cause is not None
        and cause is not err
        and type(cause).__name__
        in {
            "ConnectionDoesNotExistError",
            "CannotConnectNowError",
            "ConnectionFailureError",
            "InterfaceError",
            "TooManyConnectionsError",
            "AdminShutdownError",
            "CrashShutdownError",
        }
    )
