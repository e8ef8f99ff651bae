"""What ``bouncer aws doctor`` found: each finding's severity, check, resource, what is
wrong and the command that fixes it (SPEC §11)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """``error``: SES's feedback does not reach bouncer (exit 1); ``warning``: it does, with
    a flaw or a check not made; ``info``: worth knowing, nothing wrong."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class CheckName(StrEnum):
    """What a finding is about; the names the JSON output and the README use."""

    TRUST = "trust"  # SNS_TOPIC_ARNS holds the topics SES publishes to
    IDENTITY = "identity"  # an identity's notification topics
    UNVERIFIED_IDENTITY = "unverified-identity"  # listed, not verified: not judged
    CONFIGURATION_SET = "configuration-set"  # a configuration set's event destinations
    BOTH_PUBLISHING = "both-publishing"
    FEEDBACK_FORWARDING = "feedback-forwarding"
    TOPIC = "topic"  # a topic SES publishes to exists
    SUBSCRIPTION = "subscription"  # a confirmed subscription to bouncer
    PENDING = "pending-confirmation"
    RAW_DELIVERY = "raw-delivery"
    SIGNATURE_VERSION = "signature-version"
    SENDING = "sending"  # SendingEnabled, EnforcementStatus
    SANDBOX = "sandbox"
    ACCOUNT_SUPPRESSION = "account-suppression-list"
    DRIFT = "drift"  # SPEC §7's drift between bouncer's list and SES's
    ACCESS = "access"  # a read AWS refused or did not answer
    SIMULATE = "simulate"  # the mailbox simulator's round trip


_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    severity: Severity
    check: CheckName
    resource: str
    message: str
    fix: str | None = None  # None: nothing to do

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: ``{"severity", "check", "resource", "message", "fix"}``."""
        return {
            "severity": str(self.severity),
            "check": str(self.check),
            "resource": self.resource,
            "message": self.message,
            "fix": self.fix,
        }


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then info; within each, in the order found."""
    return sorted(findings, key=lambda finding: _ORDER[finding.severity])


def has_error(findings: Sequence[Finding]) -> bool:
    return any(finding.severity is Severity.ERROR for finding in findings)


def error(check: CheckName, resource: str, message: str, fix: str | None = None) -> Finding:
    return Finding(Severity.ERROR, check, resource, message, fix)


def warning(check: CheckName, resource: str, message: str, fix: str | None = None) -> Finding:
    return Finding(Severity.WARNING, check, resource, message, fix)


def info(check: CheckName, resource: str, message: str, fix: str | None = None) -> Finding:
    return Finding(Severity.INFO, check, resource, message, fix)
