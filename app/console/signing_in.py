"""/console/sign-in and /console/sign-out: an API token in, a session cookie out."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from app.api.state import services_of
from app.console import session_cookie
from app.console.access import (
    ViewerDep,
    check_csrf,
    clear_session_cookie,
    get_viewer,
    is_secure,
    safe_next,
    set_session_cookie,
)
from app.console.routing import ConsoleRoute
from app.console.templating import render
from app.errors import BouncerError, Unauthorized

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

# How long the sign-in form stays usable (its CSRF cookie).
_FORM_SECONDS = 3600
# What secrets.token_urlsafe(32) makes: 32 bytes, 43 characters of base64url.
_FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)
# A token longer than this is no token (the form's field holds at most this much).
_MAX_TOKEN = 512


@router.get("/sign-in")
async def sign_in_form(
    request: Request, next: Annotated[str | None, Query(max_length=4000)] = None
) -> Response:
    try:
        await get_viewer(request)
    except BouncerError:
        return _form(request, next_path=safe_next(next))
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=8)
    expected = request.cookies.get(session_cookie.SIGN_IN_COOKIE, "")
    next_value = form.get("next")
    next_path = safe_next(next_value if isinstance(next_value, str) else None)
    if not expected:
        # No form cookie: the form is older than an hour, or was not ours.
        return _form(
            request,
            next_path=next_path,
            error="the sign-in form had expired: enter the token again",
            status_code=403,
        )
    check_csrf(request, expected, form)
    token = form.get("token")
    services = services_of(request.app)
    try:
        if not isinstance(token, str) or len(token) > _MAX_TOKEN:
            raise Unauthorized("that token is not valid: use one of API_TOKENS or API_READ_TOKENS")
        _, fingerprint = services.tokens.sign_in(token)
    except Unauthorized as err:
        return _form(request, next_path=next_path, error=err.message, status_code=401)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(
        request, response, session_cookie.new_session(fingerprint, now=datetime.now(UTC))
    )
    response.delete_cookie(session_cookie.SIGN_IN_COOKIE, path="/console/sign-in")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, viewer: ViewerDep) -> Response:
    # A read session may sign out too: only the CSRF token is asked for.
    check_csrf(request, viewer.csrf, await request.form(max_files=0, max_fields=8))
    response = RedirectResponse("/console/sign-in?signed_out=1", status_code=303)
    clear_session_cookie(request, response)
    return response


def _form(
    request: Request,
    *,
    next_path: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    # The form's cookie is kept while it is one of ours: tabs reloaded after a session
    # ended each load this form, and the one filled in need not be the last one loaded.
    held = request.cookies.get(session_cookie.SIGN_IN_COOKIE, "")
    csrf = held if _FORM_TOKEN.fullmatch(held) else secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        {
            "csrf": csrf,
            "next_path": next_path,
            "error": error,
            "signed_out": request.query_params.get("signed_out") == "1",
            "max_token": _MAX_TOKEN,
        },
        status_code=status_code,
    )
    response.set_cookie(
        session_cookie.SIGN_IN_COOKIE,
        csrf,
        max_age=_FORM_SECONDS,
        path="/console/sign-in",
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )
    return response
