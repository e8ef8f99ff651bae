"""The console's session cookie: who signed in, their CSRF token and when they were last
seen, signed with HMAC-SHA256 so the browser cannot change any of it (SPEC §9)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

COOKIE = "bouncer_console"
# The sign-in form's own CSRF token, before there is a session (login CSRF).
SIGN_IN_COOKIE = "bouncer_sign_in"
# A cookie longer than this is no cookie of ours: refused before it is decoded.
_MAX_LENGTH = 1024
_VERSION = 1


@dataclass(frozen=True)
class ConsoleSession:
    fingerprint: str  # of the token signed in with (TokenRegistry.by_fingerprint)
    csrf: str  # every form returns it; every POST must
    seen_at: int  # seconds since the epoch of the last request

    def is_idle(self, *, now: datetime, hours: float) -> bool:
        return now.timestamp() - self.seen_at > hours * 3600

    def seen(self, *, now: datetime) -> ConsoleSession:
        return replace(self, seen_at=int(now.timestamp()))


def new_session(fingerprint: str, *, now: datetime) -> ConsoleSession:
    return ConsoleSession(fingerprint, secrets.token_urlsafe(32), int(now.timestamp()))


def encode(session: ConsoleSession, *, key: bytes) -> str:
    payload = {"v": _VERSION, "f": session.fingerprint, "c": session.csrf, "s": session.seen_at}
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    text = body.decode().rstrip("=")
    return f"{text}.{_sign(text, key=key)}"


def decode(cookie: str | None, *, key: bytes) -> ConsoleSession | None:
    """The session a cookie holds, None when it is missing, altered, or not ours."""
    if not cookie or len(cookie) > _MAX_LENGTH:
        return None
    text, _, signature = cookie.rpartition(".")
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    expected = _sign(text, key=key).encode()
    if not text or not hmac.compare_digest(signature.encode(errors="replace"), expected):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("v") != _VERSION:
        return None
    fingerprint, csrf, seen_at = payload.get("f"), payload.get("c"), payload.get("s")
    if not isinstance(fingerprint, str) or not isinstance(csrf, str):
        return None
    if not isinstance(seen_at, int) or isinstance(seen_at, bool):
        return None
    return ConsoleSession(fingerprint, csrf, seen_at)


def matches(given: str | None, expected: str) -> bool:
    """Whether a form's CSRF token is the session's (constant time)."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _sign(text: str, *, key: bytes) -> str:
    digest = hmac.new(key, b"console-session." + text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
