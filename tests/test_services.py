"""build_services: every service built once, on one database and one clock, from Edges;
a planted token file stops the start before the database is touched."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db import Database
from app.private_files import UnsafePath
from app.services import Edges, Lookup, build_services
from app.settings import Settings
from tests.conftest import make_settings

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return NOW


class TestEdges:
    def test_by_default_sns_clients_come_from_the_credentials(self) -> None:
        assert Edges().sns_client_factory is Lookup.FROM_CREDENTIALS

    def test_none_means_no_sns_clients_and_no_lookup(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def looked_up() -> None:
            raise AssertionError("credentials were looked up")

        monkeypatch.setattr("app.services.make_sns_client_factory", looked_up)
        assert Edges(sns_client_factory=None).sns_clients() is None

    def test_a_given_factory_is_used_as_it_is(self) -> None:
        def factory(region: str) -> Any:
            return region

        assert Edges(sns_client_factory=factory).sns_clients() is factory

    async def test_the_http_client_uses_the_transport_and_follows_no_redirect(self) -> None:
        seen: list[str] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            return httpx.Response(302, headers={"Location": "https://elsewhere.example"})

        async with Edges(http_transport=httpx.MockTransport(answer)).http_client() as http:
            response = await http.get("https://sns.us-east-1.amazonaws.com/x")
        assert response.status_code == 302
        assert seen == ["https://sns.us-east-1.amazonaws.com/x"]


class TestBuildServices:
    async def test_one_database_one_clock_one_subscribing(self, settings: Settings) -> None:
        opened: list[Database] = []

        async def open_database(given: Settings) -> Database:
            assert given is settings
            opened.append(Database(given.database_url))
            return opened[-1]

        edges = Edges(sns_client_factory=None, clock=fixed_clock)
        services = await build_services(settings, edges, open_database=open_database)
        try:
            assert opened == [services.database]
            assert services.ingest.database is services.database
            assert services.subscribing.database is services.database
            # Ingest hands (un)subscribe messages to the same Subscribing the routes use.
            assert services.ingest.subscribing is services.subscribing
            assert services.ingest.clock() == services.subscribing.clock() == NOW
            assert services.settings is settings
        finally:
            await services.aclose()

    async def test_a_planted_token_file_stops_it_before_the_database(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "data"
        data_dir.mkdir(mode=0o700)
        token = data_dir / "api-token"
        token.write_text("planted-secret-0123456789abcdef\n")
        token.chmod(0o644)

        async def open_database(given: Settings) -> Database:
            raise AssertionError("the database was opened")

        with pytest.raises(UnsafePath, match="mode 0644"):
            await build_services(
                make_settings(DATA_DIR=data_dir), Edges(), open_database=open_database
            )
