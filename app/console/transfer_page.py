"""/console/transfer, /console/export and /console/import: the whole list out as a download,
and a file uploaded into it, through the same functions as the API's export and import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile
from starlette.responses import Response

from app.access import require_write
from app.api.state import services_of
from app.console.access import ViewerDep, check_form
from app.console.routing import ConsoleRoute
from app.console.templating import render
from app.console.upload_form import read_upload_form
from app.errors import InvalidInput
from app.suppression import transfer

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

# How much of the uploaded file is read at a time into the import's line reader.
_CHUNK = 64 * 1024

# The file's name says its format when the form's select does not.
_FORMAT_OF_SUFFIX: dict[str, transfer.Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}

_ExportFormat = Annotated[transfer.Format, Query(alias="format")]


@router.get("/transfer")
async def transfer_page(request: Request, viewer: ViewerDep) -> Response:
    return render(request, "transfer.html", {"section": "transfer"})


@router.get("/export")
async def export(request: Request, _: ViewerDep, fmt: _ExportFormat = "csv") -> Response:
    # The bytes and headers of GET /v1/suppressions/export (app.api.transfer).
    chunks = await transfer.export(services_of(request.app).database, fmt, now=datetime.now(UTC))
    return StreamingResponse(
        chunks,
        media_type=transfer.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="suppressions.{fmt}"'},
    )


@router.post("/import")
async def import_(request: Request, viewer: ViewerDep) -> Response:
    # Before a byte of the body is read: Starlette's form parser spools an uploaded file to
    # a temporary file as it reads, and an upload a read session (or, through ViewerDep,
    # nobody) sends must not fill the disk to be refused afterwards.
    require_write(viewer.principal)
    form = await read_upload_form(request)
    try:
        check_form(request, viewer, form)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("choose a file to import", field="file")
        result = await transfer.import_(
            services_of(request.app).database,
            _contents(upload),
            _format_of(form.get("format"), upload.filename),
            actor=viewer.principal.name,
            now=datetime.now(UTC),
        )
    finally:
        await form.close()
    return render(
        request,
        "import_result.html",
        {"section": "transfer", "filename": upload.filename, "result": asdict(result)},
    )


def _format_of(asked: Any, filename: str) -> transfer.Format:
    """The form's choice; else what the file's name says; else CSV (as the API's default)."""
    if asked not in (None, ""):
        if asked not in transfer.FORMATS:
            raise InvalidInput("format: choose CSV, NDJSON or From the file name", field="format")
        chosen: transfer.Format = asked
        return chosen
    name = filename.lower()
    for suffix, fmt in _FORMAT_OF_SUFFIX.items():
        if name.endswith(suffix):
            return fmt
    return "csv"


async def _contents(upload: UploadFile) -> AsyncIterator[bytes]:
    """The uploaded file a chunk at a time (from memory or its temporary file, read in a
    thread), never whole."""
    while chunk := await upload.read(_CHUNK):
        yield chunk
