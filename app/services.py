"""What bouncer runs on, built in one place: its services, and the outside world as Edges.

The web app builds ``Services`` at start (``build_services``); a command that needs one
service builds only that one (``build_subscribing``), without FastAPI. Tests and emulators
replace ``Edges``, never a service.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING

import httpx

from app.access import TokenRegistry
from app.db import Database
from app.ingest import Ingest, QueueIngest
from app.scrape import ListGauges
from app.sending import SesSender
from app.ses import suppressed
from app.ses_sync import SesSync
from app.settings import Settings
from app.sns.certificates import CertificateStore
from app.sns.confirmation import SnsClientFactory, SubscriptionConfirmer, make_sns_client_factory
from app.sns.topics import TopicAllowlist
from app.sns.verifier import Verifier
from app.subscribing import Subscribing
from app.suppression import policy
from app.webhooks.delivery import Deliverer

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client

log = logging.getLogger("bouncer")


class Lookup(Enum):
    """Find the SNS clients from the AWS credentials at start (it may ask the instance
    metadata service, so it is done once, then, and never at import)."""

    FROM_CREDENTIALS = "from credentials"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Edges:
    """The outside world bouncer talks to; by default the real one.

    ``http_transport``: certificates and SubscribeURLs (None: the network).
    ``sns_client_factory``: SNS clients by region for ConfirmSubscription (None: no
    credentials, so SubscribeURLs are requested instead).
    ``ses_client``: SES v2 for /v1/send (None: built from the settings on the first send).
    ``clock``: the time SNS messages are checked and stored at, and the change feed's
    upkeep (the expiry sweep, retention) runs at.
    ``ses_sync_clients``: SES v2 clients by region for the suppression-list sync (None:
    built from the settings and the credentials, SES_ENDPOINT_URL included).
    ``webhook_transport``: where webhook deliveries go (None: the network). Apart from
    ``http_transport``, which tests script for certificates.
    """

    http_transport: httpx.AsyncBaseTransport | None = None
    sns_client_factory: SnsClientFactory | Lookup | None = Lookup.FROM_CREDENTIALS
    ses_client: SESV2Client | None = None
    clock: Callable[[], datetime] = utcnow
    ses_sync_clients: Callable[[str], SESV2Client] | None = None
    webhook_transport: httpx.AsyncBaseTransport | None = None

    def http_client(self) -> httpx.AsyncClient:
        """The client for certificates and SubscribeURLs: short time-outs, no redirects."""
        return httpx.AsyncClient(timeout=5.0, follow_redirects=False, transport=self.http_transport)

    def sns_clients(self) -> SnsClientFactory | None:
        if self.sns_client_factory is Lookup.FROM_CREDENTIALS:
            return make_sns_client_factory()
        return self.sns_client_factory


@dataclass(frozen=True)
class Services:
    """Everything the web app's routes and middleware use, each built once at start."""

    settings: Settings
    database: Database
    http: httpx.AsyncClient
    tokens: TokenRegistry
    ingest: Ingest
    subscribing: Subscribing
    sender: SesSender
    gauges: ListGauges
    ses_sync: SesSync
    deliverer: Deliverer

    async def aclose(self) -> None:
        # Each closed whatever the one before raised: a failing sender must not leave the
        # database's connections open.
        try:
            await self.sender.aclose()
        finally:
            try:
                await self.http.aclose()
            finally:
                try:
                    await self.deliverer.aclose()
                finally:
                    await self.database.dispose()


# How the web app opens its database: migrating it at start (AUTO_MIGRATE), which a
# command never does.
OpenDatabase = Callable[[Settings], Awaitable[Database]]


async def build_services(
    settings: Settings, edges: Edges, *, open_database: OpenDatabase
) -> Services:
    """Raises UnsafePath (a token file someone else could have planted) before the
    database is touched, and whatever ``open_database`` raises."""
    tokens = TokenRegistry.from_settings(
        settings.API_TOKENS, settings.API_READ_TOKENS, data_dir=settings.DATA_DIR
    )
    database = await open_database(settings)
    http = edges.http_client()
    try:
        subscribing = build_subscribing(settings, database, http, edges)
        return Services(
            settings=settings,
            database=database,
            http=http,
            tokens=tokens,
            ingest=build_ingest(settings, database, http, subscribing, edges),
            subscribing=subscribing,
            sender=SesSender.from_settings(settings, database, client=edges.ses_client),
            gauges=ListGauges(),
            ses_sync=build_ses_sync(
                settings, database, client_factory=edges.ses_sync_clients, clock=edges.clock
            ),
            deliverer=Deliverer(
                database,
                retry_seconds=settings.WEBHOOK_RETRY_SECONDS,
                timeout_seconds=settings.WEBHOOK_TIMEOUT_SECONDS,
                clock=edges.clock,
                transport=edges.webhook_transport,
            ),
        )
    except BaseException:
        await http.aclose()
        await database.dispose()
        raise


def build_subscribing(
    settings: Settings, database: Database, http: httpx.AsyncClient, edges: Edges
) -> Subscribing:
    """Looks the SNS clients up, as ``Edges.sns_clients`` does: call it at start."""
    return Subscribing(
        database=database,
        confirmer=SubscriptionConfirmer(http, sns_client_factory=edges.sns_clients()),
        auto_confirm=settings.SNS_AUTO_CONFIRM,
        clock=edges.clock,
    )


def build_ingest(
    settings: Settings,
    database: Database,
    http: httpx.AsyncClient,
    subscribing: Subscribing,
    edges: Edges,
) -> Ingest:
    return Ingest(
        database=database,
        verifier=_verifier(settings, http, max_age_seconds=settings.SNS_MAX_AGE_SECONDS),
        subscribing=subscribing,
        rules=_rules(settings),
        clock=edges.clock,
    )


def build_queue_ingest(
    settings: Settings,
    database: Database,
    http: httpx.AsyncClient,
    subscribing: Subscribing,
    edges: Edges,
    *,
    accept_unsigned: bool,
) -> QueueIngest:
    """The core of `bouncer consume` and `bouncer replay`: envelopes verified as /sns
    verifies them, but as old as a queue keeps a message (SQS_MAX_AGE_SECONDS)."""
    if accept_unsigned:
        log.warning(
            "unsigned SES and EventBridge events are accepted: the queue's access policy "
            "is the only check on who sent them"
        )
    return QueueIngest(
        database=database,
        verifier=_verifier(settings, http, max_age_seconds=settings.SQS_MAX_AGE_SECONDS),
        subscribing=subscribing,
        rules=_rules(settings),
        clock=edges.clock,
        accept_unsigned=accept_unsigned,
    )


def _verifier(settings: Settings, http: httpx.AsyncClient, *, max_age_seconds: int) -> Verifier:
    allowlist = TopicAllowlist(settings.SNS_TOPIC_ARNS)
    if (too_wide := allowlist.warning()) is not None:
        log.warning(too_wide)
    elif not settings.SNS_TOPIC_ARNS:
        log.warning("SNS_TOPIC_ARNS is empty: every SNS message will be refused")
    if not settings.SNS_VERIFY_SIGNATURES:
        log.warning("SNS_VERIFY_SIGNATURES=false: signatures are not checked (emulators only)")
    return Verifier(
        CertificateStore(http, cert_dir=settings.SNS_CERT_DIR),
        allowlist,
        min_signature_version=settings.SNS_MIN_SIGNATURE_VERSION,
        max_age_seconds=max_age_seconds,
        verify_signatures=settings.SNS_VERIFY_SIGNATURES,
    )


def _rules(settings: Settings) -> policy.Rules:
    return policy.Rules(
        soft_bounce_limit=settings.SOFT_BOUNCE_LIMIT,
        soft_bounce_window_days=settings.SOFT_BOUNCE_WINDOW_DAYS,
        soft_bounce_suppress_days=settings.SOFT_BOUNCE_SUPPRESS_DAYS,
    )


def build_ses_sync(
    settings: Settings,
    database: Database,
    *,
    client_factory: Callable[[str], SESV2Client] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> SesSync:
    """The SES list sync (SPEC §7); by default its clients are SES's in each region (or
    SES_ENDPOINT_URL's, an emulator), on the standard AWS credential chain."""
    factory = client_factory or functools.partial(
        suppressed.make_client, endpoint_url=settings.SES_ENDPOINT_URL
    )
    return SesSync.from_settings(settings, database, client_factory=factory, clock=clock)
