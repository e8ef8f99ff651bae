"""The webhooks' shapes on the wire (SPEC §10): an endpoint, its secret once, its deliveries."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.vocabulary import DeliveryStatus
from app.webhooks.endpoints import MAX_URL, TYPES
from app.webhooks.registry import EndpointStatus

_ID = "wh_8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Checked by app.webhooks.endpoints.check_url (length, scheme, host, port…), which
    # says what is wrong.
    url: str = Field(
        examples=["https://hooks.example.com/bouncer"],
        description=f"http or https, at most {MAX_URL} characters; a private or loopback "
        "host is allowed. Shown to write tokens only: it may carry credentials",
    )
    types: list[str] = Field(
        default_factory=lambda: list(TYPES),
        max_length=100,
        examples=[["suppression.added", "suppression.removed"]],
        description="the event types to deliver; left out: all of " + ", ".join(TYPES),
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(examples=[_ID])
    url: str = Field(examples=["https://hooks.example.com/bouncer"])
    types: list[str] = Field(examples=[list(TYPES)])
    created_at: datetime
    created_by: str = Field(examples=["ops"], description="the token's name, or cli")
    status: EndpointStatus = Field(
        examples=["active"],
        description="failing: a delivery ran out of retries (24 h) since failing_since; "
        "active again after a 2xx",
    )
    failing_since: datetime | None = None
    last_error: str | None = Field(
        default=None, examples=[None], description="what the last failed delivery got"
    )


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        description="signs every delivery (Standard Webhooks); shown only in this answer",
    )


class WebhookListOut(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: str | None = Field(
        examples=["evt_3f0c9d7e2b8a4c1d9e6f5a4b3c2d1e0f"],
        description="the event's id (GET /v1/changes) and webhook-id; null once the event "
        "was deleted (CHANGES_RETENTION_DAYS)",
    )
    type: str | None = Field(examples=["suppression.added"])
    status: DeliveryStatus = Field(examples=["delivered"])
    attempt: int = Field(examples=[1], description="the tries made so far")
    status_code: int | None = Field(examples=[204], description="the last try's answer")
    error: str | None = Field(examples=[None], description="why the last try failed")
    at: datetime | None = Field(description="when the last try ended; null before the first")
    next_attempt_at: datetime | None = Field(description="when a pending one is tried next")


class DeliveryPageOut(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for older deliveries; null: none older"
    )
