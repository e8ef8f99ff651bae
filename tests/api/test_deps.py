"""The bearer token is checked once per /v1 request (by RequireToken, before the body is
read); ReadAccess and WriteAccess read the caller it found and decide read or write."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.access import Principal, TokenRegistry
from app.api.deps import ReadAccess, WriteAccess
from app.api.handlers import install_error_handlers
from tests.conftest import READ, WRITE


class CountingTokens:
    """Wraps the app's TokenRegistry and counts its authentications."""

    def __init__(self, registry: TokenRegistry) -> None:
        self.original = registry.authenticate
        self.calls = 0

    def authenticate(self, header: str | None) -> Principal:
        self.calls += 1
        return self.original(header)


@pytest.fixture
def counting(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> CountingTokens:
    tokens: TokenRegistry = app.state.services.tokens
    counter = CountingTokens(tokens)
    monkeypatch.setattr(tokens, "authenticate", counter.authenticate)
    return counter


class TestCheckedOnce:
    @pytest.mark.parametrize(
        ("method", "path", "headers", "body", "status"),
        [
            ("GET", "/v1/suppressions", READ, None, 200),
            ("PUT", "/v1/suppressions/ann@example.com", WRITE, {"reason": "manual"}, 201),
            ("PUT", "/v1/suppressions/ann@example.com", READ, {"reason": "manual"}, 403),
            ("POST", "/v1/suppressions/check", READ, {"emails": ["ann@example.com"]}, 200),
            ("GET", "/v1/subscriptions", READ, None, 200),
        ],
    )
    async def test_one_authentication_per_request(
        self,
        client: httpx.AsyncClient,
        counting: CountingTokens,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Any,
        status: int,
    ) -> None:
        response = await client.request(method, path, headers=headers, json=body)
        assert response.status_code == status, response.text
        assert counting.calls == 1

    async def test_the_token_names_the_actor(self, client: httpx.AsyncClient) -> None:
        added = await client.put(
            "/v1/suppressions/bob@example.com", json={"reason": "manual"}, headers=WRITE
        )
        assert added.status_code == 201
        history = await client.get("/v1/suppressions/bob@example.com/history", headers=READ)
        assert [c["actor"] for c in history.json()["history"]] == ["ops"]


class TestWithoutTheMiddleware:
    """A route that takes ReadAccess or WriteAccess outside RequireToken is refused: the
    dependencies never let a caller in that no middleware authenticated."""

    @pytest.fixture
    async def bare(self) -> Any:
        app = FastAPI()
        install_error_handlers(app)

        @app.get("/read")
        async def read(who: ReadAccess) -> dict[str, str]:
            return {"who": who.name}

        @app.get("/write")
        async def write(who: WriteAccess) -> dict[str, str]:
            return {"who": who.name}

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client

    @pytest.mark.parametrize("path", ["/read", "/write"])
    async def test_401_even_with_a_token(self, bare: httpx.AsyncClient, path: str) -> None:
        response = await bare.get(path, headers=WRITE)
        assert response.status_code == 401
