"""Who is looking at the console: the session cookie read, checked against the tokens, and
renewed; read sessions see, write sessions act, and every POST returns the CSRF token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from app.access import Principal
from app.api.state import services_of
from app.console import session_cookie
from app.console.session_cookie import ConsoleSession
from app.errors import BouncerError, Forbidden

# Renew the cookie (its idle clock) at most this often, not on every request.
_RENEW_AFTER_SECONDS = 60


class SignInNeeded(BouncerError):
    """No session, or one that ended: the console answers with the sign-in page."""

    status_code = 303
    cause = "sign_in"

    def __init__(self, message: str, *, next_path: str) -> None:
        super().__init__(message)
        self.next_path = next_path


class FormRefused(Forbidden):
    """A POST without this session's CSRF token, or from another site."""

    cause = "csrf"


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    session: ConsoleSession

    @property
    def can_write(self) -> bool:
        return self.principal.can_write

    @property
    def csrf(self) -> str:
        return self.session.csrf


def is_secure(request: Request) -> bool:
    """HTTPS as the server sees it: uvicorn rewrote the scheme from X-Forwarded-Proto only
    for a proxy in FORWARDED_ALLOW_IPS (its --proxy-headers)."""
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, session: ConsoleSession) -> None:
    services = services_of(request.app)
    hours = services.settings.CONSOLE_SESSION_HOURS
    response.set_cookie(
        session_cookie.COOKIE,
        session_cookie.encode(session, key=services.tokens.session_key),
        max_age=int(hours * 3600),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        session_cookie.COOKIE,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )


async def get_viewer(request: Request) -> Viewer:
    services = services_of(request.app)
    now = datetime.now(UTC)
    here = return_path(request)
    raw = request.cookies.get(session_cookie.COOKIE)
    session = session_cookie.decode(raw, key=services.tokens.session_key)
    if session is None:
        message = "sign in with an API token" if raw is None else "your session is not valid"
        raise SignInNeeded(message, next_path=here)
    if session.is_idle(now=now, hours=services.settings.CONSOLE_SESSION_HOURS):
        raise SignInNeeded(
            f"your session ended after {services.settings.CONSOLE_SESSION_HOURS:g} h without "
            "use: sign in again",
            next_path=here,
        )
    principal = services.tokens.by_fingerprint(session.fingerprint)
    if principal is None:
        raise SignInNeeded(
            "the token this session signed in with is no longer configured: sign in again",
            next_path=here,
        )
    if now.timestamp() - session.seen_at > _RENEW_AFTER_SECONDS:
        session = session.seen(now=now)
        request.state.renew_console_session = session
    viewer = Viewer(principal, session)
    # The layout's header shows who is signed in, error pages included (templating.render).
    request.state.console_viewer = viewer
    return viewer


def return_path(request: Request) -> str:
    """Where signing in should lead back to: this page for a GET; for a form's POST, the
    page the form was on (its Referer, when it is this host's), else the overview. A
    redirect cannot replay a POST: sent to the POST-only path, the browser would GET it
    (a 405) and the form would be lost. safe_next checks the path in any case."""
    if request.method in ("GET", "HEAD"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc == request.url.netloc:
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/console"


def renew_if_needed(request: Request, response: Response) -> Response:
    """Send the renewed cookie get_viewer asked for, restarting the idle clock."""
    renewed: ConsoleSession | None = getattr(request.state, "renew_console_session", None)
    if renewed is not None:
        set_session_cookie(request, response, renewed)
    return response


def check_form(request: Request, viewer: Viewer, form: FormData) -> None:
    """Refuse a write by a read session (whatever it sends), or a form without this
    session's CSRF token."""
    if not viewer.can_write:
        raise Forbidden(
            f"token {viewer.principal.name!r} is read-only: sign in with a token from "
            "API_TOKENS to change things"
        )
    check_csrf(request, viewer.csrf, form)


def check_csrf(request: Request, expected: str, form: FormData) -> None:
    """The form must carry ``expected``, its page's CSRF token.

    The Origin check comes on top of the token (SPEC §9: an Origin check alone is not
    enough): a browser sends Origin on every POST, and one from another host is refused
    even if it somehow carries the token. Only the host is compared: behind a proxy that
    ends TLS the browser's https origin arrives over http.
    """
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.url.netloc:
        raise FormRefused("this form was sent from another site: reload the page and retry")
    given = form.get("csrf")
    if not isinstance(given, str) or not session_cookie.matches(given, expected):
        raise FormRefused(
            "this form's security token is missing or out of date: reload the page and retry"
        )


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a console path, never another site (``//evil``,
    ``/\\evil`` and ``https://evil`` all become the overview)."""
    if (
        not path
        or len(path) > 2000
        or not (path == "/console" or path.startswith(("/console/", "/console?")))
        or "//" in path
        or "\\" in path
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path)
    ):
        return "/console"
    return path


def sign_in_url(next_path: str) -> str:
    return f"/console/sign-in?next={quote(next_path, safe='/')}"


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
