"""The words bouncer stores: reasons, sources, verdicts, actions, statuses and types.

Each is a StrEnum, so a value compares and serialises as its plain string, the column
holds that string, and a CHECK constraint (migration 0006) keeps anything else out.
A word added here needs a migration that swaps its columns' CHECK constraints
(tests/test_migrations.py fails until one does). Class docstrings are the API's: the
OpenAPI document shows them beside the values.
"""

from __future__ import annotations

from enum import StrEnum


# SPEC §3; app.suppression.policy ranks them.
class Reason(StrEnum):
    """Why an address is on the list."""

    BOUNCE = "bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    MANUAL = "manual"


# SPEC §3; sync is written by the SES account-level list sync (SPEC §7).
class Source(StrEnum):
    """Which door an entry came in by."""

    SNS = "sns"
    API = "api"
    CLI = "cli"
    IMPORT = "import"
    SYNC = "sync"


class Verdict(StrEnum):
    """What bouncer made of one SES event for one recipient."""

    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    DELIVERY = "delivery"
    RECORD_ONLY = "record_only"


class ChangeAction(StrEnum):
    """What one line of an entry's history did to the entry."""

    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"
    # The entry is unchanged: the line records that SES's account-level list (the region
    # in the actor) holds the address too (SPEC §7; migration 0007).
    NOTED = "noted"
    # The entry's expires_at passed: it no longer suppresses (SPEC §10; migration 0012).
    EXPIRED = "expired"


class SubscriptionStatus(StrEnum):
    """Where an SNS subscription seen at /sns stands."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    FAILED = "failed"  # confirming it failed: see the subscription's last_error


class ConfirmedVia(StrEnum):
    """How bouncer confirmed an SNS subscription."""

    API = "api"  # sns:ConfirmSubscription with AuthenticateOnUnsubscribe
    URL = "url"  # a GET of the checked SubscribeURL


class SendOutcome(StrEnum):
    """What became of one send through the wrapper."""

    SENT = "sent"
    ALL_SUPPRESSED = "all_suppressed"
    SES_ERROR = "ses_error"


class SnsMessageType(StrEnum):
    """An SNS message's Type."""

    # https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
    NOTIFICATION = "Notification"
    SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
    UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"


class EventType(StrEnum):
    """An SES event's type, one spelling whichever shape SES posted it in."""

    # app.ses.events maps AWS's spellings ("Rendering Failure", identity notifications).

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


# SPEC §10.
class ChangeType(StrEnum):
    """What one event of the change feed (GET /v1/changes, webhooks) reports."""

    SUPPRESSION_ADDED = "suppression.added"
    SUPPRESSION_UPDATED = "suppression.updated"
    SUPPRESSION_REMOVED = "suppression.removed"
    SUPPRESSION_EXPIRED = "suppression.expired"
    SEND_SUPPRESSED = "send.suppressed"


class DeliveryStatus(StrEnum):
    """Where one event's delivery to one webhook endpoint stands."""

    PENDING = "pending"  # waiting for its first attempt or its next retry
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # no 2xx answer in 24 hours of retries
