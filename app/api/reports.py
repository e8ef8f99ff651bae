"""/v1/events and /v1/stats: the event history and the account's rates."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from app.activity import event_log as history
from app.activity import stats
from app.addresses import InvalidAddress, normalize_address
from app.api.deps import ReadAccess, SessionDep
from app.api.schemas import EventCursor, EventOut, EventPageOut, Moment, Text, error_responses
from app.errors import InvalidInput

router = APIRouter(prefix="/v1", tags=["events and stats"])


@router.get(
    "/events",
    summary="The event history, newest first",
    response_model=EventPageOut,
    responses=error_responses(401, 422, 503),
)
async def list_events(
    session: SessionDep,
    _: ReadAccess,
    email: Annotated[str | None, Query(max_length=998)] = None,
    type: Annotated[Text | None, Query(examples=["Bounce"], max_length=32)] = None,
    since: Annotated[Moment | None, Query(description="at or after (no offset: UTC)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        EventCursor | None, Query(description="next_cursor of the page before")
    ] = None,
) -> EventPageOut:
    key = None
    if email is not None:
        try:
            key = normalize_address(email)
        except InvalidAddress as err:
            raise InvalidInput(str(err), field="email") from err
    page = await history.page(
        session,
        email=key,
        type=type,
        since=since,
        before_id=cursor,
        limit=limit,
    )
    return EventPageOut(
        items=[EventOut.model_validate(e) for e in page.items],
        next_cursor=str(page.next_id) if page.next_id is not None else None,
    )


@router.get(
    "/stats",
    summary="Sends, deliveries, bounces and complaints, and the rates SES judges",
    responses=error_responses(401, 422, 503),
)
async def get_stats(
    session: SessionDep,
    _: ReadAccess,
    window: Literal["24h", "7d", "30d"] = "24h",
) -> dict[str, Any]:
    result = await stats.compute(session, window=window, now=datetime.now(UTC))
    body = dataclasses.asdict(result)
    body["levels"] = {
        "bounce_rate": {"review": stats.BOUNCE.review, "pause": stats.BOUNCE.pause},
        "complaint_rate": {"review": stats.COMPLAINT.review, "pause": stats.COMPLAINT.pause},
    }
    return body
