"""Send through Amazon SES v2 after dropping every suppressed recipient (SPEC §5)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Self

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.exc import SQLAlchemyError

from app import metrics, opening
from app.activity import send_log as sends
from app.db import Database
from app.errors import AllRecipientsSuppressed, DatabaseUnavailable, SesRejected
from app.ses.failures import Backoff, FailureContext, is_retryable, rejection
from app.ses.request import SendRequest, build_params, collect_recipients, sender_of
from app.settings import Settings
from app.suppression import entry_store
from app.vocabulary import SendOutcome

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client
    from types_boto3_sesv2.type_defs import SendEmailRequestTypeDef

__all__ = [
    "SES_CONFIG",
    "SendRequest",
    "SendResult",
    "Sender",
    "SesSender",
    "SuppressedRecipient",
    "make_ses_client",
]

log = logging.getLogger("bouncer.send")

# SendEmail is not idempotent: botocore's retries would also repeat 5xx answers and read
# time-outs, after which SES may have sent the message already. So botocore makes one
# attempt and SesSender retries only what is_retryable() knows to be safe.
SES_CONFIG = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "total_max_attempts": 1},
)


def make_ses_client(settings: Settings) -> SESV2Client:
    # A session of its own: boto3's default session is not thread-safe to create.
    # https://boto3.amazonaws.com/v1/documentation/api/latest/guide/session.html
    return boto3.session.Session().client(
        "sesv2",
        region_name=settings.AWS_REGION,
        endpoint_url=settings.SES_ENDPOINT_URL,
        config=SES_CONFIG,
    )


@dataclass(frozen=True)
class SuppressedRecipient:
    email: str  # normalised
    reason: str


@dataclass(frozen=True)
class SendResult:
    message_id: str
    sent_to: list[str]  # normalised
    suppressed: list[SuppressedRecipient]


Sleep = Callable[[float], Awaitable[None]]
DEFAULT_BACKOFF = Backoff()


class SesSender:
    """Checks every recipient in one query, drops the suppressed, sends the rest, records it."""

    def __init__(
        self,
        client: SESV2Client | Callable[[], SESV2Client],
        database: Database,
        *,
        configuration_set: str | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        # A factory is called once, off the event loop, on the first send: building a
        # client reads files, and it may never be needed.
        self._factory = client if callable(client) else None
        self._client = None if callable(client) else client
        self._lock = asyncio.Lock()
        self._database = database
        self._configuration_set = configuration_set
        self._backoff = backoff
        self._sleep = sleep

    @classmethod
    def from_settings(
        cls, settings: Settings, database: Database, *, client: SESV2Client | None = None
    ) -> SesSender:
        return cls(
            client or (lambda: make_ses_client(settings)),
            database,
            configuration_set=settings.SES_CONFIGURATION_SET,
        )

    async def send(self, request: SendRequest, *, actor: str | None = None) -> SendResult:
        """Sends to the recipients not on the list; AllRecipientsSuppressed or SesRejected."""
        recipients = collect_recipients(request)
        async with self._database.read() as session:
            active = await entry_store.check(session, [r.key for r in recipients], now=_now())
        allowed = [r for r in recipients if r.key not in active]
        dropped = [(r.key, active[r.key]) for r in recipients if r.key in active]
        record = _Record(sender_of(request) or "", dropped, self._configuration_set_for(request))
        if not allowed:
            await self._record(record, SendOutcome.ALL_SUPPRESSED, actor=actor)
            raise AllRecipientsSuppressed(dropped)
        params = build_params(request, allowed, configuration_set=record.configuration_set)
        try:
            message_id = await self._send_email(params, request)
        except SesRejected as err:
            await self._record(record, SendOutcome.SES_ERROR, actor=actor, ses_code=err.ses_code)
            raise
        sent_to = [r.key for r in allowed]
        await self._record(
            record, SendOutcome.SENT, actor=actor, sent_to=sent_to, message_id=message_id
        )
        return SendResult(message_id, sent_to, [SuppressedRecipient(*d) for d in dropped])

    async def aclose(self) -> None:
        """Closes the client if this sender built it; one passed in stays its owner's."""
        if self._factory is not None and self._client is not None:
            await asyncio.to_thread(self._client.close)
            self._client = None

    def _configuration_set_for(self, request: SendRequest) -> str | None:
        return request.configuration_set or self._configuration_set

    async def _get_client(self) -> SESV2Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                assert self._factory is not None  # noqa: S101  (one of the two is set)
                self._client = await asyncio.to_thread(self._factory)
            return self._client

    async def _send_email(self, params: SendEmailRequestTypeDef, request: SendRequest) -> str:
        client = await self._get_client()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await asyncio.to_thread(lambda: client.send_email(**params))
            except (ClientError, BotoCoreError) as err:
                if attempt <= self._backoff.retries and is_retryable(err):
                    await self._sleep(self._backoff.delay(attempt))
                    continue
                context = FailureContext(
                    region=client.meta.region_name,
                    endpoint=client.meta.endpoint_url,
                    configuration_set=params.get("ConfigurationSetName"),
                    template=request.template,
                    attempts=attempt,
                )
                raise rejection(err, context) from err
            return response["MessageId"]

    async def _record(
        self,
        record: _Record,
        outcome: SendOutcome,
        *,
        actor: str | None,
        sent_to: list[str] | None = None,
        message_id: str | None = None,
        ses_code: str | None = None,
    ) -> None:
        label = "partial" if outcome == SendOutcome.SENT and record.suppressed else outcome
        metrics.SENDS.labels(outcome=label).inc()
        log.info(
            "send %s",
            label,
            extra={
                "ses_message_id": message_id,
                "recipients": len(sent_to or []),
                "suppressed": len(record.suppressed),
                "ses_code": ses_code,
                "actor": actor,
            },
        )
        try:
            async with self._database.session() as session:
                await sends.record_send(
                    session,
                    sender=record.sender,
                    sent_to=sent_to or [],
                    suppressed=record.suppressed,
                    configuration_set=record.configuration_set,
                    outcome=outcome,
                    now=_now(),
                    ses_message_id=message_id,
                    ses_code=ses_code,
                    actor=actor,
                )
        except (SQLAlchemyError, OSError, DatabaseUnavailable):
            # What happened to the message is settled: failing the call now would make the
            # caller send again what SES may already have accepted. The stats lose one row.
            log.exception("could not record the send", extra={"ses_message_id": message_id})


@dataclass(frozen=True)
class _Record:
    sender: str
    suppressed: list[tuple[str, str]]
    configuration_set: str | None


def _now() -> datetime:
    return datetime.now(UTC)


class Sender:
    """The send wrapper for in-process use: holds its own database engine and SES client.

    ``async with Sender.from_settings(settings) as sender: await sender.send(SendRequest(...))``
    """

    def __init__(self, ses: SesSender, database: Database) -> None:
        self._ses = ses
        self._database = database
        self._configured = True

    @classmethod
    def from_settings(cls, settings: Settings, *, client: SESV2Client | None = None) -> Sender:
        # Never a new SQLite file: a Sender on an empty list would mail known bouncers.
        database = Database(opening.no_create_url(settings.database_url))
        sender = cls(SesSender.from_settings(settings, database, client=client), database)
        sender._configured = bool(settings.DATABASE_URL)
        return sender

    async def send(self, request: SendRequest, *, actor: str | None = None) -> SendResult:
        return await self._ses.send(request, actor=actor)

    async def aclose(self) -> None:
        await self._ses.aclose()
        await self._database.dispose()

    async def __aenter__(self) -> Self:
        """Check the database exists and is migrated (opening.DatabaseNotReady if not)."""
        try:
            await opening.verify(self._database, configured=self._configured)
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
