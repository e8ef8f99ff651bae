"""/console/suppressions: the list, filtered and paged through app.suppression.listing, as
GET /v1/suppressions pages it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.api.deps import SessionDep
from app.console.access import ViewerDep
from app.console.list_filters import LABELS, FilterForm, read_filters
from app.console.routing import ConsoleRoute
from app.console.templating import render
from app.errors import InvalidInput
from app.models import Suppression
from app.suppression import listing
from app.vocabulary import Reason

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 100


@router.get("/suppressions")
async def list_page(request: Request, viewer: ViewerDep, session: SessionDep) -> Response:
    form = read_filters(request.query_params)
    if form.problems:
        return _page(request, form, status_code=422)
    now = datetime.now(UTC)
    try:
        found = await listing.page(
            session, form.filters, cursor=form.cursor, limit=PAGE_SIZE, now=now
        )
    except InvalidInput as err:
        # listing checks the reason, the domain and the cursor: the form again, the field named.
        form.problems.append((err.field or "", err.message))
        return _page(request, form, status_code=422)
    next_href = None
    if found.next_cursor is not None:
        next_href = "/console/suppressions?" + urlencode(
            {**form.query(), "cursor": found.next_cursor}
        )
    return _page(request, form, rows=found.items, next_href=next_href, now=now)


def _page(
    request: Request,
    form: FilterForm,
    *,
    rows: Sequence[Suppression] = (),
    next_href: str | None = None,
    now: datetime | None = None,
    status_code: int = 200,
) -> Response:
    first_href = None
    if form.cursor is not None:
        query = form.query()
        first_href = "/console/suppressions" + (f"?{urlencode(query)}" if query else "")
    return render(
        request,
        "list.html",
        {
            "section": "suppressions",
            "form": form,
            "problems": [(LABELS.get(name, name), message) for name, message in form.problems],
            "bad_fields": {name for name, _ in form.problems},
            "reasons": list(Reason),
            "rows": rows,
            "next_href": next_href,
            "first_href": first_href,
            "now": now,
            "page_size": PAGE_SIZE,
        },
        status_code=status_code,
    )
