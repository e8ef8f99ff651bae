"""policy.decide, row by row of SPEC §3: the verdict, the one write, the count to save."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.ses.events import SesEvent
from app.suppression import effects, policy, ses_notes
from app.vocabulary import ChangeAction, EventType, Verdict
from tests.suppression.policy_cases import (
    ADDRESS,
    NOW,
    decide,
    kind_of,
    make_bounce,
    make_event,
    make_recipient,
    soft_bounces,
)

HARD, SOFT, ONLY = Verdict.HARD_BOUNCE, Verdict.SOFT_BOUNCE, Verdict.RECORD_ONLY
COMPLAINT, UNSUB = Verdict.COMPLAINT, Verdict.UNSUBSCRIBE
P, T = "Permanent", "Transient"
# (name, event, verdict, reason of the entry inserted for a new address or None)
ROWS: list[tuple[str, SesEvent, Verdict, str | None]] = [
    ("permanent general", make_bounce(P), HARD, "bounce"),
    ("permanent on account list", make_bounce(P, "OnAccountSuppressionList"), HARD, "bounce"),
    ("permanent, action failed", make_bounce(P, action="failed"), HARD, "bounce"),
    ("permanent, action FAILED", make_bounce(P, action=" FAILED "), HARD, "bounce"),
    ("permanent, unknown action", make_bounce(P, action="bogus"), HARD, "bounce"),
    ("permanent, delayed: one soft bounce", make_bounce(P, action="delayed"), SOFT, None),
    ("permanent, Delayed", make_bounce(P, action=" Delayed"), SOFT, None),
    ("permanent, delivered", make_bounce(P, action="delivered"), ONLY, None),
    ("permanent, RELAYED", make_bounce(P, action="RELAYED"), ONLY, None),
    ("permanent, expanded", make_bounce(P, action="expanded"), ONLY, None),
    ("transient 5.1.1", make_bounce(T, status="5.1.1"), HARD, "bounce"),
    ("transient 5.1.2", make_bounce(T, status="5.1.2"), HARD, "bounce"),
    ("transient 5.1.3", make_bounce(T, status="5.1.3"), HARD, "bounce"),
    ("transient 5.1.10", make_bounce(T, status="5.1.10"), HARD, "bounce"),
    ("transient 5.4.4", make_bounce(T, status="5.4.4"), HARD, "bounce"),
    ("transient 4.2.2", make_bounce(T, status="4.2.2"), SOFT, None),
    ("transient mailbox full", make_bounce(T, "MailboxFull"), SOFT, None),
    ("transient too large", make_bounce(T, "MessageTooLarge"), ONLY, None),
    ("transient content", make_bounce(T, "ContentRejected"), ONLY, None),
    ("transient attachment", make_bounce(T, "AttachmentRejected"), ONLY, None),
    ("undetermined", make_bounce("Undetermined"), ONLY, None),
    ("complaint abuse", make_event("Complaint", feedback_type="abuse"), COMPLAINT, "complaint"),
    ("complaint no report", make_event("Complaint"), COMPLAINT, "complaint"),
    ("complaint not-spam", make_event("Complaint", feedback_type="Not-Spam"), ONLY, None),
    ("unsubscribe all", make_event("Subscription", unsubscribe_all=True), UNSUB, "unsubscribe"),
    ("topic opt-out", make_event("Subscription", unsubscribe_all=False), ONLY, None),
    ("delivery", make_event("Delivery"), Verdict.DELIVERY, None),
    ("send", make_event("Send"), ONLY, None),
    ("reject", make_event("Reject"), ONLY, None),
    ("open", make_event("Open"), ONLY, None),
    ("click", make_event("Click"), ONLY, None),
    ("delivery delay", make_event("DeliveryDelay"), ONLY, None),
    ("rendering failure", make_event("RenderingFailure"), ONLY, None),
    ("setup notice", make_event("SetupNotice"), ONLY, None),
]


class TestEachRowForANewAddress:
    @pytest.mark.parametrize(("name", "event", "verdict", "reason"), ROWS, ids=[r[0] for r in ROWS])
    def test_verdict_and_write(
        self, name: str, event: SesEvent, verdict: Verdict, reason: str | None
    ) -> None:
        outcome = decide(event, effects.State(soft_bounces=soft_bounces(0)))
        assert outcome.verdict is verdict
        assert policy.classify(event, event.recipients[0]) is verdict
        if reason is None:
            assert outcome.write is None
            assert outcome.log == ()
            return
        assert isinstance(outcome.write, effects.Insert)
        # SES's own list blocked the send: the entry and its history say so (SPEC §7).
        on_account = name == "permanent on account list"
        note = ses_notes.ON_ACCOUNT_LIST_NOTE if on_account else None
        assert outcome.write.entry == effects.Entry(
            email="ann@example.com",
            display="Ann@Example.COM",
            reason=reason,
            source="sns",
            subtype=event.subtype,
            diagnostic_code="smtp; 550",
            ses_message_id="msg-1",
            feedback_id=event.feedback_id,
            note=note,
            expires_at=None,
        )
        assert outcome.log == (
            effects.ChangeLine("ann@example.com", ChangeAction.ADDED, "sns", reason, None, note),
        )

    @pytest.mark.parametrize(("name", "event", "verdict", "reason"), ROWS, ids=[r[0] for r in ROWS])
    def test_only_counted_verdicts_save_a_count(
        self, name: str, event: SesEvent, verdict: Verdict, reason: str | None
    ) -> None:
        outcome = decide(event, effects.State(soft_bounces=soft_bounces(0)))
        counted = verdict in (Verdict.SOFT_BOUNCE, Verdict.DELIVERY)
        assert (outcome.soft_bounces is not None) is counted
        assert (verdict in policy.COUNTED) is counted
        assert (verdict in policy.STATEFUL) is (counted or reason is not None)


class TestDelayedRecipientOfAPermanentBounce:
    """SPEC §3 (2026-12): a DSN action `delayed` is not a failure yet (RFC 3464 §2.3.3)."""

    def test_counts_as_a_soft_bounce_and_suppresses_at_the_limit(self) -> None:
        event = make_bounce("Permanent", "Suppressed", action="delayed", status="4.4.7")
        outcome = decide(event, effects.State(soft_bounces=soft_bounces(0, 1, 2)))
        assert outcome.verdict is Verdict.SOFT_BOUNCE
        assert isinstance(outcome.write, effects.Insert)
        # The entry says what bouncer took the bounce for: Transient General.
        assert (outcome.write.entry.reason, outcome.write.entry.subtype) == (
            "soft_bounce",
            "General",
        )
        assert outcome.write.entry.expires_at == NOW + timedelta(days=7)

    @pytest.mark.parametrize("subtype", ["MailboxFull", "General"])
    def test_a_delayed_transient_bounce_keeps_its_subtype(self, subtype: str) -> None:
        event = make_bounce("Transient", subtype, action="delayed", status="4.2.2")
        outcome = decide(event, effects.State(soft_bounces=soft_bounces(0, 1, 2)))
        assert isinstance(outcome.write, effects.Insert)
        assert outcome.write.entry.subtype == subtype

    def test_below_the_limit_only_counts(self) -> None:
        event = make_bounce("Permanent", action="delayed", status="4.4.7")
        outcome = decide(event, effects.State(soft_bounces=soft_bounces(0, 1)))
        assert outcome.write is None
        assert outcome.soft_bounces == effects.SoftBounceCount(2, NOW, None)

    def test_is_read_as_transient_so_a_no_such_mailbox_status_is_still_hard(self) -> None:
        event = make_bounce("Permanent", action="delayed", status="5.1.1")
        assert decide(event).verdict is Verdict.HARD_BOUNCE

    def test_other_recipients_of_the_same_bounce_keep_their_own_action(self) -> None:
        failed, delayed = make_recipient(action="failed"), make_recipient(action="delayed")
        event = SesEvent(
            "notification", EventType.BOUNCE, bounce_type="Permanent", recipients=(failed, delayed)
        )
        assert policy.classify(event, failed) is Verdict.HARD_BOUNCE
        assert policy.classify(event, delayed) is Verdict.SOFT_BOUNCE

    @pytest.mark.parametrize("bounce_type", ["Transient", "Undetermined"])
    def test_the_action_changes_nothing_for_other_bounce_types(self, bounce_type: str) -> None:
        for action in ("delivered", "delayed", "failed"):
            with_action = make_bounce(bounce_type, action=action)
            without = make_bounce(bounce_type)
            assert decide(with_action).verdict is decide(without).verdict


class TestSoftBounceCount:
    def test_saves_the_count_the_last_bounce_and_the_last_delivery(self) -> None:
        delivered = (NOW - timedelta(hours=5),)
        state = effects.State(soft_bounces=soft_bounces(0, 1, 6), deliveries=delivered)
        outcome = decide(make_bounce("Transient"), state)
        assert outcome.soft_bounces == effects.SoftBounceCount(2, NOW, delivered[0])
        assert outcome.write is None  # two since the delivery: below the limit

    def test_a_delivery_to_an_address_without_soft_bounces(self) -> None:
        outcome = decide(make_event("Delivery"), effects.State(deliveries=(NOW,)))
        assert outcome.soft_bounces == effects.SoftBounceCount(0, None, NOW)
        assert outcome.write is None

    def test_a_delivery_clears_the_count(self) -> None:
        state = effects.State(soft_bounces=soft_bounces(1, 2), deliveries=(NOW,))
        outcome = decide(make_event("Delivery"), state)
        assert outcome.soft_bounces == effects.SoftBounceCount(0, NOW - timedelta(hours=1), NOW)

    def test_custom_rules(self) -> None:
        outcome = decide(
            make_bounce("Transient"),
            effects.State(soft_bounces=soft_bounces(0)),
            soft_bounce_limit=1,
            soft_bounce_suppress_days=2,
        )
        assert isinstance(outcome.write, effects.Insert)
        assert outcome.write.entry.expires_at == NOW + timedelta(days=2)

    def test_a_run_that_has_ended_suppresses_nothing(self) -> None:
        # Three soft bounces 8 days ago reached the limit, but their 7 days are over.
        state = effects.State(soft_bounces=soft_bounces(192, 193, 194))
        outcome = decide(make_bounce("Transient"), state)
        assert outcome.write is None

    def test_a_run_ending_exactly_now_suppresses_nothing(self) -> None:
        state = effects.State(soft_bounces=soft_bounces(168, 169, 170))
        assert decide(make_bounce("Transient"), state).write is None
        state = effects.State(soft_bounces=soft_bounces(167.9, 169, 170))
        assert kind_of(decide(make_bounce("Transient"), state).write) == "insert"

    def test_horizon_reaches_back_window_plus_suppression(self) -> None:
        assert policy.Rules().horizon(NOW) == NOW - timedelta(days=21)
        rules = policy.Rules(soft_bounce_window_days=2, soft_bounce_suppress_days=3)
        assert rules.horizon(NOW) == NOW - timedelta(days=5)


class TestTheEntrySaysWhatCausedIt:
    def test_complaint_subtype_and_ids(self) -> None:
        event = SesEvent(
            "event",
            EventType.COMPLAINT,
            complaint_feedback_type="abuse",
            complaint_subtype="OnAccountSuppressionList",
            ses_message_id="m-9",
            feedback_id="f-9",
            recipients=(make_recipient(code=None),),
        )
        write = decide(event).write
        assert isinstance(write, effects.Insert)
        assert (write.entry.subtype, write.entry.ses_message_id, write.entry.feedback_id) == (
            "OnAccountSuppressionList",
            "m-9",
            "f-9",
        )
        assert (write.entry.email, write.entry.display) == (ADDRESS.normalized, ADDRESS.display)
