"""Secure cookies behind a proxy that ends TLS: X-Forwarded-Proto is believed only from a
proxy in FORWARDED_ALLOW_IPS (uvicorn's proxy headers, as `bouncer serve` runs it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.console import session_cookie
from tests.databases import DatabaseFactory
from tests.live import LiveServer

WRITE = "write-token-0123456789abcdef"


@pytest.fixture(scope="module")
def module_database(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh()
    yield url
    databases.release(url)


def serve(database_url: str, folder: Path, *, trusted: str) -> LiveServer:
    env = {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(folder),
        "API_TOKENS": f"ops={WRITE}",
        "FORWARDED_ALLOW_IPS": trusted,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    server = LiveServer(env, folder / "server.log")
    server.wait_ready()
    return server


def sign_in_cookies(url: str) -> list[str]:
    """The Set-Cookie lines of the sign-in form and of signing in, over a forwarded https."""
    https = {"x-forwarded-proto": "https"}
    with httpx.Client(base_url=url, headers=https) as client:
        form = client.get("/console/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed = client.post(
            "/console/sign-in",
            data={"csrf": csrf.group(1), "token": WRITE, "next": "/console"},
            headers={"cookie": f"{session_cookie.SIGN_IN_COOKIE}={csrf.group(1)}"},
        )
        assert signed.status_code == 303, signed.text
        return form.headers.get_list("set-cookie") + signed.headers.get_list("set-cookie")


def test_a_trusted_proxy_saying_https_makes_the_cookies_secure(
    module_database: str, tmp_path: Path
) -> None:
    server = serve(module_database, tmp_path, trusted="127.0.0.1")
    try:
        cookies = sign_in_cookies(server.url)
    finally:
        server.stop()
    session = [c for c in cookies if c.startswith(f"{session_cookie.COOKIE}=")]
    assert session
    assert all("Secure" in c for c in cookies if "Max-Age=0" not in c)


def test_anyone_else_saying_https_is_not_believed(module_database: str, tmp_path: Path) -> None:
    # The request comes from 127.0.0.1, not the one proxy trusted: the header is ignored,
    # the request is plain http, and a Secure cookie would never come back over it.
    server = serve(module_database, tmp_path, trusted="192.0.2.1")
    try:
        cookies = sign_in_cookies(server.url)
    finally:
        server.stop()
    assert cookies
    assert not any("Secure" in c for c in cookies)
