"""The change feed's and the webhooks' shapes on the wire (SPEC §10)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.vocabulary import ChangeType, Reason, Source


class FeedItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(
        validation_alias="uid",
        description="the event's id, also its webhook-id: the same across retries",
        examples=["evt_3f0c9d7e2b8a4c1d9e6f5a4b3c2d1e0f"],
    )
    type: ChangeType = Field(examples=["suppression.added"])
    email: str = Field(examples=["bounce@simulator.amazonses.com"])
    reason: Reason | None = Field(examples=["bounce"])
    subtype: str | None = Field(examples=["General"])
    source: Source | None = Field(
        examples=["sns"], description="the entry's door in; none for a removal"
    )
    actor: str | None = Field(examples=["sns"], description="who: sns, a token's name, …")
    note: str | None
    expires_at: datetime | None
    ses_message_id: str | None
    feedback_id: str | None
    at: datetime


class FeedPageOut(BaseModel):
    items: list[FeedItemOut]
    next_cursor: str = Field(
        description="always given: the position after the last item (or the cursor sent, "
        "when nothing is new); poll again from it"
    )
