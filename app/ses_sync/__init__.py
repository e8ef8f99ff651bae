"""Keeping SES's account-level suppression lists in step with bouncer's (SPEC §7).

``SesSync`` runs passes (read each region's list into the mirror, plan with
app.suppression.ses_plan, carry the plan out) and reports drift; app.services builds it.
"""

from app.ses_sync.reports import PassReport, RegionDrift, RegionReport
from app.ses_sync.sync import SesSync
from app.suppression.ses_plan import Direction

__all__ = ["Direction", "PassReport", "RegionDrift", "RegionReport", "SesSync"]
