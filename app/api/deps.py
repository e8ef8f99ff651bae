"""Dependencies the routers share: settings, the database session, the app's services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal, TokenRegistry, require_write
from app.db import Database
from app.settings import Settings

# Every dependency is `async def`, though none awaits anything: FastAPI runs a plain
# `def` dependency in a worker thread, and that hop cost ~0.4 ms of every request, an
# eighth of a notification's time (bench/README.md).


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    return _database(request)


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session that commits when the handler returns, before the response is sent."""
    async with _database(request).session() as session:
        yield session


# Declares the bearer scheme on every /v1 operation of the OpenAPI document, so /docs
# offers "Authorize" and "Try it out" sends the token. It checks nothing itself
# (auto_error=False): TokenRegistry does, with the answers SPEC §4 gives.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="a token of API_TOKENS (read and write) or API_READ_TOKENS (read only)",
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]


async def get_principal(request: Request, _: Bearer) -> Principal:
    registry: TokenRegistry = request.app.state.tokens
    return registry.authenticate(request.headers.get("authorization"))


async def get_writer(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    return require_write(principal)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[Database, Depends(get_database)]
# scope="function": the commit happens before the response goes out, so a 200
# always means the work is durable (SNS retries only 5xx and time-outs).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
# Every /v1 route takes one of these: a read token may read, only API_TOKENS write.
ReadAccess = Annotated[Principal, Depends(get_principal)]
WriteAccess = Annotated[Principal, Depends(get_writer)]
