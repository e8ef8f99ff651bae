"""/console/add: add an address to the list (or update its entry) with a reason, a note and
an optional expiry, through the function PUT /v1/suppressions/{email} calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from app import moments
from app.api.deps import SessionDep
from app.console import form_fields
from app.console.access import Viewer, ViewerDep, check_form
from app.console.routing import ConsoleRoute
from app.console.templating import render
from app.errors import Forbidden, InvalidInput
from app.suppression import entries
from app.vocabulary import Reason, Source

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

FIELDS = ("email", "reason", "note", "expires_at")
LABELS = {"email": "Address", "reason": "Reason", "note": "Note", "expires_at": "Expires"}
# An address field longer than this is no address (RFC 5322 §2.1.1 line length): it is
# not put back into the form.
_MAX_SHOWN = 998


def add_form_context(
    values: dict[str, str], problems: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """What the add form (``_add_form.html``, on this page and on an address's page) needs."""
    given = {name: form_fields.shown(value) for name, value in values.items()}
    return {
        "add_values": {"reason": Reason.MANUAL.value, "note": "", "expires_at": ""} | given,
        "add_problems": [(LABELS.get(name, name), message) for name, message in problems or ()],
        "add_bad": {name for name, _ in problems or ()},
        "reasons": list(Reason),
        "max_note": form_fields.MAX_NOTE,
    }


@router.get("/add")
async def add_page(request: Request, viewer: ViewerDep) -> Response:
    _require_write(viewer)
    email = (request.query_params.get("email") or "").strip()
    return _page(request, {"email": email})


@router.post("/add")
async def add(request: Request, viewer: ViewerDep, session: SessionDep) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    check_form(request, viewer, form)
    values = {name: form_fields.text(form, name) for name in FIELDS}
    now = datetime.now(UTC)
    problems: list[tuple[str, str]] = []
    try:
        entries.parse_email(values["email"])
    except InvalidInput as err:
        problems.append(("email", err.message))
    if problem := form_fields.note_problem(values["note"]):
        problems.append(("note", problem))
    expires_at = None
    if values["expires_at"]:
        try:
            # A date alone is the start of that day, UTC, as everywhere (SPEC §4 Edges;
            # PUT /v1/suppressions reads expires_at so): "Expires 2026-12-01" is off the
            # list on 1 December, and the page shows back the date that was picked.
            expires_at = moments.parse_moment(values["expires_at"])
        except ValueError as err:
            problems.append(("expires_at", str(err)))
    reason = values["reason"] or Reason.MANUAL.value
    if wrong := entries.entry_problem(reason, expires_at, now=now):
        problems.append(wrong)
    if problems:
        return _page(request, values, problems, status_code=422)
    try:
        row, created = await entries.add(
            session,
            values["email"],
            reason=reason,
            note=values["note"] or None,
            expires_at=expires_at,
            actor=viewer.principal.name,
            # The console is a door onto the API's functions, and Source has no word of
            # its own for it (adding one needs a migration of the CHECK constraint): the
            # history's actor, the token's name, tells who did it.
            source=Source.API,
            now=now,
        )
    except InvalidInput as err:  # checked above; the store's word is final all the same
        return _page(request, values, [(err.field or "", err.message)], status_code=422)
    query = urlencode({"email": row.email, "done": "added" if created else "updated"})
    return RedirectResponse(f"/console/address?{query}", status_code=303)


def _require_write(viewer: Viewer) -> None:
    if not viewer.can_write:
        raise Forbidden(
            f"token {viewer.principal.name!r} is read-only: sign in with a token from "
            "API_TOKENS to add addresses"
        )


def _page(
    request: Request,
    values: dict[str, str],
    problems: list[tuple[str, str]] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    if len(values.get("email", "")) > _MAX_SHOWN:
        values = values | {"email": ""}
    return render(
        request,
        "add.html",
        {"section": "add", **add_form_context(values, problems)},
        status_code=status_code,
    )
