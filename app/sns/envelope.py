"""Parse the body and headers of one SNS HTTP(S) POST into a checked, typed SnsMessage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from app.errors import EnvelopeInvalid, RawDeliveryRefused
from app.sns import strict_json
from app.sns.topics import region_of_topic
from app.vocabulary import SnsMessageType

NOTIFICATION = SnsMessageType.NOTIFICATION
SUBSCRIPTION_CONFIRMATION = SnsMessageType.SUBSCRIPTION_CONFIRMATION
UNSUBSCRIBE_CONFIRMATION = SnsMessageType.UNSUBSCRIBE_CONFIRMATION
MESSAGE_TYPES = (NOTIFICATION, SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION)

# Every message type carries these, as strings.
# https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
_REQUIRED = ("MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature")

# Lambda records and some relays spell the URL fields in camel case; the official
# validators read both spellings as the same field.
_SPELLINGS = {
    "SigningCertURL": ("SigningCertURL", "SigningCertUrl"),
    "SubscribeURL": ("SubscribeURL", "SubscribeUrl"),
    "UnsubscribeURL": ("UnsubscribeURL", "UnsubscribeUrl"),
}

# SNS message ids are UUIDs (36 characters) and topic ARNs at most 309 characters
# (arn:aws-us-gov:sns:us-gov-west-1:<account>:<256-character name>.fifo); these bounds,
# the widths bouncer stores them in (app.models), leave room and refuse only what no
# SNS topic sends. Nor does a NUL, which PostgreSQL cannot store (a line break is refused
# later, as a signing trick: signature.check_single_line).
# https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
# https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
MAX_MESSAGE_ID = 128
MAX_TOPIC_ARN = 1024

# The headers SNS adds to each POST, and the body field each must agree with.
# https://docs.aws.amazon.com/sns/latest/dg/http-header.html
_HEADERS = {
    "x-amz-sns-message-type": "Type",
    "x-amz-sns-message-id": "MessageId",
    "x-amz-sns-topic-arn": "TopicArn",
}


@dataclass(frozen=True)
class SnsMessage:
    type: str
    message_id: str
    topic_arn: str
    message: str
    timestamp: datetime
    timestamp_raw: str
    signature_version: str
    signature: str
    signing_cert_url: str
    subject: str | None
    token: str | None
    subscribe_url: str | None
    unsubscribe_url: str | None
    raw: Mapping[str, Any] = field(compare=False, repr=False)

    @property
    def region(self) -> str:
        return region_of_topic(self.topic_arn)


def parse_envelope(body: bytes, headers: Mapping[str, str]) -> SnsMessage:
    """Raises EnvelopeInvalid (RawDeliveryRefused for raw delivery) naming what is wrong."""
    lowered = {key.lower(): value for key, value in headers.items()}
    # Raw delivery strips the envelope, signature included, so nothing can be verified.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html
    if lowered.get("x-amz-sns-rawdelivery", "").strip().lower() == "true":
        raise RawDeliveryRefused(
            "raw message delivery is on for this subscription: "
            "turn it off so messages carry signatures"
        )
    data = _decode(body)
    kind = data.get("Type")
    if kind not in MESSAGE_TYPES:
        shown = "missing" if kind is None else _shown(kind)
        raise EnvelopeInvalid(
            f"Type is {shown}: an SNS envelope has Type Notification, "
            "SubscriptionConfirmation or UnsubscribeConfirmation"
        )
    fields = {name: _required(data, name) for name in _REQUIRED}
    urls = {name: _spelled(data, name) for name in _SPELLINGS}
    signing_cert_url = _present(urls, "SigningCertURL", kind)
    is_confirmation = kind != NOTIFICATION
    token = _required(data, "Token") if is_confirmation else None
    subscribe_url = _present(urls, "SubscribeURL", kind) if is_confirmation else None
    _check_identifier(fields, "MessageId", MAX_MESSAGE_ID, "a UUID")
    _check_identifier(fields, "TopicArn", MAX_TOPIC_ARN, "an SNS topic ARN")
    region_of_topic(fields["TopicArn"])
    for name, value in lowered.items():
        expected = _HEADERS.get(name)
        if expected is not None and value != data[expected]:
            raise EnvelopeInvalid(
                f"header {name} is {_shown(value)} but the body's {expected} is "
                f"{_shown(data[expected])}: they must agree"
            )
    return SnsMessage(
        type=kind,
        message_id=fields["MessageId"],
        topic_arn=fields["TopicArn"],
        message=fields["Message"],
        timestamp=_timestamp(fields["Timestamp"]),
        timestamp_raw=fields["Timestamp"],
        signature_version=fields["SignatureVersion"],
        signature=fields["Signature"],
        signing_cert_url=signing_cert_url,
        # Only a Notification signs Subject, and only confirmations sign Token and
        # SubscribeURL: an unsigned copy is never handed on.
        subject=None if is_confirmation else _optional(data, "Subject"),
        token=token,
        subscribe_url=subscribe_url,
        unsubscribe_url=urls["UnsubscribeURL"],
        raw=MappingProxyType(data),
    )


def _check_identifier(fields: Mapping[str, str], name: str, limit: int, what: str) -> None:
    value = fields[name]
    if len(value) > limit:
        raise EnvelopeInvalid(
            f"{name} is {len(value)} characters long; SNS sends {what}, at most {limit} characters"
        )
    if "\x00" in value:
        raise EnvelopeInvalid(f"{name} contains a NUL character; SNS sends {what}")


def _decode(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise EnvelopeInvalid(
            f"the body is not valid UTF-8 ({err.reason} at byte {err.start})"
        ) from None
    try:
        data = strict_json.loads(text)
    except strict_json.DuplicateKey as err:
        # Two values for one key could let the signed value differ from the used one.
        raise EnvelopeInvalid(f"the body repeats the key {_shown(err.key)}") from None
    except ValueError as err:
        raise EnvelopeInvalid(f"the body is not JSON ({err}): SNS posts a JSON envelope") from None
    except RecursionError:
        raise EnvelopeInvalid("the body nests JSON too deeply to be an SNS envelope") from None
    if not isinstance(data, dict):
        raise EnvelopeInvalid(
            f"the body is a JSON {type(data).__name__}, not the JSON object SNS posts"
        )
    return data


def _required(data: Mapping[str, Any], name: str) -> str:
    value = _optional(data, name)
    if value is None:
        raise EnvelopeInvalid(f"{name} is missing: an SNS envelope must carry it")
    return value


def _present(urls: Mapping[str, str | None], name: str, kind: str) -> str:
    value = urls[name]
    if value is None:
        raise EnvelopeInvalid(f"{name} is missing: a {kind} envelope must carry it")
    return value


def _optional(data: Mapping[str, Any], name: str) -> str | None:
    # A null is read as absent, as the official validators do for Lambda's "Subject": null.
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EnvelopeInvalid(f"{name} must be a JSON string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate escape ("\ud800") decodes to text no UTF-8 signer produced.
        raise EnvelopeInvalid(f"{name} contains an unpaired UTF-16 surrogate escape") from None
    return value


def _spelled(data: Mapping[str, Any], name: str) -> str | None:
    values = {spelling: _optional(data, spelling) for spelling in _SPELLINGS[name]}
    present = {value for value in values.values() if value is not None}
    if len(present) > 1:
        raise EnvelopeInvalid(f"the body carries {' and '.join(values)} with different values")
    return present.pop() if present else None


def _timestamp(raw: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise EnvelopeInvalid(
            f"Timestamp {_shown(raw)} is not an ISO-8601 time with a zone "
            "(SNS sends 2024-01-31T12:00:00.000Z)"
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        # SNS stamps the publish time in UTC ("Z"); an offset can push a year-1 or
        # year-9999 time outside what a datetime holds, which must be a 400, not a 500.
        # https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
        raise EnvelopeInvalid(
            f"Timestamp {_shown(raw)} lies outside the years 1 to 9999 once converted "
            "to UTC (SNS sends 2024-01-31T12:00:00.000Z)"
        ) from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
