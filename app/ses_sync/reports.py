"""What a sync pass did, and how far the lists are apart, as callers report them (SPEC §7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.suppression.ses_drift import Drift
from app.suppression.ses_plan import Direction, Plan


@dataclass
class RegionReport:
    """One region's part of a pass; in a dry run, the counts are what it would do.

    ``pulled``: entries added to bouncer; ``pushed``: entries put into SES; ``deleted``:
    forms deleted from SES (not those SES no longer held); ``noted``: history lines saying
    SES holds an address bouncer had; ``failed``: SES calls that failed for good (retried
    by the next pass). ``error`` says why the region stopped early, if it did."""

    region: str
    pulled: int = 0
    pushed: int = 0
    deleted: int = 0
    failed: int = 0
    noted: int = 0
    error: str | None = None
    plan: Plan | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """SPEC §7's ``{"region", "pulled", "pushed", "deleted", "failed"}``, with
        ``noted`` and ``error`` beside them."""
        return {
            "region": self.region,
            "pulled": self.pulled,
            "pushed": self.pushed,
            "deleted": self.deleted,
            "failed": self.failed,
            "noted": self.noted,
            "error": self.error,
        }


@dataclass
class PassReport:
    regions: list[RegionReport]
    dry_run: bool
    direction: Direction

    def as_dict(self) -> dict[str, Any]:
        return {"regions": [region.as_dict() for region in self.regions]}


@dataclass(frozen=True)
class RegionDrift:
    """How far bouncer's list and one region's SES list are apart, as of ``checked_at``."""

    region: str
    drift: Drift
    checked_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """SPEC §7: ``{"region", "only_in_bouncer", "only_in_ses", "reason_differs",
        "samples", "checked_at"}``, the time as ISO 8601 UTC text."""
        checked_at = self.checked_at.isoformat().replace("+00:00", "Z")
        return {"region": self.region, **self.drift.as_dict(), "checked_at": checked_at}
