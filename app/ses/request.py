"""What to send through SES: the request, its checks, its recipients and the SendEmail call."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import errors as email_errors
from email import policy
from email.parser import Parser
from email.utils import formataddr
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.addresses import InvalidAddress, domain_of, parse_address
from app.ses.headers import display_name, strip_bcc

if TYPE_CHECKING:
    from types_boto3_sesv2.type_defs import (
        BodyTypeDef,
        ContentTypeDef,
        DestinationTypeDef,
        EmailContentTypeDef,
        SendEmailRequestTypeDef,
    )

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
    configuration_set: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{0,64}$", description="default SES_CONFIGURATION_SET"
    )
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
    name = display_name(raw) if with_name else ""
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
