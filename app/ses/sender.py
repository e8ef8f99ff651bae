"""Send through Amazon SES v2 after dropping every suppressed recipient (SPEC §5)."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy
from email.parser import Parser
from email.utils import formataddr
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as ConnectFailed
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy.exc import SQLAlchemyError

from app import metrics
from app.addresses import InvalidAddress, domain_of, parse_address
from app.db import Database
from app.errors import AllRecipientsSuppressed, SesRejected
from app.ses import sends
from app.settings import Settings
from app.suppression import store

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client
    from types_boto3_sesv2.type_defs import (
        BodyTypeDef,
        ContentTypeDef,
        DestinationTypeDef,
        EmailContentTypeDef,
        SendEmailRequestTypeDef,
    )

log = logging.getLogger("bouncer.send")

# "The message may not include more than 50 recipients, across the To:, CC: and BCC: fields."
# https://docs.aws.amazon.com/ses/latest/APIReference/API_SendEmail.html
MAX_RECIPIENTS = 50
# https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_MessageTag.html
_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")
Kind = Literal["to", "cc", "bcc"]
_KINDS: tuple[Kind, ...] = ("to", "cc", "bcc")


def _check_address(value: str) -> str:
    try:
        parse_address(value)
    except InvalidAddress as err:
        raise PydanticCustomError("invalid_address", "{problem}", {"problem": str(err)}) from err
    return value.strip()


EmailAddress = Annotated[str, AfterValidator(_check_address)]


class SendRequest(BaseModel):
    """One message: simple content (subject + text/html), ``raw`` MIME, or an SES ``template``."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    from_: EmailAddress | None = Field(
        None,
        alias="from",
        description="verified sender; optional with raw when the message has a From header",
        examples=['"Example Shop" <shop@example.com>'],
    )
    to: list[EmailAddress] = Field(default_factory=list, examples=[["ann@example.org"]])
    cc: list[EmailAddress] = Field(default_factory=list)
    bcc: list[EmailAddress] = Field(default_factory=list)
    reply_to: list[EmailAddress] = Field(default_factory=list)
    subject: str | None = Field(None, examples=["Your order has shipped"])
    text: str | None = Field(None, examples=["It is on its way."])
    html: str | None = Field(None, examples=["<p>It is on its way.</p>"])
    raw: str | None = Field(
        None, description="a whole MIME message; its To/Cc/Bcc headers add recipients"
    )
    template: str | None = Field(None, description="an SES template name")
    template_data: dict[str, Any] | str | None = Field(
        None, description="the template's variables: an object or a JSON object as text"
    )
    configuration_set: str | None = Field(None, description="default SES_CONFIGURATION_SET")
    tags: dict[str, str] = Field(default_factory=dict, examples=[{"campaign": "shipping"}])

    @model_validator(mode="after")
    def _check_shape(self) -> Self:
        errors = [
            InitErrorDetails(
                type=PydanticCustomError("invalid_send", "{problem}", {"problem": problem}),
                loc=(field,),
                input=getattr(self, "from_" if field == "from" else field.split(".")[0]),
            )
            for field, problem in _problems(self)
        ]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    def template_json(self) -> str:
        if isinstance(self.template_data, str):
            return self.template_data
        return json.dumps(self.template_data or {}, ensure_ascii=False)


def _problems(request: SendRequest) -> Iterator[tuple[str, str]]:
    """(field, what is wrong) for each rule SendEmail would otherwise fail on, or worse."""
    kinds = [
        field
        for field, given in (
            ("text", any(v is not None for v in (request.subject, request.text, request.html))),
            ("raw", request.raw is not None),
            ("template", request.template is not None),
        )
        if given
    ]
    if not kinds:
        yield "text", "nothing to send: give subject and text/html, or raw, or template"
    elif len(kinds) > 1:
        yield kinds[1], "give exactly one of subject/text/html, raw or template"
    elif kinds == ["text"]:
        if not request.subject:
            yield "subject", "a simple message needs a subject"
        if request.text is None and request.html is None:
            yield "text", "a simple message needs text, html or both"
    if request.subject and ("\r" in request.subject or "\n" in request.subject):
        yield "subject", "the subject must be one line"
    if request.template_data is not None:
        if request.template is None:
            yield "template_data", "template_data is only for a template send"
        elif isinstance(request.template_data, str) and not _is_json_object(request.template_data):
            yield "template_data", "template_data must be a JSON object"
    if request.raw is not None and request.reply_to:
        yield "reply_to", "with raw, put a Reply-To header in the message instead"
    for name, value in request.tags.items():
        if not (_TAG.fullmatch(name) and _TAG.fullmatch(value)):
            yield f"tags.{name}", "tag names and values are 1-256 of A-Z a-z 0-9 _ -"
    yield from _recipient_problems(request)


def _recipient_problems(request: SendRequest) -> Iterator[tuple[str, str]]:
    try:
        recipients = collect_recipients(request)
        sender = sender_of(request)
    except ValueError as err:  # only the headers of raw are left unchecked by now
        yield "raw", str(err)
        return
    if not recipients:
        where = "to, cc, bcc or the To/Cc/Bcc headers of raw" if request.raw else "to, cc or bcc"
        yield "to", f"no recipients: give at least one in {where}"
    elif len(recipients) > MAX_RECIPIENTS:
        count = len(recipients)
        yield "to", f"SES takes at most {MAX_RECIPIENTS} recipients a message, not {count}"
    if not sender:
        yield "from", "from is required" + (" (or a From header in raw)" if request.raw else "")


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


@dataclass(frozen=True)
class Recipient:
    key: str  # normalised (SPEC §3): what the suppression list is checked against
    address: str  # as SES gets it: ASCII, punycode domain, display name MIME-encoded
    kind: Kind


def collect_recipients(request: SendRequest) -> list[Recipient]:
    """Every recipient once (the first mention wins): headers of ``raw``, then the lists."""
    headers = _raw_headers(request.raw) if request.raw is not None else None
    found: dict[str, Recipient] = {}
    for kind in _KINDS:
        for raw in _header_addresses(headers, kind):
            try:
                key, address = ses_address(raw, with_name=False)
            except InvalidAddress as err:
                where = f"{err.problem} (in the {kind.title()} header of raw)"
                raise InvalidAddress(raw, where) from err
            found.setdefault(key, Recipient(key, address, kind))
        for raw in getattr(request, kind):
            key, address = ses_address(raw, with_name=headers is None)
            found.setdefault(key, Recipient(key, address, kind))
    return list(found.values())


def sender_of(request: SendRequest) -> str | None:
    if request.from_ is not None or request.raw is None:
        return request.from_
    senders = _header_addresses(_raw_headers(request.raw), "from")
    return ses_address(senders[0], with_name=False)[1] if senders else None


def ses_address(raw: str, *, with_name: bool = True) -> tuple[str, str]:
    """(normalised key, the form SES accepts) for one address.

    SES takes 7-bit ASCII only: the domain in punycode and a non-ASCII display name as an
    RFC 2047 encoded-word. https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_Destination.html
    """
    parsed = parse_address(raw)
    spec = f"{parsed.display.rpartition('@')[0]}@{domain_of(parsed.normalized)}"
    name = ""
    if with_name and "<" in raw:
        found = policy.default.header_factory("To", raw).addresses
        name = found[0].display_name if len(found) == 1 else ""
    return parsed.normalized, formataddr((name, spec), charset="utf-8")


def _raw_headers(raw: str) -> Any:
    return Parser(policy=policy.default).parsestr(raw, headersonly=True)


def _header_addresses(headers: Any, name: str) -> list[str]:
    if headers is None:
        return []
    try:
        return [a.addr_spec for h in headers.get_all(name, []) for a in h.addresses]
    except (email_errors.MessageError, ValueError, IndexError, AttributeError) as err:
        # The lenient header parser still raises on some malformed input: a bad request, not a 500.
        raise ValueError(f"the {name.title()} header of raw cannot be read as addresses") from err


def strip_bcc(raw: str) -> str:
    """The message without its Bcc header fields, the body byte for byte as given.

    SES delivers a raw message as written, so a Bcc header would show every blind
    recipient to all the others; RFC 5322 §3.6.3 has the sender remove it.
    """
    kept: list[str] = []
    dropping = False
    lines = re.split(r"(?<=\n)", raw)
    for index, line in enumerate(lines):
        if line.strip("\r\n") == "":  # the blank line that ends the header section
            kept.extend(lines[index:])
            break
        if line[:1] not in (" ", "\t"):  # not a folded continuation: a new field
            dropping = line.split(":", 1)[0].strip().lower() == "bcc"
        if not dropping:
            kept.append(line)
    return "".join(kept)


def build_params(
    request: SendRequest, recipients: list[Recipient], *, configuration_set: str | None
) -> SendEmailRequestTypeDef:
    """The SendEmail call for these (already allowed) recipients."""
    by_kind = {kind: [r.address for r in recipients if r.kind == kind] for kind in _KINDS}
    destination: DestinationTypeDef = {}
    if by_kind["to"]:
        destination["ToAddresses"] = by_kind["to"]
    if by_kind["cc"]:
        destination["CcAddresses"] = by_kind["cc"]
    if by_kind["bcc"]:
        destination["BccAddresses"] = by_kind["bcc"]
    params: SendEmailRequestTypeDef = {"Destination": destination, "Content": _content(request)}
    if request.from_ is not None:
        params["FromEmailAddress"] = ses_address(request.from_)[1]
    if request.reply_to:
        params["ReplyToAddresses"] = [ses_address(a)[1] for a in request.reply_to]
    if configuration_set:
        params["ConfigurationSetName"] = configuration_set
    if request.tags:
        params["EmailTags"] = [{"Name": k, "Value": v} for k, v in request.tags.items()]
    return params


def _content(request: SendRequest) -> EmailContentTypeDef:
    if request.raw is not None:
        return {"Raw": {"Data": strip_bcc(request.raw).encode()}}
    if request.template is not None:
        data = request.template_json()
        return {"Template": {"TemplateName": request.template, "TemplateData": data}}
    # SES assumes 7-bit ASCII unless told the charset:
    # https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_Content.html
    body: BodyTypeDef = {}
    if request.text is not None:
        body["Text"] = {"Data": request.text, "Charset": "UTF-8"}
    if request.html is not None:
        body["Html"] = {"Data": request.html, "Charset": "UTF-8"}
    subject: ContentTypeDef = {"Data": request.subject or "", "Charset": "UTF-8"}
    return {"Simple": {"Subject": subject, "Body": body}}


# Throttling is SES refusing before it sends, so a retry cannot send twice. The daily quota
# also throttles, but waiting seconds will not lift it:
# https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html
_THROTTLING = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})
_CREDENTIALS = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
    }
)
_ADVICE = {
    "MessageRejected": "SES rejected the message: {detail}. Check that the From address or its "
    "domain is verified in {region} (in the SES sandbox, every recipient too) and that the "
    "content carries no virus or blocked attachment",
    "MailFromDomainNotVerifiedException": "SES refused the custom MAIL FROM domain of the "
    "sender: {detail}. Check its MX and SPF records",
    "AccountSendingPausedException": "SES has paused sending for this AWS account in "
    "{region}: {detail}. See the reputation dashboard in the SES console, fix the cause, "
    "then ask AWS to resume sending",
    "AccountSuspendedException": "SES has permanently restricted sending for this AWS account "
    "in {region}: {detail}. Contact AWS Support",
    "SendingPausedException": "sending is paused for this account or for configuration set "
    "{configuration_set} in {region}: {detail}. Resume it in the SES console",
    "NotFoundException": "SES could not find something the request names in {region} "
    "(configuration set {configuration_set}, template {template}): {detail}",
    "BadRequestException": "SES found the request invalid: {detail}",
    "LimitExceededException": "SES says a limit was exceeded: {detail}. Check the sending "
    "quota of the account in {region}",
    "Throttling": "SES throttled the send ({detail}) and {attempts} attempt(s) did not get "
    "through. Slow down, or ask AWS for a higher sending quota in {region}",
}


@dataclass(frozen=True)
class _Context:
    region: str
    endpoint: str
    configuration_set: str | None
    template: str | None
    attempts: int


def is_retryable(err: Exception) -> bool:
    """Failures after which SES certainly did not send: throttling, no connection made."""
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        daily = "daily" in str(error.get("Message", "")).lower()
        return error.get("Code") in _THROTTLING and not daily
    return isinstance(err, ConnectFailed)


def rejection(err: ClientError | BotoCoreError, context: _Context) -> SesRejected:
    """What went wrong, in words an operator can act on, with SES's own code."""
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        detail = str(error.get("Message") or code)
        if code in _CREDENTIALS:
            template = "SES refused bouncer's AWS credentials ({code}: {detail}). Check the " + (
                "credential chain and that it may call ses:SendEmail in {region}"
            )
        else:
            template = _ADVICE.get("Throttling" if code in _THROTTLING else code, "")
            template = template or "SES refused the send ({code}): {detail}"
        return SesRejected(
            template.format(code=code, detail=detail.rstrip("."), **vars(context)), ses_code=code
        )
    code = type(err).__name__
    if isinstance(err, ConnectFailed):
        message = (
            f"could not connect to SES at {context.endpoint} ({context.attempts} attempt(s)): "
            f"{err}. Check AWS_REGION, SES_ENDPOINT_URL and the network path to SES"
        )
    elif isinstance(err, ReadTimeoutError):
        message = (
            f"SES did not answer in time ({err}); the message may have been sent, so check "
            "the SES sending activity before sending it again"
        )
    elif "Credential" in code:
        message = (
            f"no usable AWS credentials ({err}): configure the standard AWS credential chain "
            "(environment variables, a profile or an instance role)"
        )
    else:
        message = f"calling SES failed: {err}"
    return SesRejected(message, ses_code=code)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with "equal jitter": half the step fixed, half random.

    https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
    """

    retries: int = 3
    base: float = 0.5
    cap: float = 8.0

    def delay(self, retry: int) -> float:
        step = min(self.cap, self.base * 2.0 ** (retry - 1))
        return step / 2 + random.uniform(0, step / 2)  # noqa: S311  (jitter, not a secret)


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


class SesSender:
    """Checks every recipient in one query, drops the suppressed, sends the rest, records it."""

    def __init__(
        self,
        client: SESV2Client | Callable[[], SESV2Client],
        database: Database,
        *,
        configuration_set: str | None = None,
        backoff: Backoff = Backoff(),
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
        async with self._database.session() as session:
            active = await store.check(session, [r.key for r in recipients], now=_now())
        allowed = [r for r in recipients if r.key not in active]
        dropped = [(r.key, active[r.key].reason) for r in recipients if r.key in active]
        record = _Record(sender_of(request) or "", dropped, self._configuration_set_for(request))
        if not allowed:
            await self._record(record, "all_suppressed", actor=actor)
            raise AllRecipientsSuppressed(dropped)
        params = build_params(request, allowed, configuration_set=record.configuration_set)
        try:
            message_id = await self._send_email(params, request)
        except SesRejected as err:
            await self._record(record, "ses_error", actor=actor, ses_code=err.ses_code)
            raise
        sent_to = [r.key for r in allowed]
        await self._record(record, "sent", actor=actor, sent_to=sent_to, message_id=message_id)
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
                context = _Context(
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
        outcome: sends.Outcome,
        *,
        actor: str | None,
        sent_to: list[str] | None = None,
        message_id: str | None = None,
        ses_code: str | None = None,
    ) -> None:
        label = "partial" if outcome == "sent" and record.suppressed else outcome
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
                )
        except (SQLAlchemyError, OSError):
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

    @classmethod
    def from_settings(cls, settings: Settings, *, client: SESV2Client | None = None) -> Sender:
        database = Database(settings.database_url)
        return cls(SesSender.from_settings(settings, database, client=client), database)

    async def send(self, request: SendRequest, *, actor: str | None = None) -> SendResult:
        return await self._ses.send(request, actor=actor)

    async def aclose(self) -> None:
        await self._ses.aclose()
        await self._database.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
