"""Console test helpers: a client signed in through the real sign-in form."""

from __future__ import annotations

import re

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def sign_in(client: httpx.AsyncClient, token: str) -> None:
    """Sign ``client`` in with ``token`` (tests.conftest.WRITE_TOKEN or READ_TOKEN) as a
    browser does: fetch the form, post it back with its CSRF token; the session cookie
    stays in the client's jar."""
    form = await client.get("/console/sign-in")
    assert form.status_code == 200, form.text
    found = _CSRF.search(form.text)
    assert found is not None, form.text
    response = await client.post(
        "/console/sign-in", data={"csrf": found.group(1), "token": token, "next": "/console"}
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console"
