"""What an endpoint is: its id, its secret, a URL and event types checked before they are
stored, and the retry schedule of its deliveries. Pure: no database, no network."""

from __future__ import annotations

import base64
import ipaddress
import random
import secrets
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlsplit

import httpx

from app.errors import InvalidInput
from app.vocabulary import ChangeType

TYPES = tuple(str(t) for t in ChangeType)
MAX_URL = 2048
# SPEC §10: retried for 24 hours, up to an hour apart; a try gets no answer after 10 s.
GIVE_UP_AFTER = timedelta(hours=24)
MAX_DELAY = 3600.0
JITTER = 0.25  # a retry's delay is its back-off plus up to a quarter more


def new_id() -> str:
    return f"wh_{secrets.token_hex(16)}"


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in base64, as the Standard Webhooks libraries take it."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> str:
    """An absolute http or https URL with a host, or InvalidInput naming ``url``.

    A private or loopback host is allowed (SPEC §10: only write-token holders add
    endpoints, and a receiver beside bouncer is common).
    """
    problem = _url_problem(url)
    if problem:
        raise InvalidInput(f"url {problem}", field="url")
    return url


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_URL:
        return f"is longer than {MAX_URL} characters"
    if not url.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "must be ASCII without spaces or control characters (percent-encode the rest)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        return f"is not a URL: {err}"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    host = parts.hostname
    if not host:
        return "has no host"
    if port == 0:
        return "has port 0"
    # "#" alone (an empty fragment) too: urlsplit then reports no fragment.
    if "#" in url:
        return "must not have a #fragment (it is never sent)"
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%")[0])
        except ValueError:
            return "has a host that is not a name or an address"
    # The client that delivers parses the host further than urlsplit (IPv4 octets, IPv6
    # literals, punycode): a host it refuses would fail every try for 24 hours.
    try:
        _ = httpx.URL(url).host
    except (httpx.InvalidURL, ValueError):  # IDNAError is a ValueError
        return "has a host that is not a name or an address"
    return None


def check_types(types: Sequence[str] | None) -> list[str]:
    """The event types an endpoint takes, deduplicated in SPEC order; every type when None."""
    if types is None:
        return list(TYPES)
    unknown = [t for t in types if t not in TYPES]
    if unknown:
        raise InvalidInput(
            f"types: {', '.join(map(repr, unknown))} unknown; each must be one of "
            + ", ".join(TYPES),
            field="types",
        )
    if not types:
        raise InvalidInput(
            "types must name at least one type, or be left out for all", field="types"
        )
    return [t for t in TYPES if t in types]


def retry_delay(attempt: int, *, first: float, rng: random.Random) -> float:
    """Seconds before the try after ``attempt`` failed tries: ``first`` after the first,
    then doubling, capped at MAX_DELAY, with jitter so endpoints that failed together do
    not all come back at once."""
    if attempt <= 1:
        return first
    back_off = min(MAX_DELAY, first * 2 ** (attempt - 1))
    return float(min(MAX_DELAY, back_off * (1 + rng.uniform(0, JITTER))))
