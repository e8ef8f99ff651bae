"""/v1/subscriptions: the SNS subscriptions seen at /sns, and confirming pending ones."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.bodies import CheckedJsonRoute
from app.api.deps import ReadAccess, WriteAccess
from app.api.schemas import ConfirmIn, SubscriptionOut, error_responses
from app.ingest import Ingest

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], route_class=CheckedJsonRoute)


def _ingest(request: Request) -> Ingest:
    ingest: Ingest = request.app.state.ingest
    return ingest


@router.get(
    "",
    summary="The SNS subscriptions seen: topic, status, when",
    response_model=list[SubscriptionOut],
    responses=error_responses(401, 503),
)
async def list_subscriptions(request: Request, _: ReadAccess) -> list[SubscriptionOut]:
    rows = await _ingest(request).subscriptions()
    return [SubscriptionOut.model_validate(row) for row in rows]


@router.post(
    "/confirm",
    summary="Confirm a pending subscription (SNS_AUTO_CONFIRM=false) or retry a failed one",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def confirm(body: ConfirmIn, request: Request, _: WriteAccess) -> dict[str, str]:
    status = await _ingest(request).confirm_pending(body.topic_arn)
    return {"topic_arn": body.topic_arn, "status": status}
