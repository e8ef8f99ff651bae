"""The words bouncer stores: reasons, sources, verdicts, actions, statuses and types.

Each is a StrEnum, so a value compares and serialises as its plain string, the column
holds that string, and a CHECK constraint (migration 0006) keeps anything else out.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why an address is on the list (SPEC §3). Ranked in app.suppression.policy."""

    BOUNCE = "bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    MANUAL = "manual"


class Source(StrEnum):
    """Which door an entry came in by (SPEC §3)."""

    SNS = "sns"
    API = "api"
    CLI = "cli"
    IMPORT = "import"
    SYNC = "sync"


class Verdict(StrEnum):
    """What the policy made of one SES event for one recipient (the event row keeps it)."""

    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    DELIVERY = "delivery"
    RECORD_ONLY = "record_only"


class ChangeAction(StrEnum):
    """One line of an entry's history."""

    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    FAILED = "failed"  # confirming it failed: see the subscription's last_error


class ConfirmedVia(StrEnum):
    API = "api"  # sns:ConfirmSubscription with AuthenticateOnUnsubscribe
    URL = "url"  # a GET of the checked SubscribeURL


class SendOutcome(StrEnum):
    SENT = "sent"
    ALL_SUPPRESSED = "all_suppressed"
    SES_ERROR = "ses_error"


class SnsMessageType(StrEnum):
    # https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
    NOTIFICATION = "Notification"
    SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
    UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"


class EventType(StrEnum):
    """An SES event's type, one spelling for both shapes (app.ses.events maps AWS's)."""

    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    DELIVERY = "Delivery"
    SEND = "Send"
    REJECT = "Reject"
    OPEN = "Open"
    CLICK = "Click"
    RENDERING_FAILURE = "RenderingFailure"
    DELIVERY_DELAY = "DeliveryDelay"
    SUBSCRIPTION = "Subscription"
    SETUP_NOTICE = "SetupNotice"
    UNKNOWN = "Unknown"
