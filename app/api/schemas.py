"""Response and request bodies of the ops API, documented with examples for /docs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

_EMAIL = "ann@example.com"


def _refuse_nul(value: str) -> str:
    # PostgreSQL text can hold no U+0000 (SQLite can): a NUL in a note or a filter would
    # fail in the database as a 500 on one backend only.
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "contains a NUL character (U+0000)")
    return value


Text = Annotated[str, AfterValidator(_refuse_nul)]
"""Free text from a caller that goes into a query or a row."""


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str = Field(examples=["Bounce"])
    subtype: str | None = Field(examples=["General"])
    bounce_type: str | None = Field(examples=["Permanent"])
    email: str | None = Field(examples=[_EMAIL])
    verdict: str = Field(
        description="what bouncer made of it: hard_bounce, soft_bounce, complaint, "
        "unsubscribe, delivery or record_only",
        examples=["hard_bounce"],
    )
    status: str | None = Field(examples=["5.1.1"])
    diagnostic_code: str | None = Field(examples=["smtp; 550 5.1.1 user unknown"])
    ses_message_id: str | None
    feedback_id: str | None
    sns_message_id: str
    occurred_at: datetime
    received_at: datetime


class ChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str = Field(examples=["added"], description="added, updated or removed")
    actor: str = Field(examples=["sns"], description="sns, a token's name, import or cli")
    reason: str | None = Field(examples=["bounce"])
    expires_at: datetime | None
    note: str | None
    at: datetime


class SuppressionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str = Field(examples=[_EMAIL], description="the normalised address")
    display: str = Field(examples=["Ann@Example.com"], description="as first seen")
    reason: str = Field(examples=["bounce"])
    subtype: str | None = Field(examples=["General"])
    source: str = Field(examples=["sns"], description="sns, api, cli, import or sync")
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


class CheckIn(BaseModel):
    emails: list[str] = Field(
        max_length=10_000,
        examples=[["ann@example.com", '"Bob" <bob@example.org>']],
        description="up to 10,000 addresses, in any form (display names, any case)",
    )


class CheckOut(BaseModel):
    suppressed: dict[str, str] = Field(
        examples=[{"ann@example.com": "bounce"}],
        description="the suppressed addresses, as given, with their reason",
    )
    allowed: list[str] = Field(examples=[['"Bob" <bob@example.org>']])


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        default="manual",
        examples=["manual"],
        description="manual, bounce, soft_bounce, complaint or unsubscribe",
    )
    note: Text | None = Field(default=None, max_length=2000, examples=["asked by support #4411"])
    expires_at: datetime | None = Field(
        default=None, description="when the entry stops suppressing; none: until removed"
    )


class SuppressionPage(BaseModel):
    items: list[SuppressionOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: done")


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    topic_arn: str = Field(examples=["arn:aws:sns:us-east-1:123456789012:ses-bounces-topic-prod"])
    status: str = Field(examples=["confirmed"], description="pending, confirmed or unsubscribed")
    confirmed_via: str | None = Field(examples=["api"], description="api or url")
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
