"""/console/address: one address (its entry, events and history) and its removal, through
the functions GET and DELETE /v1/suppressions/{email} call."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from app.activity import event_log
from app.api import removal
from app.api.deps import SessionDep, SesSyncDep, SettingsDep
from app.console import form_fields
from app.console.access import ViewerDep, check_form
from app.console.adding import add_form_context
from app.console.routing import ConsoleRoute
from app.console.templating import render
from app.errors import InvalidInput
from app.suppression import entries

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

# The newest this many events are shown; GET /v1/events?email= pages through the rest.
EVENTS_SHOWN = 100
# ?done= after a change: a fixed message each, never text from the request.
NOTICES = {
    "added": "Added to the list.",
    "updated": "The entry is updated.",
    "removed": "Removed from the list. The history below keeps who removed it and why.",
    "absent": "It was not on the list: nothing changed.",
}


@router.get("/address")
async def address_page(request: Request, viewer: ViewerDep, session: SessionDep) -> Response:
    raw = request.query_params.get("email") or ""
    done = request.query_params.get("done") or ""
    return await _address(request, session, raw, notice=NOTICES.get(done))


@router.post("/address/remove")
async def remove(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    ses_sync: SesSyncDep,
    background: BackgroundTasks,
) -> Response:
    form = await request.form(max_files=0, max_fields=8)
    check_form(request, viewer, form)
    raw, note = form_fields.text(form, "email"), form_fields.text(form, "note")
    if problem := form_fields.note_problem(note):
        return await _address(
            request, session, raw, remove_problem=f"Note (why): {problem}", note=note
        )
    try:
        email, _ = entries.parse_email(raw)
    except InvalidInput as err:
        return _invalid(request, raw, err.message)
    # Exactly what DELETE /v1/suppressions/{email} does, the SES_SYNC=both delete included.
    removed = await removal.remove_entry(
        session,
        email,
        actor=viewer.principal.name,
        note=note or None,
        settings=settings,
        ses_sync=ses_sync,
        background=background,
    )
    done = "removed" if removed else "absent"
    return RedirectResponse(address_href(email, done=done), status_code=303)


def address_href(email: str, *, done: str | None = None) -> str:
    query = {"email": email} | ({"done": done} if done else {})
    return "/console/address?" + urlencode(query)


async def _address(
    request: Request,
    session: AsyncSession,
    raw: str,
    *,
    notice: str | None = None,
    remove_problem: str | None = None,
    note: str = "",
) -> Response:
    if not raw.strip():
        return _invalid(request, raw, "enter an address to look up")
    try:
        detail = await entries.lookup(session, raw, now=datetime.now(UTC))
    except InvalidInput as err:
        return _invalid(request, raw, err.message)
    # Events whether or not the address is suppressed (a delivery, a soft bounce that did
    # not reach the limit), newest first, as GET /v1/events?email= pages them.
    events = await event_log.page(session, email=detail.email, limit=EVENTS_SHOWN)
    return render(
        request,
        "address.html",
        {
            "section": "suppressions",
            "detail": detail,
            "entry": detail.entry,
            "events": events.items,
            "more_events": events.next_id is not None,
            "events_shown": EVENTS_SHOWN,
            # Newest first, as the events are: the last change is the one that explains.
            "changes": list(reversed(detail.changes)),
            "notice": notice,
            "remove_problem": remove_problem,
            "note": form_fields.shown(note),
            **add_form_context({"email": detail.email}),
        },
        status_code=422 if remove_problem else 200,
    )


def _invalid(request: Request, raw: str, message: str) -> Response:
    return render(
        request,
        "address.html",
        {
            "section": "suppressions",
            "detail": None,
            "problem": f"Address: {message}",
            "raw": form_fields.shown(raw)[:998],
        },
        status_code=422,
    )
