"""/v1/suppressions: look up, check, list, add and remove suppression entries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from app.api.deps import ReadAccess, SessionDep, WriteAccess
from app.api.schemas import (
    ChangeOut,
    CheckIn,
    CheckOut,
    EventOut,
    InvalidOut,
    Moment,
    NotSuppressed,
    SuppressionDetail,
    SuppressionIn,
    SuppressionOut,
    SuppressionPage,
    Text,
    error_responses,
)
from app.suppression import entries


class _Address(Convertor[str]):
    """An address may hold a "/" (``a/b@example.com`` is valid, RFC 5322 atext), which the
    default ``{email}`` segment refuses with 404; "" stays unmatched (``/v1/suppressions/``), and
    a newline (``%0A``) is matched like any other character."""

    regex = "(?s:.+)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("address", _Address())

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"])


@router.post(
    "/check",
    summary="Which of these addresses are suppressed? (invalid ones listed, the rest answered)",
    response_model=CheckOut,
    responses=error_responses(401, 422, 503),
)
async def check(body: CheckIn, session: SessionDep, _: ReadAccess) -> CheckOut:
    result = await entries.check_each(session, body.emails, now=datetime.now(UTC))
    return CheckOut(
        suppressed=result.suppressed,
        allowed=result.allowed,
        invalid=[InvalidOut.model_validate(item) for item in result.invalid],
    )


@router.get(
    "",
    summary="List entries (newest first), filtered, one page at a time",
    response_model=SuppressionPage,
    responses=error_responses(401, 422, 503),
)
async def list_entries(
    session: SessionDep,
    _: ReadAccess,
    reason: Annotated[str | None, Query(description="bounce, soft_bounce, complaint, …")] = None,
    domain: Annotated[str | None, Query(examples=["example.com"])] = None,
    since: Annotated[
        Moment | None, Query(description="created at or after (no offset: UTC)")
    ] = None,
    until: Annotated[Moment | None, Query(description="created before (no offset: UTC)")] = None,
    q: Annotated[Text | None, Query(description="address prefix", max_length=320)] = None,
    include_expired: bool = False,
    limit: Annotated[int, Query(ge=1, le=entries.MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> SuppressionPage:
    filters = entries.Filters(reason, domain, since, until, q, include_expired)
    page = await entries.page(session, filters, cursor=cursor, limit=limit, now=datetime.now(UTC))
    return SuppressionPage(
        items=[SuppressionOut.model_validate(row) for row in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/{email:address}",
    summary="Is this address suppressed, and why?",
    response_model=SuppressionDetail,
    responses=error_responses(401, 422, 503, not_found=NotSuppressed),
)
async def get_entry(
    email: str, session: SessionDep, _: ReadAccess
) -> SuppressionDetail | JSONResponse:
    detail = await entries.lookup(session, email, now=datetime.now(UTC))
    if detail is None:
        return JSONResponse({"email": email, "suppressed": False}, status_code=404)
    return SuppressionDetail(
        **SuppressionOut.model_validate(detail.entry).model_dump(),
        events=[EventOut.model_validate(e) for e in detail.events],
        history=[ChangeOut.model_validate(c) for c in detail.changes],
    )


@router.put(
    "/{email:address}",
    summary="Add or update an entry",
    response_model=SuppressionOut,
    status_code=200,
    responses={
        **error_responses(401, 403, 422, 503),
        201: {"model": SuppressionOut, "description": "added"},
    },
)
async def put_entry(
    email: str, body: SuppressionIn, session: SessionDep, who: WriteAccess, response: Response
) -> SuppressionOut:
    row, created = await entries.add(
        session,
        email,
        reason=body.reason,
        note=body.note,
        expires_at=body.expires_at,
        actor=who.name,
        source="api",
        now=datetime.now(UTC),
    )
    response.status_code = 201 if created else 200
    return SuppressionOut.model_validate(row)


@router.delete(
    "/{email:address}",
    summary="Remove an entry (kept in its history with who and why)",
    status_code=204,
    responses=error_responses(401, 403, 422, 503, not_found=NotSuppressed),
)
async def delete_entry(
    email: str,
    session: SessionDep,
    who: WriteAccess,
    note: Annotated[Text | None, Query(max_length=2000, description="why")] = None,
) -> Response:
    removed = await entries.remove(session, email, actor=who.name, note=note, now=datetime.now(UTC))
    if not removed:
        return JSONResponse({"email": email, "suppressed": False}, status_code=404)
    return Response(status_code=204)
