"""The import form's multipart body read as Starlette reads a form (small fields in memory,
the one file spooled to a temporary file), refused whole when it is not that form."""

from __future__ import annotations

from contextlib import aclosing

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from app.errors import BouncerError

# The import form has csrf, format and the file: a few fields more is not a form of ours.
MAX_FIELDS = 4
# Each field besides the file (the CSRF token, the format) is a few dozen bytes; a field is
# held in memory whole, so it is kept small.
MAX_FIELD_BYTES = 4096


class UploadRefused(BouncerError):
    """A body that is not the import form: not multipart, malformed, two files, a field
    too large or too many, or cut off before its end."""

    status_code = 400
    cause = "upload"


class NotAForm(UploadRefused):
    status_code = 415


class _CompleteParser(MultiPartParser):
    """Starlette's parser, noting whether the body reached its closing boundary.

    A body cut off inside a part leaves that part out of the form, and a file part's
    temporary file with it, unclosed: only files listed in the form are closed with it
    (Starlette 1.10). Such a body is refused and the files it opened are closed here.
    """

    ended = False

    def on_end(self) -> None:
        self.ended = True


async def read_upload_form(request: Request) -> FormData:
    """The form, its file still to be read; UploadRefused when it is not one."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        raise NotAForm(
            "the file must come from the import form on /console/transfer "
            "(multipart/form-data); to send a file as the body, use POST /v1/suppressions/import"
        )
    try:
        async with aclosing(request.stream()) as stream:
            parser = _CompleteParser(
                request.headers,
                stream,
                max_files=1,
                max_fields=MAX_FIELDS,
                max_part_size=MAX_FIELD_BYTES,
            )
            form = await parser.parse()
    except MultiPartException as err:
        raise UploadRefused(
            f"the upload is not the import form's: {err.message} Choose one file on "
            "/console/transfer and import it"
        ) from err
    if not parser.ended:
        for opened in parser._files_to_close_on_error:  # every temporary file it made
            opened.close()
        await form.close()
        raise UploadRefused(
            "the upload ended before the form's end (the file was cut off): send it again"
        )
    return form
