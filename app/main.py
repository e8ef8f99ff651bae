"""The FastAPI application: ``create_app(settings)`` and the ``app`` uvicorn serves."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from app import scrape
from app.access import TokenRegistry
from app.api import (
    docs,
    health,
    reports,
    send,
    sns,
    subscriptions,
    suppressions,
    transfer,
)
from app.api.handlers import install_error_handlers
from app.api.middleware import (
    BODY_IDLE_TIMEOUT,
    BodyLimit,
    CleanStartupFailure,
    RequestContext,
    RequireToken,
)
from app.db import Database
from app.errors import StartupError
from app.ingest import Ingest
from app.logs import configure_logging
from app.opening import prepare_database
from app.private_files import UnsafePath
from app.sending import SesSender
from app.settings import Settings, get_settings, load_settings
from app.sns.certificates import CertificateStore
from app.sns.confirmation import SnsClientFactory, SubscriptionConfirmer, make_sns_client_factory
from app.sns.topics import TopicAllowlist
from app.sns.verifier import Verifier
from app.suppression import policy

log = logging.getLogger("bouncer")

# SNS messages are at most 256 KiB plus the envelope (SPEC §2).
SNS_BODY_LIMIT = 512 * 1024
DEFAULT_BODY_LIMIT = 50 * 1024 * 1024


def build_ingest(
    settings: Settings,
    database: Database,
    http: httpx.AsyncClient,
    sns_client_factory: SnsClientFactory | None,
) -> Ingest:
    allowlist = TopicAllowlist(settings.SNS_TOPIC_ARNS)
    if (too_wide := allowlist.warning()) is not None:
        log.warning(too_wide)
    elif not settings.SNS_TOPIC_ARNS:
        log.warning("SNS_TOPIC_ARNS is empty: every SNS message will be refused")
    if not settings.SNS_VERIFY_SIGNATURES:
        log.warning("SNS_VERIFY_SIGNATURES=false: signatures are not checked (emulators only)")
    verifier = Verifier(
        CertificateStore(http, cert_dir=settings.SNS_CERT_DIR),
        allowlist,
        min_signature_version=settings.SNS_MIN_SIGNATURE_VERSION,
        max_age_seconds=settings.SNS_MAX_AGE_SECONDS,
        verify_signatures=settings.SNS_VERIFY_SIGNATURES,
    )
    return Ingest(
        database=database,
        verifier=verifier,
        confirmer=SubscriptionConfirmer(http, sns_client_factory=sns_client_factory),
        auto_confirm=settings.SNS_AUTO_CONFIRM,
        rules=policy.Rules(
            soft_bounce_limit=settings.SOFT_BOUNCE_LIMIT,
            soft_bounce_window_days=settings.SOFT_BOUNCE_WINDOW_DAYS,
            soft_bounce_suppress_days=settings.SOFT_BOUNCE_SUPPRESS_DAYS,
        ),
        verify_signatures=settings.SNS_VERIFY_SIGNATURES,
    )


_FROM_CREDENTIALS: Any = object()


def create_app(
    settings: Settings | None = None,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
    sns_client_factory: SnsClientFactory | None = _FROM_CREDENTIALS,
    ses_client: Any = None,
    body_idle_timeout: float = BODY_IDLE_TIMEOUT,
) -> FastAPI:
    """The app; the keyword arguments replace its edges to AWS (tests, emulators) and let
    tests shorten the wait for a stalled request body."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.LOG_FORMAT, settings.LOG_LEVEL, settings.LOG_LEVEL_LIBRARIES)
        try:
            tokens = TokenRegistry.from_settings(
                settings.API_TOKENS, settings.API_READ_TOKENS, data_dir=settings.DATA_DIR
            )
        except UnsafePath as err:
            raise StartupError(str(err)) from None
        database = await prepare_database(settings, statement_timeout=settings.statement_timeout)
        http = httpx.AsyncClient(timeout=5.0, follow_redirects=False, transport=http_transport)
        factory = (
            make_sns_client_factory()
            if sns_client_factory is _FROM_CREDENTIALS
            else sns_client_factory
        )
        app.state.db = database
        app.state.http = http
        app.state.tokens = tokens
        sender = SesSender.from_settings(settings, database, client=ses_client)
        app.state.sender = sender
        app.state.ingest = build_ingest(settings, database, http, factory)
        app.state.gauges = scrape.ListGauges()
        log.info("bouncer ready", extra={"database": database.engine.url.get_backend_name()})
        try:
            yield
        finally:
            await sender.aclose()
            await http.aclose()
            await database.dispose()
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
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(docs.router)
    app.include_router(sns.router)
    # Before suppressions: its GET /{email} would otherwise take /export.
    app.include_router(transfer.router)
    app.include_router(suppressions.router)
    app.include_router(reports.router)
    app.include_router(subscriptions.router)
    app.include_router(send.router)
    app.add_middleware(RequireToken, prefix="/v1")
    # Outside RequireToken: a refusal leaves the body unread, and BodyLimit then closes the
    # connection instead of letting uvicorn receive an anonymous upload to discard it.
    app.add_middleware(
        BodyLimit,
        # Imports stream line by line, so a list of millions of rows needs no limit.
        limits={"/sns": SNS_BODY_LIMIT, "/v1/suppressions/import": None},
        default=DEFAULT_BODY_LIMIT,
        idle_timeout=body_idle_timeout,
        deadline=settings.REQUEST_BODY_TIMEOUT_SECONDS,
    )
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
