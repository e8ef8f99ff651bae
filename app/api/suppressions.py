"""/v1/suppressions: look up, check, list, add and remove suppression entries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic_core import to_json
from starlette.convertors import Convertor, register_url_convertor

from app.api import removal
from app.api.bodies import CheckedJsonRoute
from app.api.deps import (
    DatabaseDep,
    ReadAccess,
    SessionDep,
    SesSyncDep,
    SettingsDep,
    WriteAccess,
)
from app.api.schemas import (
    ChangeOut,
    CheckIn,
    CheckOut,
    EventOut,
    HistoryOut,
    Moment,
    NotSuppressed,
    SuppressionDetail,
    SuppressionIn,
    SuppressionOut,
    SuppressionPage,
    Text,
    error_responses,
)
from app.suppression import entries, listing
from app.vocabulary import Source


class _Address(Convertor[str]):
    """An address holds an "@", so no fixed path (``export``, ``import``, ``check``) can ever
    be read as one, whatever order the routes are in. It may hold a "/" (``a/b@example.com``
    is valid, RFC 5322 atext), which the default ``{email}`` segment refuses with 404, and
    a newline (``%0A``) is matched like any other character (and refused as an address)."""

    regex = "(?s:[^@]*@.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _NotAnAddress(Convertor[str]):
    """A path without an "@" that is none of the fixed paths (``…/x/history`` included):
    answered with 422 naming the email, as an address without an @ is anywhere else."""

    regex = "(?s:(?!(?:export|import|check)$)[^@]+)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("address", _Address())
register_url_convertor("not_an_address", _NotAnAddress())
# In /docs and for clients: an address parameter must hold an @ (JSON Schema patterns
# match anywhere in the value).
_EMAIL = Path(description="the address, in any form", pattern="@", examples=["ann@example.com"])
Email = Annotated[str, _EMAIL]

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"], route_class=CheckedJsonRoute)


@router.post(
    "/check",
    summary="Which of these addresses are suppressed? (invalid ones listed, the rest answered)",
    response_model=CheckOut,
    responses=error_responses(401, 422, 503),
)
async def check(body: CheckIn, database: DatabaseDep, _: ReadAccess) -> Response:
    # One statement: on PostgreSQL it runs without BEGIN and COMMIT (Database.read).
    async with database.read() as session:
        result = await entries.check_each(session, body.emails, now=datetime.now(UTC))
    # CheckOut as JSON in one pass, without building the model and having FastAPI
    # validate it again: for 10,000 addresses that took longer than writing the JSON.
    answer = {
        "suppressed": result.suppressed,
        "allowed": result.allowed,
        "invalid": [{"email": item.email, "error": item.error} for item in result.invalid],
    }
    return Response(to_json(answer), media_type="application/json")


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
    limit: Annotated[int, Query(ge=1, le=listing.MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> SuppressionPage:
    filters = listing.Filters(reason, domain, since, until, q, include_expired)
    page = await listing.page(session, filters, cursor=cursor, limit=limit, now=datetime.now(UTC))
    return SuppressionPage(
        items=[SuppressionOut.model_validate(row) for row in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/{email:address}/history",
    summary="Every change to an address's entry (who, when, why), suppressed or not",
    response_model=HistoryOut,
    responses=error_responses(401, 422, 503),
)
async def get_history(email: Email, session: SessionDep, _: ReadAccess) -> HistoryOut:
    detail = await entries.lookup(session, email, now=datetime.now(UTC))
    return HistoryOut(
        email=detail.email,
        suppressed=detail.entry is not None,
        history=[ChangeOut.model_validate(c) for c in detail.changes],
    )


@router.get(
    "/{email:address}",
    summary="Is this address suppressed, and why? (404 with its history when it is not)",
    response_model=SuppressionDetail,
    responses=error_responses(401, 422, 503, not_found=NotSuppressed),
)
async def get_entry(
    email: Email, session: SessionDep, _: ReadAccess
) -> SuppressionDetail | JSONResponse:
    detail = await entries.lookup(session, email, now=datetime.now(UTC))
    history = [ChangeOut.model_validate(c) for c in detail.changes]
    if detail.entry is None:
        missing = NotSuppressed(email=email, history=history)
        return JSONResponse(missing.model_dump(mode="json"), status_code=404)
    return SuppressionDetail(
        **SuppressionOut.model_validate(detail.entry).model_dump(),
        events=[EventOut.model_validate(e) for e in detail.events],
        history=history,
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
    email: Email, body: SuppressionIn, session: SessionDep, who: WriteAccess, response: Response
) -> SuppressionOut:
    row, created = await entries.add(
        session,
        email,
        reason=body.reason,
        note=body.note,
        expires_at=body.expires_at,
        actor=who.name,
        source=Source.API,
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
    email: Email,
    session: SessionDep,
    who: WriteAccess,
    settings: SettingsDep,
    ses_sync: SesSyncDep,
    background: BackgroundTasks,
    note: Annotated[Text | None, Query(max_length=2000, description="why")] = None,
) -> Response:
    removed = await removal.remove_entry(
        session,
        email,
        actor=who.name,
        note=note,
        settings=settings,
        ses_sync=ses_sync,
        background=background,
    )
    if not removed:
        # Not on the list: say who removed it before, if anyone did.
        changes = await entries.history(session, email)
        missing = NotSuppressed(email=email, history=[ChangeOut.model_validate(c) for c in changes])
        return JSONResponse(missing.model_dump(mode="json"), status_code=404)
    return Response(status_code=204)


@router.api_route(
    "/{email:not_an_address}", methods=["GET", "PUT", "DELETE"], include_in_schema=False
)
async def not_an_address(email: str, _: ReadAccess) -> None:
    entries.parse_email(email)  # raises InvalidInput naming the email: it has no @
