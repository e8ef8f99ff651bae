"""GET /healthz, /readyz and /metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.db import Database
from app.errors import StartupError
from app.migrate import head_revision
from app.opening import prepare_database
from tests.conftest import make_settings, replace_services
from tests.outages import unreachable_database


class TestHealthz:
    async def test_alive_without_io(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["x-request-id"]


class TestReadyz:
    async def test_ready_at_head(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "schema": head_revision()}

    async def test_503_when_schema_behind(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        database: Database = app.state.services.database
        async with database.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert "bouncer db upgrade" in response.json()["error"]

    async def test_503_when_database_gone(
        self, app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        healthy: Database = app.state.services.database
        replace_services(app, database=unreachable_database(healthy.url, tmp_path))
        try:
            response = await client.get("/readyz")
        finally:
            await app.state.services.database.dispose()
            replace_services(app, database=healthy)
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert "database unreachable" in response.json()["error"]


class TestMetrics:
    async def test_request_latency_by_route(self, client: httpx.AsyncClient) -> None:
        await client.get("/healthz")
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert 'bouncer_http_request_duration_seconds_count{method="GET",route="/healthz"' in (
            response.text
        )


class TestUnknownRoutes:
    async def test_404_is_json(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/nope")
        assert response.status_code == 404
        assert response.json() == {"error": "Not Found"}


class TestStartup:
    async def test_unreachable_database_is_one_clear_line(self) -> None:
        settings = make_settings(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
        with pytest.raises(StartupError) as caught:
            await prepare_database(settings)
        assert "check DATABASE_URL" in str(caught.value)
        assert "\n" not in str(caught.value)
