"""SPEC §7's drift as doctor findings: how far bouncer's list and SES's account-level
list in the region are apart, when a database is there to compare (never one created)."""

from __future__ import annotations

from collections.abc import Callable

from app import opening
from app.aws_wiring.findings import CheckName, Finding, info, warning
from app.db import Database
from app.errors import DatabaseUnavailable, SesListUnavailable
from app.ses_sync import RegionDrift, SesSync
from app.settings import Settings

# SES v2's error codes for a refused call (SES v1 says AccessDenied).
_DENIED = ("AccessDenied", "AccessDeniedException")
_READ = "ses:ListSuppressedDestinations"


async def check_drift(
    settings: Settings,
    region: str,
    make_sync: Callable[[Database], SesSync],
    *,
    database: Database | None = None,
) -> list[Finding]:
    """Drift in ``region`` on ``database``, or on the configured one if it exists."""
    if database is not None:
        return await _drift(make_sync(database), region)
    try:
        opened = await opening.open_existing(
            settings.database_url, configured=bool(settings.DATABASE_URL)
        )
    except opening.DatabaseNotReady as err:
        if settings.DATABASE_URL:
            return [warning(CheckName.DRIFT, region, f"drift not checked: {err}")]
        return [
            info(
                CheckName.DRIFT,
                region,
                "drift not checked: no database here (DATABASE_URL unset, no bouncer.db "
                "under DATA_DIR) to compare with SES's account-level list",
            )
        ]
    try:
        return await _drift(make_sync(opened), region)
    finally:
        await opened.dispose()


async def _drift(sync: SesSync, region: str) -> list[Finding]:
    try:
        [found] = await sync.drift(regions=[region])
    except SesListUnavailable as err:
        if err.ses_code in _DENIED:
            return [
                warning(
                    CheckName.ACCESS,
                    region,
                    f"could not check the drift: {_READ} was refused ({err.message})",
                    f"allow {_READ} to these credentials (IAM policy)",
                )
            ]
        return [warning(CheckName.DRIFT, region, f"could not check the drift: {err.message}")]
    except DatabaseUnavailable as err:
        return [warning(CheckName.DRIFT, region, f"could not check the drift: {err.message}")]
    return judge(found, sync.mode)


def judge(found: RegionDrift, mode: str) -> list[Finding]:
    drift = found.drift
    if not (drift.only_in_bouncer or drift.only_in_ses or drift.reason_differs):
        return []
    counts = (
        f"{drift.only_in_bouncer} only in bouncer's, {drift.only_in_ses} only in SES's, "
        f"{drift.reason_differs} with different reasons"
    )
    message = f"bouncer's list and SES's account-level list in {found.region} differ: {counts}"
    # With SES_SYNC=both a pass takes both one-sided counts to zero: left over, they say
    # passes are failing. Otherwise drift is expected (reasons are never overwritten).
    if mode == "both" and (drift.only_in_bouncer or drift.only_in_ses):
        return [
            warning(
                CheckName.DRIFT,
                found.region,
                f"{message}, though SES_SYNC=both",
                "bouncer ses sync (it says why a pass fails)",
            )
        ]
    return [
        info(
            CheckName.DRIFT,
            found.region,
            f"{message} (SES_SYNC={mode})",
            "bouncer ses sync --direction both" if mode != "both" else None,
        )
    ]
