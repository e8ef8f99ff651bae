"""POST /sns: where Amazon SNS delivers notifications and subscription messages."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.deps import IngestDep, SettingsDep
from app.sns.basic_auth import check_basic_auth

router = APIRouter(tags=["sns"])

_BODY = {
    "required": True,
    "content": {
        "text/plain": {
            "schema": {"type": "string"},
            "example": '{"Type": "Notification", "MessageId": "…", "TopicArn": "…", …}',
        }
    },
    "description": "The SNS message exactly as SNS posts it (JSON, sent as text/plain).",
}

_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "stored (`processed`), `duplicate`, `confirmed`, `pending` or "
        "`unsubscribed`",
        "content": {"application/json": {"example": {"status": "processed"}}},
    },
    400: {"description": "not an SNS message, a field missing, headers disagree, raw delivery"},
    401: {"description": "SNS_BASIC_AUTH is set and the request has none of its credentials"},
    403: {"description": "bad signature, certificate, topic not allowed, or too old"},
    413: {"description": "body over 512 KiB"},
    503: {"description": "database or certificate host unreachable: SNS retries"},
}


@router.post(
    "/sns",
    summary="Receive an SNS message",
    openapi_extra={"requestBody": _BODY},
    responses=_RESPONSES,
)
async def receive(request: Request, settings: SettingsDep, ingest: IngestDep) -> dict[str, str]:
    check_basic_auth(request.headers.get("authorization"), settings.SNS_BASIC_AUTH)
    outcome = await ingest.receive(await request.body(), request.headers)
    return {"status": outcome.status}
