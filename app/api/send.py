"""POST /v1/send: send through SES, never to a suppressed address (SPEC §5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from app.api.bodies import CheckedJsonRoute
from app.api.deps import SenderDep, WriteAccess
from app.api.schemas import error_responses
from app.ses.request import SendRequest

router = APIRouter(prefix="/v1", tags=["send"], route_class=CheckedJsonRoute)


class SuppressedOut(BaseModel):
    email: str = Field(examples=["bob@example.org"], description="the normalised address")
    reason: str = Field(examples=["bounce"])


class SendOut(BaseModel):
    message_id: str = Field(
        examples=["0100018c-2f7a-4c1e-9f7e-8f1c5e0d6a11-000000"], description="SES's MessageId"
    )
    sent_to: list[str] = Field(
        examples=[["ann@example.org"]], description="the normalised recipients SES accepted"
    )
    suppressed: list[SuppressedOut] = Field(description="recipients dropped, with the reason")


class AllSuppressedOut(BaseModel):
    error: Literal["all_recipients_suppressed"]
    message: str
    suppressed: list[SuppressedOut]


class SesRejectedOut(BaseModel):
    error: str = Field(examples=["SES rejected the message: Email address is not verified. …"])
    ses_code: str = Field(examples=["MessageRejected"])


_EXAMPLES: dict[str, Any] = {
    "simple": {
        "summary": "Text and HTML",
        "value": {
            "from": '"Example Shop" <shop@example.com>',
            "to": ['"Ann" <ann@example.org>'],
            "bcc": ["archive@example.com"],
            "subject": "Your order has shipped",
            "text": "It is on its way.",
            "html": "<p>It is on its way.</p>",
            "configuration_set": "transactional",
            "tags": {"campaign": "shipping"},
        },
    },
    "raw": {
        "summary": "A MIME message (recipients from its headers; Bcc is stripped)",
        "value": {
            "raw": "From: shop@example.com\r\nTo: ann@example.org\r\nBcc: audit@example.com\r\n"
            "Subject: Hello\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8"
            "\r\n\r\nHello Ann\r\n"
        },
    },
    "template": {
        "summary": "An SES template",
        "value": {
            "from": "shop@example.com",
            "to": ["ann@example.org"],
            "template": "OrderShipped",
            "template_data": {"name": "Ann", "order": "A-1042"},
        },
    },
}


@router.post(
    "/send",
    summary="Send an email through SES to every recipient not on the suppression list",
    response_model=SendOut,
    responses=error_responses(401, 403, 422, 503)
    | {
        409: {"model": AllSuppressedOut, "description": "every recipient is suppressed"},
        502: {"model": SesRejectedOut, "description": "SES refused the send"},
    },
)
async def send(
    who: WriteAccess,
    body: Annotated[SendRequest, Body(openapi_examples=_EXAMPLES)],
    sender: SenderDep,
) -> SendOut:
    """Suppressed recipients are dropped and listed; with none left, 409 and SES is not called."""
    result = await sender.send(body, actor=who.name)
    return SendOut(
        message_id=result.message_id,
        sent_to=result.sent_to,
        suppressed=[SuppressedOut(email=s.email, reason=s.reason) for s in result.suppressed],
    )
