"""/v1/webhooks: adding, listing and removing webhook endpoints, and their deliveries
(SPEC §10). Write tokens only, reading included: an endpoint's URL may carry credentials."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.bodies import CheckedJsonRoute
from app.api.deps import SessionDep, WriteAccess
from app.api.schemas import error_responses
from app.api.webhook_schemas import (
    DeliveryOut,
    DeliveryPageOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookListOut,
    WebhookOut,
)
from app.webhooks import registry
from app.webhooks.registry import Endpoint

router = APIRouter(
    prefix="/v1/webhooks", tags=["change feed and webhooks"], route_class=CheckedJsonRoute
)


def _out(endpoint: Endpoint) -> WebhookOut:
    return WebhookOut.model_validate(endpoint)


@router.post(
    "",
    status_code=201,
    summary="Add an endpoint; its secret is in this answer only",
    response_model=WebhookCreatedOut,
    responses=error_responses(401, 403, 422, 503),
)
async def add_webhook(body: WebhookIn, session: SessionDep, who: WriteAccess) -> WebhookCreatedOut:
    added = await registry.add(
        session, body.url, types=body.types, actor=who.name, now=datetime.now(UTC)
    )
    return WebhookCreatedOut.model_validate(
        {**_out(added.endpoint).model_dump(), "secret": added.secret}
    )


@router.get(
    "",
    summary="Every endpoint, oldest first, with where it stands (never its secret)",
    response_model=WebhookListOut,
    responses=error_responses(401, 403, 503),
)
async def list_webhooks(session: SessionDep, _: WriteAccess) -> WebhookListOut:
    return WebhookListOut(items=[_out(e) for e in await registry.every(session)])


@router.get(
    "/{webhook_id}",
    summary="One endpoint (never its secret)",
    response_model=WebhookOut,
    responses=error_responses(401, 403, 404, 503),
)
async def get_webhook(webhook_id: str, session: SessionDep, _: WriteAccess) -> WebhookOut:
    return _out(await registry.one(session, webhook_id))


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Remove an endpoint and its deliveries; nothing more is sent to it",
    responses=error_responses(401, 403, 404, 503),
)
async def remove_webhook(webhook_id: str, session: SessionDep, _: WriteAccess) -> Response:
    await registry.remove(session, webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    summary="The endpoint's deliveries, newest first",
    response_model=DeliveryPageOut,
    responses=error_responses(401, 403, 404, 422, 503),
)
async def list_deliveries(
    webhook_id: str,
    session: SessionDep,
    _: WriteAccess,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the page before; none: the newest")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=registry.MAX_PAGE)] = 100,
) -> DeliveryPageOut:
    page = await registry.deliveries(session, webhook_id, limit=limit, cursor=cursor)
    return DeliveryPageOut(
        items=[DeliveryOut.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )
