"""Response and request bodies of the ops API, documented with examples for /docs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from app import moments
from app.vocabulary import (
    ChangeAction,
    ConfirmedVia,
    EventType,
    Reason,
    Source,
    SubscriptionStatus,
    Verdict,
)

_EMAIL = "ann@example.com"


def _refuse_nul(value: str) -> str:
    # PostgreSQL text can hold no U+0000 (SQLite can): a NUL in a note or a filter would
    # fail in the database as a 500 on one backend only.
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "contains a NUL character (U+0000)")
    return value


Text = Annotated[str, AfterValidator(_refuse_nul)]
"""Free text from a caller that goes into a query or a row."""


def _to_moment(value: object) -> datetime:
    try:
        if isinstance(value, datetime):
            return moments.as_utc(value)
        if isinstance(value, str):
            return moments.parse_moment(value)
    except ValueError as err:
        raise PydanticCustomError("moment", "{problem}", {"problem": str(err)}) from err
    raise PydanticCustomError("moment", "a date must be text, such as 2026-12-01T10:00:00Z")


Moment = Annotated[
    datetime,
    PlainValidator(_to_moment),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A date or time from a caller, read by app.moments: without an offset it is UTC."""


# The event table's ids are BIGINT: anything past its largest value is no cursor we gave.
_MAX_EVENT_ID = 2**63 - 1


def _to_event_id(value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
        if 0 < number <= _MAX_EVENT_ID:
            return number
    raise PydanticCustomError(
        "cursor", "cursor is not a next_cursor this API returned; start again without it"
    )


EventCursor = Annotated[
    int,
    PlainValidator(_to_event_id),
    WithJsonSchema({"type": "string", "pattern": "^[1-9][0-9]{0,18}$"}),
]


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: EventType = Field(examples=["Bounce"])
    subtype: str | None = Field(examples=["General"])
    bounce_type: str | None = Field(examples=["Permanent"])
    email: str | None = Field(examples=[_EMAIL])
    verdict: Verdict = Field(description="what bouncer made of it", examples=["hard_bounce"])
    status: str | None = Field(examples=["5.1.1"])
    diagnostic_code: str | None = Field(examples=["smtp; 550 5.1.1 user unknown"])
    ses_message_id: str | None
    feedback_id: str | None
    sns_message_id: str
    occurred_at: datetime
    received_at: datetime


class ChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: ChangeAction = Field(
        examples=["added"],
        description="added, updated, removed, expired (its expires_at passed); noted: SES's "
        "account-level list holds the address too (SES_SYNC), the entry unchanged",
    )
    actor: str = Field(
        examples=["sns"],
        description="sns, a token's name, import, cli, sync:<region> (SES_SYNC), or expiry "
        "(the expiry sweep's expired lines)",
    )
    reason: Reason | None = Field(examples=["bounce"])
    expires_at: datetime | None
    note: str | None
    at: datetime
    source: Source | None = Field(
        examples=["sns"],
        description="known for the change that made the current entry, null for earlier ones",
    )


class SuppressionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str = Field(examples=[_EMAIL], description="the normalised address")
    display: str = Field(examples=["Ann@Example.com"], description="as first seen")
    reason: Reason = Field(examples=["bounce"])
    subtype: str | None = Field(examples=["General"])
    source: Source = Field(examples=["sns"], description="the door the entry came in by")
    diagnostic_code: str | None = Field(examples=["smtp; 550 5.1.1 user unknown"])
    ses_message_id: str | None
    feedback_id: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


class SuppressionDetail(SuppressionOut):
    events: list[EventOut] = Field(description="the SES events for this address, newest first")
    history: list[ChangeOut] = Field(description="every change to the entry, oldest first")


class NotSuppressed(BaseModel):
    email: str
    suppressed: bool = False
    history: list[ChangeOut] = Field(
        description="every earlier change, oldest first: who removed the address, when and why"
    )


class HistoryOut(BaseModel):
    email: str = Field(examples=[_EMAIL], description="the normalised address")
    suppressed: bool
    history: list[ChangeOut] = Field(description="every change, oldest first, removals included")


class CheckIn(BaseModel):
    emails: list[str] = Field(
        max_length=10_000,
        examples=[["ann@example.com", '"Bob" <bob@example.org>']],
        description="up to 10,000 addresses, in any form (display names, any case)",
    )


class InvalidOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str = Field(examples=["ann@"], description="as given")
    error: str = Field(
        examples=["'ann@' is not a valid email address: there is nothing after the @"]
    )


class CheckOut(BaseModel):
    suppressed: dict[str, Reason] = Field(
        examples=[{"ann@example.com": "bounce"}],
        description="the suppressed addresses, as given, with their reason",
    )
    allowed: list[str] = Field(examples=[['"Bob" <bob@example.org>']])
    invalid: list[InvalidOut] = Field(
        description="the addresses that are not valid, as given, with what is wrong with each"
    )


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        default="manual",
        examples=["manual"],
        description="manual, bounce, soft_bounce, complaint or unsubscribe",
    )
    note: Text | None = Field(default=None, max_length=2000, examples=["asked by support #4411"])
    expires_at: Moment | None = Field(
        default=None,
        description="when the entry stops suppressing (without an offset: UTC); none: until "
        "removed",
    )


class SuppressionPage(BaseModel):
    items: list[SuppressionOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: done")


class EventPageOut(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    topic_arn: str = Field(examples=["arn:aws:sns:us-east-1:123456789012:ses-bounces-topic-prod"])
    status: SubscriptionStatus = Field(
        examples=["confirmed"],
        description="failed: confirming it failed at updated_at; retry with POST "
        "/v1/subscriptions/confirm",
    )
    confirmed_via: ConfirmedVia | None = Field(examples=["api"])
    last_error: str | None = Field(
        default=None,
        examples=[None],
        description="why the last confirmation failed (status failed); null otherwise",
    )
    created_at: datetime
    updated_at: datetime


class ConfirmIn(BaseModel):
    topic_arn: Text


def error_responses(
    *codes: int, not_found: type[BaseModel] | None = None
) -> dict[int | str, dict[str, Any]]:
    meanings = {
        401: "no valid bearer token",
        403: "a read-only token tried to write",
        404: "not found",
        409: "conflict",
        422: "invalid input; `field` names it",
        502: "SES refused",
        503: "the database is unreachable; retry",
    }
    responses: dict[int | str, dict[str, Any]] = {
        code: {
            "description": meanings[code],
            "content": {"application/json": {"example": {"error": meanings[code]}}},
        }
        for code in codes
    }
    if not_found is not None:
        responses[404] = {"model": not_found, "description": "not on the list"}
    return responses
