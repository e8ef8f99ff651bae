"""/console/subscriptions: the SNS subscriptions seen at /sns, and confirming a pending or
failed one, as GET /v1/subscriptions and POST /v1/subscriptions/confirm do; and the webhook
endpoints the change feed goes to, each shown by its origin only."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from app.api.deps import SessionDep
from app.api.state import services_of
from app.console.access import ViewerDep, check_form
from app.console.routing import ConsoleRoute
from app.console.templating import render
from app.errors import InvalidInput
from app.models import TOPIC_ARN_LENGTH
from app.vocabulary import SubscriptionStatus
from app.webhooks import registry

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

# What Subscribing.confirm_pending takes: a pending one (SNS_AUTO_CONFIRM=false) or one
# whose confirmation failed.
CONFIRMABLE = frozenset({SubscriptionStatus.PENDING, SubscriptionStatus.FAILED})

ConfirmedQuery = Annotated[str | None, Query(max_length=TOPIC_ARN_LENGTH)]


@router.get("/subscriptions")
async def subscriptions_page(
    request: Request, _: ViewerDep, session: SessionDep, confirmed: ConfirmedQuery = None
) -> Response:
    rows = await services_of(request.app).subscribing.list()
    # Read sessions see this page, and GET /v1/webhooks is for write tokens: an endpoint
    # is shown by its origin (Endpoint.origin), never its path, query or user info.
    webhooks = await registry.every(session)
    # The notice names a topic only when the list shows it confirmed: the query parameter
    # alone is never echoed.
    shown = next(
        (r.topic_arn for r in rows if r.topic_arn == confirmed and r.status == "confirmed"),
        None,
    )
    return render(
        request,
        "subscriptions.html",
        {
            "section": "subscriptions",
            "subscriptions": rows,
            "confirmable": CONFIRMABLE,
            "confirmed": shown,
            "webhooks": webhooks,
        },
    )


@router.post("/subscriptions/confirm")
async def confirm(request: Request, viewer: ViewerDep) -> Response:
    form = await request.form(max_files=0, max_fields=4, max_part_size=2 * TOPIC_ARN_LENGTH)
    check_form(request, viewer, form)
    topic_arn = form.get("topic_arn")
    if not isinstance(topic_arn, str) or not topic_arn.strip():
        raise InvalidInput("topic_arn: say which subscription to confirm", field="topic_arn")
    if "\x00" in topic_arn or len(topic_arn) > TOPIC_ARN_LENGTH:
        raise InvalidInput("topic_arn: that is not a topic ARN", field="topic_arn")
    # NotFound (404), not pending (422), SNS unreachable or refusing (503): error pages.
    await services_of(request.app).subscribing.confirm_pending(topic_arn)
    return RedirectResponse(
        f"/console/subscriptions?{urlencode({'confirmed': topic_arn})}", status_code=303
    )
