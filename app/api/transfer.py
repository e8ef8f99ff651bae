"""/v1/suppressions/export and /import: the whole list as CSV or NDJSON, streamed."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.api.deps import DatabaseDep, ReadAccess, WriteAccess
from app.api.schemas import error_responses
from app.suppression import transfer

# Included before app.api.suppressions, whose GET /{email} would otherwise take "export".
router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"])

FormatQuery = Annotated[transfer.Format, Query(alias="format", description="csv or ndjson")]


# The body is read as a stream, so FastAPI cannot describe it; this tells /docs (and the
# schema fuzzing) what goes in it. The content type is not checked: ?format= decides.
_IMPORT_BODY = {
    "required": True,
    "description": "CSV with a header row (email, reason, note, expires_at, … as the export "
    "writes them) or NDJSON, one object a line; streamed, with no size limit",
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "email,reason,note\nann@example.com,manual,asked us\n",
        },
        "application/x-ndjson": {
            "schema": {"type": "string"},
            "example": '{"email": "ann@example.com", "reason": "manual"}\n',
        },
    },
}


class Rejected(BaseModel):
    line: int
    error: str


class ImportOut(BaseModel):
    inserted: int = Field(description="new addresses, and expired entries made active again")
    updated: int = Field(description="active entries the file changed")
    unchanged: int = Field(description="active entries already as the file says; not written")
    rejected: list[Rejected] = Field(description=f"the first {transfer.MAX_REJECTED} bad lines")
    rejected_total: int = Field(description="every bad line, listed or not")


@router.get(
    "/export",
    summary="The whole list (active entries), streamed",
    response_class=StreamingResponse,
    responses={
        **error_responses(401, 422, 503),
        200: {"content": {t: {} for t in transfer.MEDIA_TYPES.values()}},
    },
)
async def export(database: DatabaseDep, _: ReadAccess, fmt: FormatQuery = "csv") -> Any:
    chunks = await transfer.export(database, fmt, now=datetime.now(UTC))
    return StreamingResponse(
        chunks,
        media_type=transfer.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="suppressions.{fmt}"'},
    )


@router.post(
    "/import",
    summary="Add or update entries from CSV or NDJSON; bad lines are reported, not fatal",
    response_model=ImportOut,
    responses=error_responses(401, 403, 422, 503),
    openapi_extra={"requestBody": _IMPORT_BODY},
)
async def import_(
    request: Request, database: DatabaseDep, who: WriteAccess, fmt: FormatQuery = "csv"
) -> ImportOut:
    result = await transfer.import_(
        database, request.stream(), fmt, actor=who.name, now=datetime.now(UTC)
    )
    return ImportOut.model_validate(asdict(result))
