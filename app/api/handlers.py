"""One place that turns every error into ``{"error": ...}`` with the right status.

Kept out of app/errors.py so the pure packages (sns/, ses/) can raise bouncer's
errors without importing FastAPI.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import BouncerError, Unauthorized
from app.outages import is_database_outage

log = logging.getLogger("bouncer.errors")


def render(err: BouncerError) -> JSONResponse:
    headers = {"WWW-Authenticate": err.challenge} if isinstance(err, Unauthorized) else None
    return JSONResponse(err.body(), status_code=err.status_code, headers=headers)


async def _bouncer_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, BouncerError)  # noqa: S101  (registered for BouncerError only)
    return render(err)


async def _validation_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError)  # noqa: S101
    problems = err.errors()
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    # Drop FastAPI's "body"/"query" prefix so the field reads as the user wrote it.
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
    body: dict[str, object] = {"error": message, "field": field}
    if len(problems) > 1:
        body["details"] = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "error": e.get("msg")}
            for e in problems
        ]
    return JSONResponse(body, status_code=422)


async def _http_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, StarletteHTTPException)  # noqa: S101
    return JSONResponse(
        {"error": str(err.detail)}, status_code=err.status_code, headers=err.headers
    )


async def _unexpected(request: Request, err: Exception) -> JSONResponse:
    if is_database_outage(err):
        log.warning(
            "database unavailable: %s", type(err).__name__, extra={"path": request.url.path}
        )
        return JSONResponse(
            {"error": "the database is unreachable; retry shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    log.exception("unhandled error", extra={"path": request.url.path})
    return JSONResponse(
        {"error": "internal error: it has been logged with this request's X-Request-ID"},
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BouncerError, _bouncer_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Registered by class, these run in ExceptionMiddleware and end the request there;
    # the catch-all Exception handler would also re-raise into the server's log.
    for transient in (SQLAlchemyError, OSError, TimeoutError):
        app.add_exception_handler(transient, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
