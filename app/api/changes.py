"""/v1/changes: the change feed, oldest first (SPEC §10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.activity import change_feed
from app.api.change_schemas import FeedItemOut, FeedPageOut
from app.api.deps import ReadAccess, SessionDep
from app.api.schemas import error_responses

router = APIRouter(prefix="/v1", tags=["change feed and webhooks"])


@router.get(
    "/changes",
    summary="The list's changes and the refused sends, oldest first",
    response_model=FeedPageOut,
    responses=error_responses(401, 422, 503),
)
async def list_changes(
    session: SessionDep,
    _: ReadAccess,
    cursor: Annotated[
        str | None,
        Query(max_length=32, description="next_cursor of the page before; none: the oldest kept"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=change_feed.MAX_PAGE)] = 100,
) -> FeedPageOut:
    after = 0 if cursor is None else change_feed.decode_cursor(cursor)
    # The events committed since the last placing get their positions first, so the page
    # holds everything committed before this call (activity.change_feed).
    await change_feed.place(session)
    page = await change_feed.page(session, after, limit=limit)
    return FeedPageOut(
        items=[FeedItemOut.model_validate(row) for row in page.items],
        next_cursor=str(page.next),
    )
