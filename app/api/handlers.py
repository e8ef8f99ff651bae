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
from starlette.requests import ClientDisconnect

from app.api.bodies import UnreadableBody
from app.errors import BouncerError

log = logging.getLogger("bouncer.errors")


def render(err: BouncerError) -> JSONResponse:
    # The error says which headers its answer needs: Retry-After for every 503
    # (Unavailable), the challenge for a 401.
    return JSONResponse(err.body(), status_code=err.status_code, headers=err.headers() or None)


async def _bouncer_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, BouncerError)  # noqa: S101  (registered for BouncerError only)
    return render(err)


async def _validation_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError)  # noqa: S101
    problems = err.errors()
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        # FastAPI puts the character offset where a field name goes: ("body", 17).
        offset = first["loc"][-1]
        ctx = first.get("ctx")
        detail = ctx.get("error") if isinstance(ctx, dict) else None
        return _invalid_body(f"not valid JSON ({detail or 'unreadable'} at character {offset})")
    location = [str(p) for p in first.get("loc", ())]
    # Drop FastAPI's "body"/"query" prefix so the field reads as the user wrote it; the
    # location alone ("body") when the problem is the whole of it.
    loc = [p for p in location if p not in ("body", "query", "path")]
    field = ".".join(loc) or (location[0] if location else None)
    message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
    body: dict[str, object] = {"error": message, "field": field}
    if len(problems) > 1:
        body["details"] = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "error": e.get("msg")}
            for e in problems
        ]
    return JSONResponse(body, status_code=422)


def _invalid_body(problem: str) -> JSONResponse:
    return JSONResponse(
        {"error": f"body: {problem}: send a JSON object, UTF-8 encoded", "field": "body"},
        status_code=422,
    )


async def _http_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, StarletteHTTPException)  # noqa: S101
    # FastAPI answers 400 "There was an error parsing the body" for anything that fails
    # while it reads a JSON body; say what actually happened.
    cause = err.__cause__
    if isinstance(cause, BouncerError):  # the body limit or the body timeout (app.api.middleware)
        return render(cause)
    if isinstance(cause, ClientDisconnect):
        return _client_gone()
    if isinstance(cause, UnicodeDecodeError):
        return _invalid_body("not UTF-8 text")
    if isinstance(cause, RecursionError):  # json.loads on [[[[… thousands deep
        return _invalid_body("nested too deeply")
    if isinstance(cause, UnreadableBody):
        return _invalid_body(str(cause))
    return JSONResponse(
        {"error": str(err.detail)}, status_code=err.status_code, headers=err.headers
    )


async def _client_disconnected(request: Request, _: Exception) -> JSONResponse:
    return _client_gone()


def _client_gone() -> JSONResponse:
    # Nobody reads this answer; it only keeps a client that gave up mid-body (SNS after its
    # 15 s) out of the error log and the 5xx counts.
    log.info("the client closed the connection before sending the whole body")
    return JSONResponse({"error": "the request body was cut short"}, status_code=400)


async def _unexpected(request: Request, err: Exception) -> JSONResponse:
    # No database-outage branch: a request reaches the database only through
    # Database.session()/read(), which raise DatabaseUnavailable (a BouncerError, rendered
    # above as 503) for an outage; /readyz, the one engine-level read, goes through the same
    # boundary (app.outages.as_unavailable). What still arrives here is a bug: a 500.
    log.exception("unhandled error", extra={"path": request.url.path})
    return JSONResponse(
        {"error": "internal error: it has been logged with this request's X-Request-ID"},
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BouncerError, _bouncer_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnected)
    # Registered by class, these run in ExceptionMiddleware and end the request there (one
    # log line); the catch-all Exception handler would also re-raise into the server's log.
    for transient in (SQLAlchemyError, OSError, TimeoutError):
        app.add_exception_handler(transient, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
