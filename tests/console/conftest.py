"""Console fixtures: sessions signed in through the real sign-in form, a second browser, and
SES's list faked for SES_SYNC=both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import READ_TOKEN, WRITE_TOKEN
from tests.console.pages import csrf_of
from tests.ses.conftest import use_fake_aws_credentials
from tests.ses_sync.fake_ses import FakeSes, running_fake_ses

BASE_URL = "https://bouncer.example"


async def sign_in(client: httpx.AsyncClient, token: str, *, next_path: str = "/console") -> str:
    """Sign ``client`` in through GET and POST /console/sign-in, as a browser does; the
    session's CSRF token (read off the page signing in leads to)."""
    form = await client.get("/console/sign-in")
    assert form.status_code == 200, form.text
    answer = await client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(form.text), "token": token, "next": next_path},
    )
    assert answer.status_code == 303, answer.text
    page = await client.get("/console/suppressions")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def browser(app: FastAPI) -> httpx.AsyncClient:
    """Another browser on the same app: a cookie jar of its own."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


@pytest.fixture
async def writer(client: httpx.AsyncClient) -> str:
    """``client`` signed in with the write token; its CSRF token."""
    return await sign_in(client, WRITE_TOKEN)


@pytest.fixture
async def reader(app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A second browser signed in with the read token, and its CSRF token."""
    async with browser(app) as other:
        yield other, await sign_in(other, READ_TOKEN)


@pytest.fixture
def fake_ses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeSes]:
    use_fake_aws_credentials(monkeypatch, tmp_path)
    with running_fake_ses() as fake:
        yield fake


def csrf_in(page: str) -> str:
    """The CSRF token a page's forms carry."""
    return csrf_of(page)
