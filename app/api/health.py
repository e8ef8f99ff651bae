"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app import migrate, scrape
from app.api.deps import DatabaseDep, GaugesDep
from app.errors import RETRY_SHORTLY, DatabaseUnavailable
from app.outages import as_unavailable

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get("/healthz", summary="The process is alive (no I/O)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database is reachable and its schema is at head",
    responses={503: {"description": "not ready; the body says why"}},
)
async def readyz(database: DatabaseDep) -> JSONResponse:
    try:
        # The engine, not a session (no transaction to read one row): the same boundary.
        with as_unavailable(retry_hint=RETRY_SHORTLY):
            current = await migrate.current_revision(database.engine)
    except DatabaseUnavailable as err:
        log.warning("readyz: database unreachable: %s", err.__cause__)
        return JSONResponse(
            {"status": "unavailable", "error": f"database unreachable: {err.problem}"},
            status_code=503,
        )
    head = migrate.head_revision()
    if current != head:
        return JSONResponse(
            {
                "status": "unavailable",
                "error": f"schema is at {current or 'nothing'}, head is {head}: "
                "run `bouncer db upgrade` or start with AUTO_MIGRATE=true",
            },
            status_code=503,
        )
    return JSONResponse({"status": "ready", "schema": head})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(database: DatabaseDep, gauges: GaugesDep) -> Response:
    await gauges.refresh(database)
    return Response(scrape.render(gauges), media_type=CONTENT_TYPE_LATEST)
