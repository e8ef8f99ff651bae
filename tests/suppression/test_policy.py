"""The SPEC §3 table, row by row: what one SES event does to one recipient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ses.events import TYPES, SesEvent, SesRecipient
from app.suppression.policy import (
    PERMANENT_REASON,
    REASONS,
    Rules,
    Verdict,
    classify,
    soft_bounce_run,
)
from app.vocabulary import EventType

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
RECIPIENT = SesRecipient("ann@example.com")


def make_bounce(
    bounce_type: str | None, subtype: str | None = "General", status: str | None = None
) -> tuple[SesEvent, SesRecipient]:
    recipient = SesRecipient("ann@example.com", status=status, action="failed")
    event = SesEvent(
        "notification",
        EventType.BOUNCE,
        bounce_type=bounce_type,
        bounce_subtype=subtype,
        feedback_id="fb",
        recipients=(recipient,),
    )
    return event, recipient


def make_complaint(feedback_type: str | None, subtype: str | None = None) -> SesEvent:
    return SesEvent(
        "event",
        EventType.COMPLAINT,
        complaint_feedback_type=feedback_type,
        complaint_subtype=subtype,
        recipients=(RECIPIENT,),
    )


def make_subscription(unsubscribe_all: bool | None, recipients: int = 1) -> SesEvent:
    return SesEvent(
        "event",
        EventType.SUBSCRIPTION,
        unsubscribe_all=unsubscribe_all,
        recipients=tuple(SesRecipient(f"r{n}@example.com") for n in range(recipients)),
    )


@dataclass(frozen=True)
class Effect:
    verdict: Verdict
    suppress: bool
    reason: str | None
    expires_at: datetime | None


def decide_now(
    event: SesEvent,
    recipient: SesRecipient = RECIPIENT,
    *,
    soft_bounces_in_window: int = 1,
    rules: Rules | None = None,
) -> Effect:
    """What the policy does to one recipient, the newest of ``soft_bounces_in_window``
    soft bounces (one a second, ending NOW) if it is one."""
    rules = rules or Rules()
    verdict = classify(event, recipient)
    reason, expires_at = PERMANENT_REASON.get(verdict), None
    if verdict is Verdict.SOFT_BOUNCE:
        bounces = [NOW - timedelta(seconds=n) for n in range(soft_bounces_in_window)]
        run = soft_bounce_run(bounces, [], rules=rules)[1]
        if run is not None:
            reason, expires_at = "soft_bounce", run.expires_at
    return Effect(verdict, reason is not None, reason, expires_at)


class TestPermanentBounce:
    @pytest.mark.parametrize(
        "subtype",
        ["General", "NoEmail", "Suppressed", "OnAccountSuppressionList", "Undetermined", None],
    )
    def test_any_subtype_is_a_hard_bounce(self, subtype: str | None) -> None:
        event, recipient = make_bounce("Permanent", subtype)
        assert classify(event, recipient) is Verdict.HARD_BOUNCE

    def test_suppresses_for_good_with_reason_bounce(self) -> None:
        event, recipient = make_bounce("Permanent", "OnAccountSuppressionList")
        assert decide_now(event, recipient) == Effect(
            verdict=Verdict.HARD_BOUNCE,
            suppress=True,
            reason="bounce",
            expires_at=None,
        )


class TestTransientBounceWithNoSuchMailbox:
    @pytest.mark.parametrize("status", ["5.1.1", "5.1.2", "5.1.3", "5.1.10", "5.4.4"])
    @pytest.mark.parametrize(
        "subtype", ["General", "MailboxFull", "MessageTooLarge", "ContentRejected", None]
    )
    def test_each_status_is_as_permanent(self, status: str, subtype: str | None) -> None:
        event, recipient = make_bounce("Transient", subtype, status)
        effect = decide_now(event, recipient)
        assert (effect.verdict, effect.reason, effect.expires_at) == (
            Verdict.HARD_BOUNCE,
            "bounce",
            None,
        )

    @pytest.mark.parametrize(
        "status",
        [
            "smtp; 5.1.1",
            "SMTP;5.1.1",
            "x-postfix; 5.1.10",
            " 5.4.4 ",
            "5.01.001",
        ],
    )
    def test_status_spellings_that_still_name_the_code(self, status: str) -> None:
        event, recipient = make_bounce("Transient", "General", status)
        assert classify(event, recipient) is Verdict.HARD_BOUNCE

    @pytest.mark.parametrize(
        "status",
        [
            pytest.param("5.1.11", id="5.1.11-starts-like-5.1.1"),
            pytest.param("5.1.100", id="5.1.100-starts-like-5.1.10"),
            pytest.param("5.1.12", id="5.1.12"),
            pytest.param("5.4.40", id="5.4.40"),
            pytest.param("4.1.1", id="transient-class"),
            pytest.param("5.1", id="truncated"),
            pytest.param("15.1.1", id="extra-leading-digit"),
            pytest.param("5.1.1.1", id="four-parts"),
            pytest.param("5.1.1x", id="trailing-text"),
            pytest.param("5.1.1 (user unknown)", id="trailing-comment"),
            pytest.param("smtp; 550 5.1.1 user unknown", id="a-diagnostic-not-a-status"),
            pytest.param("5.1.1; smtp", id="suffix-type"),
            pytest.param("\u0665.\u0661.\u0661", id="arabic-indic-digits"),
            pytest.param("", id="empty"),
            pytest.param(None, id="absent"),
        ],
    )
    def test_look_alikes_are_not_special(self, status: str | None) -> None:
        event, recipient = make_bounce("Transient", "General", status)
        assert classify(event, recipient) is Verdict.SOFT_BOUNCE

    def test_the_status_belongs_to_the_recipient(self) -> None:
        event, _ = make_bounce("Transient", "General", "5.1.1")
        other = SesRecipient("bob@example.com", status="4.2.2")
        assert classify(event, other) is Verdict.SOFT_BOUNCE


class TestTransientBounce:
    @pytest.mark.parametrize("subtype", ["General", "MailboxFull", "SomethingNew", None])
    def test_address_at_fault_is_a_soft_bounce(self, subtype: str | None) -> None:
        event, recipient = make_bounce("Transient", subtype, "4.2.2")
        assert classify(event, recipient) is Verdict.SOFT_BOUNCE

    @pytest.mark.parametrize(
        "subtype", ["MessageTooLarge", "ContentRejected", "AttachmentRejected"]
    )
    def test_message_at_fault_is_recorded_only(self, subtype: str) -> None:
        event, recipient = make_bounce("Transient", subtype, "5.3.4")
        effect = decide_now(event, recipient, soft_bounces_in_window=99)
        assert effect.verdict is Verdict.RECORD_ONLY
        assert not effect.suppress


class TestOtherBounceTypes:
    @pytest.mark.parametrize(
        "bounce_type", ["Undetermined", None, "permanent", "Soft", "TRANSIENT"]
    )
    def test_are_recorded_only(self, bounce_type: str | None) -> None:
        event, recipient = make_bounce(bounce_type, "Undetermined", "5.1.1")
        effect = decide_now(event, recipient)
        assert effect.verdict is Verdict.RECORD_ONLY
        assert not effect.suppress


class TestSoftBounceWindow:
    @pytest.mark.parametrize(
        ("count", "suppressed"),
        [(0, False), (1, False), (2, False), (3, True), (4, True), (40, True)],
        ids=["none", "first", "limit-1", "limit", "limit+1", "many"],
    )
    def test_suppresses_once_the_limit_is_reached(self, count: int, suppressed: bool) -> None:
        event, recipient = make_bounce("Transient", "MailboxFull")
        effect = decide_now(event, recipient, soft_bounces_in_window=count)
        assert effect.verdict is Verdict.SOFT_BOUNCE
        assert effect.suppress is suppressed
        assert effect.reason == ("soft_bounce" if suppressed else None)
        assert effect.expires_at == (NOW + timedelta(days=7) if suppressed else None)

    @pytest.mark.parametrize(("count", "suppressed"), [(4, False), (5, True), (6, True)])
    def test_follows_custom_rules(self, count: int, suppressed: bool) -> None:
        rules = Rules(soft_bounce_limit=5, soft_bounce_window_days=30, soft_bounce_suppress_days=2)
        event, recipient = make_bounce("Transient", "General")
        effect = decide_now(event, recipient, soft_bounces_in_window=count, rules=rules)
        assert effect.suppress is suppressed
        assert effect.expires_at == (NOW + timedelta(days=2) if suppressed else None)

    def test_a_limit_of_one_suppresses_the_first(self) -> None:
        event, recipient = make_bounce("Transient", "General")
        effect = decide_now(event, recipient, rules=Rules(soft_bounce_limit=1))
        assert effect.suppress

    def test_defaults_are_the_spec_defaults(self) -> None:
        assert Rules() == Rules(
            soft_bounce_limit=3, soft_bounce_window_days=14, soft_bounce_suppress_days=7
        )

    @pytest.mark.parametrize(
        "field", ["soft_bounce_limit", "soft_bounce_window_days", "soft_bounce_suppress_days"]
    )
    @pytest.mark.parametrize("value", [0, -1])
    def test_rules_below_one_are_refused(self, field: str, value: int) -> None:
        with pytest.raises(ValueError, match=field.upper()):
            Rules(**{field: value})

    @given(st.integers(min_value=1, max_value=50), st.integers(min_value=0, max_value=100))
    def test_suppressed_exactly_at_or_over_the_limit(self, limit: int, count: int) -> None:
        event, recipient = make_bounce("Transient", "General")
        effect = decide_now(
            event, recipient, soft_bounces_in_window=count, rules=Rules(soft_bounce_limit=limit)
        )
        assert effect.suppress is (count >= limit)


class TestComplaint:
    @pytest.mark.parametrize(
        "feedback_type", ["abuse", "auth-failure", "fraud", "other", "virus", "new-kind", None, ""]
    )
    def test_suppresses_for_good_with_reason_complaint(self, feedback_type: str | None) -> None:
        effect = decide_now(make_complaint(feedback_type))
        assert (effect.verdict, effect.suppress, effect.reason, effect.expires_at) == (
            Verdict.COMPLAINT,
            True,
            "complaint",
            None,
        )

    @pytest.mark.parametrize("feedback_type", ["not-spam", "Not-Spam", " not-spam "])
    def test_not_spam_is_recorded_only(self, feedback_type: str) -> None:
        effect = decide_now(make_complaint(feedback_type))
        assert effect.verdict is Verdict.RECORD_ONLY
        assert not effect.suppress

    def test_on_account_suppression_list_subtype_is_still_a_complaint(self) -> None:
        event = make_complaint(None, "OnAccountSuppressionList")
        assert classify(event, RECIPIENT) is Verdict.COMPLAINT


class TestSubscription:
    def test_unsubscribe_all_suppresses_for_good(self) -> None:
        event = make_subscription(True)
        effect = decide_now(event, event.recipients[0])
        assert (effect.verdict, effect.suppress, effect.reason, effect.expires_at) == (
            Verdict.UNSUBSCRIBE,
            True,
            "unsubscribe",
            None,
        )

    @pytest.mark.parametrize("unsubscribe_all", [False, None])
    def test_topic_changes_and_resubscribes_are_recorded_only(
        self, unsubscribe_all: bool | None
    ) -> None:
        event = make_subscription(unsubscribe_all)
        assert classify(event, event.recipients[0]) is Verdict.RECORD_ONLY

    @pytest.mark.parametrize("recipients", [0, 2, 3])
    def test_without_exactly_one_recipient_nobody_is_suppressed(self, recipients: int) -> None:
        event = make_subscription(True, recipients)
        assert all(classify(event, r) is Verdict.RECORD_ONLY for r in event.recipients)


class TestDelivery:
    def test_clears_the_soft_bounce_count_and_suppresses_nothing(self) -> None:
        event = SesEvent("notification", EventType.DELIVERY, recipients=(RECIPIENT,))
        assert decide_now(event, soft_bounces_in_window=5) == Effect(
            verdict=Verdict.DELIVERY,
            suppress=False,
            reason=None,
            expires_at=None,
        )
        # What "clears the count" means: soft bounces before a delivery no longer count.
        bounces = [NOW - timedelta(hours=n) for n in range(1, 4)]
        assert soft_bounce_run(bounces, [NOW], rules=Rules())[0] == 0
        assert soft_bounce_run(bounces, [], rules=Rules())[0] == 3


class TestEverythingElse:
    @pytest.mark.parametrize(
        "event_type",
        [t for t in TYPES if t not in ("Bounce", "Complaint", "Delivery", "Subscription")],
    )
    def test_is_recorded_only(self, event_type: EventType) -> None:
        event = SesEvent(
            "event",
            event_type,
            bounce_type="Permanent",
            complaint_feedback_type="abuse",
            unsubscribe_all=True,
            recipients=(RECIPIENT,),
        )
        assert decide_now(event, soft_bounces_in_window=99) == Effect(
            verdict=Verdict.RECORD_ONLY,
            suppress=False,
            reason=None,
            expires_at=None,
        )


class TestReasons:
    def test_lists_every_reason_including_manual(self) -> None:
        assert set(REASONS) == {"bounce", "soft_bounce", "complaint", "unsubscribe", "manual"}

    def test_every_suppressing_effect_has_a_valid_reason(self) -> None:
        events = [
            make_bounce("Permanent")[0],
            make_bounce("Transient")[0],
            make_complaint("abuse"),
            make_subscription(True),
        ]
        for event in events:
            effect = decide_now(event, event.recipients[0], soft_bounces_in_window=3)
            assert effect.suppress
            assert effect.reason in REASONS

    def test_verdicts_are_the_stored_strings(self) -> None:
        assert [v.value for v in Verdict] == [
            "hard_bounce",
            "soft_bounce",
            "complaint",
            "unsubscribe",
            "delivery",
            "record_only",
        ]


class TestSoftBounceRun:
    """The soft-bounce rule as a function of the set of events, whatever their order."""

    RULES = Rules(soft_bounce_limit=3, soft_bounce_window_days=14, soft_bounce_suppress_days=7)

    def days(self, *offsets: float) -> list[datetime]:
        return [NOW + timedelta(days=d) for d in offsets]

    def test_below_the_limit_no_run(self) -> None:
        count, run = soft_bounce_run(self.days(0, 1), [], rules=self.RULES)
        assert (count, run) == (2, None)

    def test_at_the_limit_run_ends_at_the_last_bounce(self) -> None:
        count, run = soft_bounce_run(self.days(0, 1, 2), [], rules=self.RULES)
        assert count == 3
        assert run is not None
        assert run.anchor == NOW + timedelta(days=2)
        assert run.expires_at == NOW + timedelta(days=9)

    def test_window_edge(self) -> None:
        # 14 days apart exactly: the first is outside the window that ends at the third.
        assert soft_bounce_run(self.days(0, 7, 14), [], rules=self.RULES)[1] is None
        assert soft_bounce_run(self.days(0.001, 7, 14), [], rules=self.RULES)[1] is not None

    def test_a_delivery_between_breaks_the_run(self) -> None:
        bounces = self.days(0, 1, 3)
        assert soft_bounce_run(bounces, self.days(2), rules=self.RULES) == (1, None)

    def test_a_delivery_after_keeps_the_run_but_clears_the_count(self) -> None:
        count, run = soft_bounce_run(self.days(0, 1, 2), self.days(5), rules=self.RULES)
        assert count == 0
        assert run is not None
        assert run.anchor == NOW + timedelta(days=2)

    def test_order_does_not_matter(self) -> None:
        bounces = self.days(0, 1, 2, 20, 21)
        deliveries = self.days(10)
        expected = soft_bounce_run(bounces, deliveries, rules=self.RULES)
        assert soft_bounce_run(list(reversed(bounces)), deliveries, rules=self.RULES) == expected
        assert expected[1] is not None
        assert expected[1].anchor == NOW + timedelta(days=2)

    def test_latest_run_wins(self) -> None:
        run = soft_bounce_run(self.days(0, 1, 2, 30, 31, 32), [], rules=self.RULES)[1]
        assert run is not None
        assert run.anchor == NOW + timedelta(days=32)
