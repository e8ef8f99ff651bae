"""Shared fixtures: a fresh migrated database per test, settings, the app and its client."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from app.main import create_app
from app.services import Edges, Services
from app.settings import Settings
from tests.browser.artefacts import artefacts_dir, written_since
from tests.databases import DatabaseFactory, server_url
from tests.signing import SnsSigner, shared_signer

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces-topic-prod"
WRITE_TOKEN = "write-token-for-tests"
READ_TOKEN = "read-token-for-tests"
WRITE = {"Authorization": f"Bearer {WRITE_TOKEN}"}
READ = {"Authorization": f"Bearer {READ_TOKEN}"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres`` act on PostgreSQL itself: the SQLite run deselects them
    (reported as deselected, not skipped); the PostgreSQL run keeps them."""
    if server_url() is not None:
        return
    kept = [item for item in items if item.get_closest_marker("postgres") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name the folder of the browser tests' screenshots, when this run wrote any."""
    written = written_since(_STARTED)
    if written:
        names = ", ".join(path.name for path in written)
        terminalreporter.write_line(f"browser test artefacts in {artefacts_dir()}: {names}")


class IsolatedSettings(Settings):
    """Settings from arguments only: the machine's environment never leaks into a test."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def make_settings(**values: Any) -> Settings:
    return IsolatedSettings(**values)


class Edge:
    """The app's outbound HTTP (certificates, SubscribeURL), recorded and scripted."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.respond: Callable[[httpx.Request], httpx.Response] = lambda _: httpx.Response(200)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)


class SettableClock:
    """``Edges.clock`` for tests that choose the moment bouncer sees (``clock.now = …``)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def replace_services(app: FastAPI, **changes: Any) -> Services:
    """Swap services of a running app (its database for one that is down, say); returns
    the services it had."""
    services: Services = app.state.services
    app.state.services = dataclasses.replace(services, **changes)
    return services


@pytest.fixture(scope="session")
def signer() -> SnsSigner:
    """The session's throw-away SNS signing key and certificate."""
    return shared_signer()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    manager = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield manager
    manager.close()


@pytest.fixture
def database_url(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh()
    yield url
    databases.release(url)


@pytest.fixture
def edge() -> Edge:
    return Edge()


@pytest.fixture
def cert_dir(tmp_path: Path, signer: SnsSigner) -> Path:
    folder = tmp_path / "certs"
    folder.mkdir()
    signer.write_cert(folder)
    return folder


@pytest.fixture
def settings(database_url: str, tmp_path: Path, cert_dir: Path) -> Settings:
    return make_settings(
        DATABASE_URL=database_url,
        DATA_DIR=tmp_path,
        SNS_TOPIC_ARNS=TOPIC,
        SNS_CERT_DIR=cert_dir,
        API_TOKENS=f"ops={WRITE_TOKEN}",
        API_READ_TOKENS=f"viewer={READ_TOKEN}",
        LOG_FORMAT="text",
    )


AppMaker = Callable[..., Any]


@pytest.fixture
async def make_client(edge: Edge, settings: Settings) -> AsyncIterator[AppMaker]:
    """``await make_client(**setting_overrides)`` -> (client, app); all closed afterwards."""
    opened: list[tuple[Any, httpx.AsyncClient]] = []

    async def make(
        sns_client_factory: Any = None, ses_sync_clients: Any = None, **overrides: Any
    ) -> tuple[httpx.AsyncClient, FastAPI]:
        values = {**settings.model_dump(exclude_unset=True), **overrides}
        app = create_app(
            make_settings(**values),
            edges=Edges(
                http_transport=httpx.MockTransport(edge.handler),
                sns_client_factory=sns_client_factory,
                ses_sync_clients=ses_sync_clients,
            ),
        )
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://bouncer.example"
        )
        opened.append((lifespan, client))
        return client, app

    yield make
    for lifespan, client in reversed(opened):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def app_and_client(make_client: AppMaker) -> tuple[httpx.AsyncClient, FastAPI]:
    made: tuple[httpx.AsyncClient, FastAPI] = await make_client()
    return made


@pytest.fixture
def app(app_and_client: tuple[httpx.AsyncClient, FastAPI]) -> FastAPI:
    return app_and_client[1]


@pytest.fixture
def client(app_and_client: tuple[httpx.AsyncClient, FastAPI]) -> httpx.AsyncClient:
    return app_and_client[0]
