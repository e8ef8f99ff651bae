"""The FastAPI application: ``create_app(settings)`` and the ``app`` uvicorn serves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from app import scrape
from app.api import (
    changes,
    docs,
    health,
    reports,
    send,
    ses,
    sns,
    subscriptions,
    suppressions,
    transfer,
    webhooks,
)
from app.api.handlers import install_error_handlers
from app.api.middleware import (
    BODY_IDLE_TIMEOUT,
    BodyLimit,
    CleanStartupFailure,
    RequestContext,
    RequireToken,
)
from app.console.app import install as install_console
from app.db import Database
from app.errors import StartupError
from app.logs import configure_logging
from app.opening import prepare_database
from app.private_files import UnsafePath
from app.services import Edges, Services, build_services
from app.ses_sync.periodic import run_periodically
from app.settings import Settings, get_settings, load_settings
from app.webhooks import upkeep
from app.webhooks.periodic import DeliveryLoop

log = logging.getLogger("bouncer")

# SNS messages are at most 256 KiB plus the envelope (SPEC §2).
SNS_BODY_LIMIT = 512 * 1024
DEFAULT_BODY_LIMIT = 50 * 1024 * 1024


def create_app(
    settings: Settings | None = None,
    *,
    edges: Edges | None = None,
    body_idle_timeout: float = BODY_IDLE_TIMEOUT,
    upkeep_every: float = upkeep.EVERY,
) -> FastAPI:
    """The app; ``edges`` replaces the outside world (tests, emulators).

    ``body_idle_timeout`` is how long a request body may pause: a limit of this HTTP front
    door (its middleware), not a service nor an edge, which tests shorten.
    ``upkeep_every``: seconds between the change feed's upkeep turns (the expiry sweep,
    retention), which tests shorten too.
    """
    settings = settings or get_settings()
    edges = edges or Edges()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL, settings.LOG_LEVEL_LIBRARIES)
        try:
            services = await build_services(settings, edges, open_database=_open_database)
        except UnsafePath as err:
            raise StartupError(str(err)) from None
        app.state.services = services
        log.info(
            "bouncer ready", extra={"database": services.database.engine.url.get_backend_name()}
        )
        syncing = _start_periodic_sync(settings, services)
        # The expiry sweep and the feed's retention (SPEC §10), on edges.clock's time.
        keeping = upkeep.start(
            services.database,
            clock=edges.clock,
            retention_days=settings.CHANGES_RETENTION_DAYS,
            every=upkeep_every,
        )
        # SPEC §10: every replica delivers webhooks; the claims share the work out.
        delivering = DeliveryLoop(services.deliverer)
        delivering.start()
        # Reachable so tests that drive fan-out, claims and records step by step can stop
        # it: run beside them it takes their work (stopping twice is harmless).
        app.state.delivering = delivering
        try:
            yield
        finally:
            try:
                await delivering.stop()
                await upkeep.stop(keeping)
            finally:
                if syncing is not None:
                    syncing.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await syncing
                await services.aclose()
            scrape.worker_stopped()

    app = FastAPI(
        title="bouncer",
        summary="Keeps Amazon SES senders off addresses that bounce or complain.",
        version="0.1.0",
        lifespan=lifespan,
        # /docs is app.api.docs (no CDN); ReDoc would load from one, so it is off.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(docs.router)
    app.include_router(sns.router)
    app.include_router(transfer.router)
    app.include_router(suppressions.router)
    app.include_router(reports.router)
    app.include_router(subscriptions.router)
    app.include_router(ses.router)
    app.include_router(send.router)
    app.include_router(changes.router)
    app.include_router(webhooks.router)
    install_console(app)
    app.add_middleware(RequireToken, prefix="/v1")
    # Outside RequireToken: a refusal leaves the body unread, and BodyLimit then closes the
    # connection instead of letting uvicorn receive an anonymous upload to discard it.
    app.add_middleware(
        BodyLimit,
        # Imports stream line by line, so a list of millions of rows needs no limit. The
        # console's upload is refused unread unless a write session sends it.
        limits={"/sns": SNS_BODY_LIMIT, "/v1/suppressions/import": None, "/console/import": None},
        default=DEFAULT_BODY_LIMIT,
        idle_timeout=body_idle_timeout,
        deadline=settings.REQUEST_BODY_TIMEOUT_SECONDS,
    )
    app.add_middleware(RequestContext)
    app.add_middleware(CleanStartupFailure)
    return app


def _start_periodic_sync(settings: Settings, services: Services) -> asyncio.Task[None] | None:
    """The SES sync pass every SES_SYNC_INTERVAL_SECONDS (SPEC §7), one replica at a time."""
    if settings.SES_SYNC == "off" or settings.SES_SYNC_INTERVAL_SECONDS <= 0:
        return None
    log.info(
        "SES sync: %s every %d s, regions %s",
        settings.SES_SYNC,
        settings.SES_SYNC_INTERVAL_SECONDS,
        ",".join(settings.ses_sync_regions),
    )
    return asyncio.create_task(
        run_periodically(services.ses_sync, interval=settings.SES_SYNC_INTERVAL_SECONDS),
        name="ses-sync",
    )


async def _open_database(settings: Settings) -> Database:
    return await prepare_database(settings, statement_timeout=settings.statement_timeout)


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
