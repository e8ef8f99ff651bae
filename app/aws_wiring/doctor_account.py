"""Judging the SES account (SES v2 GetAccount), pure: sending enabled, the enforcement
status, the sandbox and the account-level suppression list (SPEC §11)."""

from __future__ import annotations

from app.aws_wiring.doctor_fixes import Fixes
from app.aws_wiring.doctor_wiring import Account
from app.aws_wiring.findings import CheckName, Finding, error, info, warning

ACCOUNT = "account"
_LISTED = ("BOUNCE", "COMPLAINT")
# https://docs.aws.amazon.com/ses/latest/dg/faqs-enforcement.html
_REPUTATION = "the SES console's reputation page (Account dashboard → Reputation metrics)"


def check_account(account: Account | None, region: str, fixes: Fixes) -> list[Finding]:
    if account is None:  # not read: the read's own finding says why
        return []
    found: list[Finding] = []
    status = account.enforcement_status
    if status == "SHUTDOWN":
        found.append(
            error(
                CheckName.SENDING,
                ACCOUNT,
                f"SES has paused sending for this account in {region} (EnforcementStatus "
                "SHUTDOWN): every send fails",
                f"fix the cause shown on {_REPUTATION}, then ask AWS to review the account",
            )
        )
    elif not account.sending_enabled:
        found.append(
            error(
                CheckName.SENDING,
                ACCOUNT,
                f"sending is disabled for this account in {region} (SendingEnabled false): "
                "every send fails",
                fixes.resume_sending(),
            )
        )
    if status == "PROBATION":
        found.append(
            warning(
                CheckName.SENDING,
                ACCOUNT,
                f"the account is under review in {region} (EnforcementStatus PROBATION): "
                "SES pauses sending if its bounce or complaint rate stays high",
                f"`bouncer stats` shows the rates bouncer sees; see {_REPUTATION}",
            )
        )
    elif status not in ("HEALTHY", "SHUTDOWN"):
        found.append(
            info(CheckName.SENDING, ACCOUNT, f"the account's EnforcementStatus is {status}")
        )
    if not account.production_access:
        found.append(
            info(
                CheckName.SANDBOX,
                ACCOUNT,
                f"the account is in the SES sandbox in {region}: it sends only to verified "
                "addresses and the mailbox simulator, at most 200 messages a day",
                "request production access: SES console → Account dashboard → "
                "Request production access",
            )
        )
    missing = [reason for reason in _LISTED if reason not in account.suppressed_reasons]
    if missing:
        what = "off" if len(missing) == len(_LISTED) else f"off for {missing[0].lower()}s"
        found.append(
            warning(
                CheckName.ACCOUNT_SUPPRESSION,
                ACCOUNT,
                f"the account-level suppression list is {what} in {region}: SES itself "
                "keeps sending to those addresses when mail bypasses bouncer",
                fixes.account_suppression(),
            )
        )
    return found
