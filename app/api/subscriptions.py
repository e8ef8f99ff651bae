"""/v1/subscriptions: the SNS subscriptions seen at /sns, and confirming pending ones."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.bodies import CheckedJsonRoute
from app.api.deps import ReadAccess, SubscribingDep, WriteAccess
from app.api.schemas import ConfirmIn, SubscriptionOut, error_responses

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], route_class=CheckedJsonRoute)


@router.get(
    "",
    summary="The SNS subscriptions seen: topic, status, when",
    response_model=list[SubscriptionOut],
    responses=error_responses(401, 503),
)
async def list_subscriptions(subscribing: SubscribingDep, _: ReadAccess) -> list[SubscriptionOut]:
    rows = await subscribing.list()
    return [SubscriptionOut.model_validate(row) for row in rows]


@router.post(
    "/confirm",
    summary="Confirm a pending subscription (SNS_AUTO_CONFIRM=false) or retry a failed one",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def confirm(body: ConfirmIn, subscribing: SubscribingDep, _: WriteAccess) -> dict[str, str]:
    status = await subscribing.confirm_pending(body.topic_arn)
    return {"topic_arn": body.topic_arn, "status": status}
