"""/v1/ses: how far bouncer's list and SES's account-level suppression list have drifted
apart, and one sync pass on demand (SPEC §7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.bodies import CheckedJsonRoute
from app.api.deps import ReadAccess, SesSyncDep, SettingsDep, WriteAccess
from app.api.schemas import error_responses
from app.errors import SyncOff

router = APIRouter(prefix="/v1/ses", tags=["ses"], route_class=CheckedJsonRoute)


@router.get(
    "/drift",
    summary="Per region: entries only bouncer holds, only SES holds, reasons that differ",
    responses=error_responses(401, 502, 503),
)
async def drift(ses_sync: SesSyncDep, _: ReadAccess) -> dict[str, Any]:
    # SES's list read through, each region's cached for 60 s.
    return {"regions": [one.as_dict() for one in await ses_sync.drift()]}


@router.post(
    "/sync",
    summary="Run one sync pass now (SES_SYNC's direction); one pass at a time across replicas",
    responses=error_responses(401, 403, 409, 502, 503),
)
async def sync(ses_sync: SesSyncDep, settings: SettingsDep, _: WriteAccess) -> dict[str, Any]:
    if settings.SES_SYNC == "off":
        raise SyncOff(
            "SES_SYNC is off: set it to pull or both to sync through the API "
            "(`bouncer ses sync` runs a pass whatever it says)"
        )
    # A pass already running (here or on another replica) is waited for, then this one
    # runs: what it answers is up to date when the request began.
    report = await ses_sync.run_pass()
    return {
        "regions": [{k: v for k, v in r.as_dict().items() if k != "plan"} for r in report.regions]
    }
