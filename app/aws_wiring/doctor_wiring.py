"""What ``bouncer aws doctor`` read of one region's wiring, as plain values the checks
judge without calling AWS. ``None`` everywhere means "could not be read": the checks
that need it are left out (the read's own finding says why)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Feedback(StrEnum):
    """The SES events bouncer acts on, as identity notifications name them."""

    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    DELIVERY = "Delivery"


# Without these, addresses that bounce or complain are never suppressed.
REQUIRED = (Feedback.BOUNCE, Feedback.COMPLAINT)

# SNS lists a subscription awaiting confirmation under this word instead of an ARN.
# https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html
PENDING_ARN = "PendingConfirmation"


@dataclass(frozen=True)
class Publisher:
    """An identity (notifications) or a configuration set (event publishing) and the
    topics it publishes each kind of feedback to."""

    name: str
    is_identity: bool
    topics: Mapping[Feedback, frozenset[str]]
    forwarding: bool = False  # identities: bounces and complaints also emailed

    @property
    def what(self) -> str:
        return f"identity {self.name}" if self.is_identity else f"configuration set {self.name}"

    def publishes(self, kind: Feedback) -> frozenset[str]:
        return self.topics.get(kind, frozenset())


@dataclass(frozen=True)
class TopicSubscription:
    arn: str
    protocol: str
    endpoint: str
    pending: bool
    raw: bool | None  # RawMessageDelivery; None: not read (pending, or refused)


@dataclass(frozen=True)
class Topic:
    arn: str
    exists: bool = True
    # "1" or "2"; a topic that never set it signs with 1 (SNS's default). None: not read.
    signature_version: str | None = None
    subscriptions: tuple[TopicSubscription, ...] | None = None


@dataclass(frozen=True)
class Account:
    """SES v2 GetAccount's answer, the parts the doctor judges."""

    sending_enabled: bool
    enforcement_status: str  # HEALTHY, PROBATION, SHUTDOWN
    production_access: bool
    suppressed_reasons: frozenset[str]  # BOUNCE, COMPLAINT: the account-level list


@dataclass(frozen=True)
class Wiring:
    region: str
    identities: tuple[Publisher, ...] | None = None  # the verified ones
    unverified: Mapping[str, str] = field(default_factory=dict)  # identity -> its status
    configuration_set_names: frozenset[str] | None = None
    configuration_sets: tuple[Publisher, ...] = ()  # those whose destinations were read
    topics: Mapping[str, Topic] = field(default_factory=dict)
    account: Account | None = None

    @property
    def publishers(self) -> tuple[Publisher, ...]:
        return (*(self.identities or ()), *self.configuration_sets)
