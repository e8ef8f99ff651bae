"""The FastAPI application: ``create_app(settings)`` and the ``app`` uvicorn serves."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from app import migrate
from app.api import health
from app.api.handlers import install_error_handlers
from app.db import Database
from app.logs import configure_logging
from app.middleware import BodyLimit, CleanStartupFailure, RequestContext, StartupError
from app.outages import is_database_outage
from app.settings import Settings, get_settings, load_settings

log = logging.getLogger("bouncer")

# SNS messages are at most 256 KiB plus the envelope (SPEC §2).
SNS_BODY_LIMIT = 512 * 1024
DEFAULT_BODY_LIMIT = 50 * 1024 * 1024


async def prepare_database(settings: Settings) -> Database:
    """Connect and, with AUTO_MIGRATE, upgrade to head; a failure is one clear line."""
    database = Database(settings.database_url)
    try:
        if settings.AUTO_MIGRATE:
            await migrate.upgrade_to_head(database.engine)
        elif not await migrate.is_at_head(database.engine):
            raise StartupError(
                "the database schema is not at head and AUTO_MIGRATE=false: "
                "run `bouncer db upgrade` first"
            )
    except StartupError:
        await database.dispose()
        raise
    except Exception as err:
        await database.dispose()
        if is_database_outage(err):
            where = database.engine.url.render_as_string(hide_password=True)
            raise StartupError(
                f"cannot reach the database at {where} ({type(err).__name__}: {err}): "
                "check DATABASE_URL"
            ) from err
        raise
    return database


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL)
        database = await prepare_database(settings)
        http = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        app.state.db = database
        app.state.http = http
        log.info("bouncer ready", extra={"database": database.engine.url.get_backend_name()})
        try:
            yield
        finally:
            await http.aclose()
            await database.dispose()

    app = FastAPI(
        title="bouncer",
        summary="Keeps Amazon SES senders off addresses that bounce or complain.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.add_middleware(BodyLimit, limits={"/sns": SNS_BODY_LIMIT}, default=DEFAULT_BODY_LIMIT)
    app.add_middleware(RequestContext)
    app.add_middleware(CleanStartupFailure)
    return app


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    # `app` is built on first access (uvicorn's getattr), not at import, so importing
    # this module never reads the environment.
    global _app
    if name == "app":
        if _app is None:
            _app = create_app(load_settings())
        return _app
    raise AttributeError(name)
