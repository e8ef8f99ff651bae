"""Helpers for the console's tests: signing in through the real sign-in form."""

from __future__ import annotations

import re

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_in(page: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(page)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, token: str) -> None:
    """Sign ``client`` in with ``token`` as a browser does: the form, then its POST."""
    form = await client.get("/console/sign-in")
    assert form.status_code == 200, form.text
    response = await client.post(
        "/console/sign-in",
        data={"csrf": csrf_in(form.text), "token": token, "next": "/console"},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console"
