"""Dependencies the routers share: one per service, the database session, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal, require_write
from app.api.state import PRINCIPAL, services_of
from app.db import Database
from app.errors import Unauthorized
from app.ingest import Ingest
from app.scrape import ListGauges
from app.sending import SesSender
from app.ses_sync import SesSync
from app.settings import Settings
from app.subscribing import Subscribing

# Every dependency is `async def`, though none awaits anything: FastAPI runs a plain
# `def` dependency in a worker thread, and that hop cost ~0.4 ms of every request, an
# eighth of a notification's time (bench/README.md).


async def get_settings_dep(request: Request) -> Settings:
    return services_of(request.app).settings


async def get_database(request: Request) -> Database:
    return services_of(request.app).database


async def get_ingest(request: Request) -> Ingest:
    return services_of(request.app).ingest


async def get_subscribing(request: Request) -> Subscribing:
    return services_of(request.app).subscribing


async def get_sender(request: Request) -> SesSender:
    return services_of(request.app).sender


async def get_ses_sync(request: Request) -> SesSync:
    return services_of(request.app).ses_sync


async def get_gauges(request: Request) -> ListGauges:
    return services_of(request.app).gauges


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session that commits when the handler returns, before the response is sent."""
    async with services_of(request.app).database.session() as session:
        yield session


# Declares the bearer scheme on every /v1 operation of the OpenAPI document, so /docs
# offers "Authorize" and "Try it out" sends the token. It checks nothing itself
# (auto_error=False): the RequireToken middleware did, with the answers SPEC §4 gives.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="a token of API_TOKENS (read and write) or API_READ_TOKENS (read only)",
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]


async def get_principal(request: Request, _: Bearer) -> Principal:
    """The caller RequireToken authenticated; the token is not checked a second time."""
    principal: Principal | None = getattr(request.state, PRINCIPAL, None)
    if principal is None:
        # A route outside RequireToken's prefix: refuse rather than let anyone in.
        raise Unauthorized("send Authorization: Bearer <token> (API_TOKENS or API_READ_TOKENS)")
    return principal


async def get_writer(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    return require_write(principal)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[Database, Depends(get_database)]
IngestDep = Annotated[Ingest, Depends(get_ingest)]
SubscribingDep = Annotated[Subscribing, Depends(get_subscribing)]
SesSyncDep = Annotated[SesSync, Depends(get_ses_sync)]
SenderDep = Annotated[SesSender, Depends(get_sender)]
GaugesDep = Annotated[ListGauges, Depends(get_gauges)]
# scope="function": the commit happens before the response goes out, so a 200
# always means the work is durable (SNS retries only 5xx and time-outs).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
# Every /v1 route takes one of these: a read token may read, only API_TOKENS write.
ReadAccess = Annotated[Principal, Depends(get_principal)]
WriteAccess = Annotated[Principal, Depends(get_writer)]
