"""What bouncer's history says about SES's account-level suppression list (SPEC §7).

Pure words, shared by the SES event policy (an OnAccountSuppressionList bounce) and the
sync (pulled entries, and the note that SES holds an address bouncer already had).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

# SES dropped the message without trying to deliver it, because the address is on the
# account's own suppression list:
# https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html (bounce types)
ON_ACCOUNT_SUPPRESSION_LIST = "OnAccountSuppressionList"
ON_ACCOUNT_LIST_NOTE = (
    "SES's account-level suppression list holds this address (OnAccountSuppressionList): "
    "SES did not try to deliver. Remove it there too, or set SES_SYNC=both"
)


def cause(bounce_type: str | None, subtype: str | None) -> str | None:
    """The note an entry made by this bounce carries, or None: an OnAccountSuppressionList
    bounce names SES's own list as the cause, so removing the address in bouncer alone
    is known not to make it mailable."""
    if bounce_type == "Permanent" and subtype == ON_ACCOUNT_SUPPRESSION_LIST:
        return ON_ACCOUNT_LIST_NOTE
    return None


def sync_actor(region: str) -> str:
    """Who the history names for the sync's changes in one region (no token name holds a
    colon, so it is never an operator's)."""
    return f"sync:{region}"


def pulled(region: str, ses_reason: str, last_update: datetime) -> str:
    return (
        f"pulled from SES's account-level suppression list in {region} "
        f"({ses_reason}, last updated by SES {_when(last_update)})"
    )


def pushed(region: str, ses_reason: str) -> str:
    return f"put into SES's account-level suppression list in {region} ({ses_reason})"


def held_too(region: str, ses_emails: Sequence[str], ses_reason: str, last_update: datetime) -> str:
    forms = ", ".join(ses_emails)
    return (
        f"SES's account-level suppression list in {region} holds this address too, as "
        f"{forms} ({ses_reason}, last updated by SES {_when(last_update)})"
    )


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
