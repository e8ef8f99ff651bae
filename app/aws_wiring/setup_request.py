"""What ``bouncer aws setup`` was asked to do, checked before AWS is asked anything."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from app.aws_wiring import names
from app.errors import InvalidInput

# SES configuration set names: letters, digits, "_" and "-", up to 64.
_CONFIGURATION_SET = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")


@dataclass(frozen=True)
class SnsEndpoint:
    """bouncer's POST /sns as SNS should call it."""

    url: str
    protocol: str  # "https", or "http" with --allow-http

    @property
    def shown(self) -> str:
        return masked(self.url)


@dataclass(frozen=True)
class SetupRequest:
    endpoint: SnsEndpoint
    identities: tuple[str, ...]
    configuration_sets: tuple[str, ...]
    prefix: str
    region: str
    delivery: bool = True
    subscription: bool = True
    dry_run: bool = False


def masked(url: str) -> str:
    """``url`` with a basic-auth password as ``****``, as SNS lists subscription endpoints."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:  # not a URL urllib can take apart: mask what looks like a password
        return _PASSWORD.sub(r"\1****@", url)
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:****@{host}"))


def same_endpoint(listed: str, wanted: str) -> bool:
    """Whether SNS's listed endpoint is ``wanted``: SNS masks a password when it lists one."""
    return listed in (wanted, masked(wanted))


def check_endpoint(url: str, *, allow_http: bool) -> SnsEndpoint:
    """bouncer's /sns URL as SNS must be given it, or InvalidInput saying why not."""
    url = url.strip()
    shown = masked(url)[:300]
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is no port number
        host = parts.hostname
    except ValueError:  # an unbalanced "[" in the host, a port that is not a number
        parts, host = urlsplit(""), None
    schemes = ("https", "http") if allow_http else ("https",)
    if host is None or parts.scheme not in schemes:
        kinds = "http:// or https://" if allow_http else "https://"
        hint = "" if allow_http else " (--allow-http takes http:// for an emulator)"
        raise InvalidInput(
            f"--endpoint {shown!r} is not a valid {kinds} URL: SNS delivers to bouncer's "
            "POST /sns over HTTPS with a publicly trusted certificate, e.g. "
            f"https://bouncer.example.com/sns{hint}",
            field="endpoint",
        )
    if not parts.path.endswith("/sns") or parts.fragment:
        raise InvalidInput(
            f"--endpoint {shown!r} does not end in /sns: give the URL of bouncer's POST /sns, "
            "e.g. https://bouncer.example.com/sns",
            field="endpoint",
        )
    return SnsEndpoint(url=url, protocol=parts.scheme)


def check_configuration_set(name: str) -> str:
    if _CONFIGURATION_SET.fullmatch(name) is None:
        raise InvalidInput(
            f"--configuration-set {name[:80]!r}: a configuration set name is 1 to 64 letters, "
            "digits, '_' or '-'",
            field="configuration_set",
        )
    return name


def check_identity(identity: str) -> str:
    # SES checks the rest (and says so); an empty or spaced one is a slip on the line.
    if not identity or identity != identity.strip() or any(c.isspace() for c in identity):
        raise InvalidInput(
            f"--identity {identity[:80]!r}: give a verified SES identity, a domain "
            "(example.com) or an address (shop@example.com)",
            field="identity",
        )
    return identity


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def build_request(
    *,
    endpoint: str,
    identities: list[str],
    configuration_sets: list[str],
    prefix: str,
    region: str,
    allow_http: bool = False,
    delivery: bool = True,
    subscription: bool = True,
    dry_run: bool = False,
) -> SetupRequest:
    return SetupRequest(
        endpoint=check_endpoint(endpoint, allow_http=allow_http),
        identities=_unique([check_identity(i) for i in identities]),
        configuration_sets=_unique([check_configuration_set(c) for c in configuration_sets]),
        prefix=names.check_prefix(prefix),
        region=region,
        delivery=delivery,
        subscription=subscription,
        dry_run=dry_run,
    )
