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
from app.errors import BouncerError
from app.suppression import transfer

# Order-free beside app.api.suppressions: its /{email} path holds an "@", so never "export".
router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"])

FormatQuery = Annotated[transfer.Format, Query(alias="format", description="csv or ndjson")]
ImportFormatQuery = Annotated[
    transfer.Format | None,
    Query(
        alias="format",
        description="csv or ndjson; by default the Content-Type's (text/csv, "
        "application/x-ndjson), else csv",
    ),
]


class UnsupportedMediaType(BouncerError):
    status_code = 415
    cause = "media_type"


# The body is read as a stream, so FastAPI cannot describe it; this tells /docs (and the
# schema fuzzing) what goes in it.
_IMPORT_BODY = {
    "required": True,
    "description": "CSV with a header row (an address column named email, Email Address, "
    "E-mail, Address…; reason, note, expires_at, … as the export writes them; `,`, `;` or "
    "tab between fields) or NDJSON, one object a line; streamed, with no size limit, each "
    f"line at most {transfer.MAX_LINE} characters",
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

# Content types that name a format. Any other (none, text/plain, application/octet-stream,
# or application/x-www-form-urlencoded, which is what `curl --data-binary @file` sends
# unless told otherwise) leaves ?format= to decide.
_FORMAT_OF = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/json-lines": "ndjson",
}


def _import_format(request: Request, asked: transfer.Format | None) -> transfer.Format:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        raise UnsupportedMediaType(
            "the file must be the request body itself, not a multipart/form-data form: "
            "curl --data-binary @list.csv (not -F)"
        )
    given: transfer.Format | None = _FORMAT_OF.get(media_type)  # type: ignore[assignment]
    if asked is not None and given is not None and asked != given:
        raise UnsupportedMediaType(
            f"format={asked} but the body is declared {media_type}: "
            f"send format={given}, or Content-Type {transfer.MEDIA_TYPES[asked].partition(';')[0]}"
        )
    return asked or given or "csv"


class Rejected(BaseModel):
    line: int
    error: str


class ImportOut(BaseModel):
    inserted: int = Field(description="new addresses, and expired entries made active again")
    updated: int = Field(description="active entries the file changed")
    unchanged: int = Field(
        description="lines not written: the entry is already as the line says, or an "
        "earlier line of the file named the same address (the first line wins)"
    )
    rejected: list[Rejected] = Field(description=f"the first {transfer.MAX_REJECTED} bad lines")
    rejected_total: int = Field(description="every bad line, listed or not")
    duplicates: int = Field(
        description="lines naming an address an earlier line named (counted in unchanged)"
    )


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
    responses={
        **error_responses(401, 403, 422),
        415: {"description": "a form upload, or a Content-Type that contradicts ?format="},
        503: {
            "description": "the database went away: which lines are stored, what to do",
            "content": {
                "application/json": {
                    "example": {
                        "error": "the database became unreachable during the import: …",
                        "stored_through_line": 5000,
                        "inserted": 4990,
                        "updated": 0,
                        "unchanged": 3,
                    }
                }
            },
        },
    },
    openapi_extra={"requestBody": _IMPORT_BODY},
)
async def import_(
    request: Request, database: DatabaseDep, who: WriteAccess, fmt: ImportFormatQuery = None
) -> ImportOut:
    result = await transfer.import_(
        database,
        request.stream(),
        _import_format(request, fmt),
        actor=who.name,
        now=datetime.now(UTC),
    )
    return ImportOut.model_validate(asdict(result))
