"""policy.settle_soft_bounce: when a soft-bounce entry is added, moved, lifted or left alone."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.suppression import effects, policy
from app.vocabulary import ChangeAction
from tests.suppression.policy_cases import (
    EMAIL,
    LATER,
    NOW,
    PAST,
    SOONER,
    current,
    decide,
    entry,
    kind_of,
    make_bounce,
    make_event,
    soft_bounces,
)

RUN_END = NOW + timedelta(days=7)  # three soft bounces ending NOW suppress until then
THREE = soft_bounces(0, 1, 2)


def soft(expires_at: datetime | None = RUN_END) -> effects.Entry:
    return entry("soft_bounce", expires_at=expires_at)


def sb(expires_at: datetime | None, source: str = "sns") -> effects.Current:
    return current("soft_bounce", source, expires_at)


ADDED, UPDATED, REMOVED = ChangeAction.ADDED, ChangeAction.UPDATED, ChangeAction.REMOVED
Row = tuple[str, effects.Entry | None, effects.Current | None, str | None, ChangeAction | None]
# (name, wanted, current, the write's kind, its change-log action)
TABLE: list[Row] = [
    ("run, no entry: added", soft(), None, "insert", ADDED),
    ("run, same soft entry: unchanged", soft(), sb(RUN_END), None, None),
    ("run, earlier soft entry: moved", soft(), sb(SOONER), "update", UPDATED),
    ("run, later soft entry: moved back", soft(SOONER), sb(LATER), "update", UPDATED),
    ("run, operator's soft entry: replaced", soft(), sb(SOONER, "api"), "update", UPDATED),
    ("run, expired soft entry: added again", soft(), sb(PAST), "update", ADDED),
    ("run, expired manual entry: added", soft(), current("manual", "api", PAST), "update", ADDED),
    ("run, expired at now: added", soft(), sb(NOW), "update", ADDED),
    ("run, bounce: left alone", soft(), current("bounce"), None, None),
    ("run, complaint: left alone", soft(), current("complaint"), None, None),
    ("run, unsubscribe: left alone", soft(), current("unsubscribe"), None, None),
    ("run, manual: left alone", soft(), current("manual", "api"), None, None),
    ("run, expiring manual: left alone", soft(), current("manual", "api", SOONER), None, None),
    ("no run, no entry: nothing", None, None, None, None),
    ("no run, sns soft entry: lifted", None, sb(LATER), "lift", REMOVED),
    ("no run, api soft entry: left alone", None, sb(LATER, "api"), None, None),
    ("no run, import soft entry: left alone", None, sb(LATER, "import"), None, None),
    ("no run, expired soft entry: left alone", None, sb(PAST), None, None),
    ("no run, soft entry expiring now: left alone", None, sb(NOW), None, None),
    ("no run, sns bounce: left alone", None, current("bounce"), None, None),
    ("no run, sns complaint: left alone", None, current("complaint"), None, None),
    (
        "no run, expiring sns bounce: left alone",
        None,
        current("bounce", expires_at=LATER),
        None,
        None,
    ),
    ("no run, manual: left alone", None, current("manual", "api", LATER), None, None),
]


class TestSettle:
    @pytest.mark.parametrize(
        ("name", "wanted", "found", "kind", "action"), TABLE, ids=[r[0] for r in TABLE]
    )
    def test_table(
        self,
        name: str,
        wanted: effects.Entry | None,
        found: effects.Current | None,
        kind: str | None,
        action: ChangeAction | None,
    ) -> None:
        write = policy.settle_soft_bounce(wanted, found, EMAIL, now=NOW)
        assert kind_of(write) == kind
        assert (write.line.action if write else None) is action
        if isinstance(write, effects.Update):
            assert action is not None
            assert write.entry == wanted
            assert write.redate is (action is ChangeAction.ADDED)
            assert write.keep_note is False  # the run's entry is recomputed whole
            assert write.line == effects.ChangeLine(
                EMAIL, action, "sns", "soft_bounce", wanted.expires_at if wanted else None
            )
        if isinstance(write, effects.Lift):
            note = write.line.note
            assert write.line == effects.ChangeLine(EMAIL, REMOVED, "sns", None, None, note)
            assert "delivery" in (note or "")


class TestALateDelivery:
    """SNS delivers out of order: a delivery that happened between the soft bounces
    arrives after the entry was made."""

    def test_breaking_the_run_lifts_the_entry_sns_made(self) -> None:
        state = effects.State(
            current("soft_bounce", expires_at=RUN_END),
            soft_bounces=THREE,
            deliveries=(NOW - timedelta(hours=1, minutes=30),),
        )
        outcome = decide(make_event("Delivery"), state)
        assert kind_of(outcome.write) == "lift"
        assert (outcome.log[0].email, outcome.log[0].action) == (EMAIL, ChangeAction.REMOVED)
        assert policy.change_of(outcome.write) == "removed"

    @pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(days=2)])
    def test_after_the_run_keeps_the_entry(self, after: timedelta) -> None:
        delivered = NOW + after
        state = effects.State(sb(RUN_END), soft_bounces=THREE, deliveries=(delivered,))
        outcome = decide(make_event("Delivery"), state)
        assert outcome.write is None
        # A delivery after the last soft bounce (not at the same instant) clears the count.
        count = 3 if after == timedelta(0) else 0
        assert outcome.soft_bounces == effects.SoftBounceCount(count, NOW, delivered)

    def test_before_the_run_keeps_the_entry(self) -> None:
        state = effects.State(
            current("soft_bounce", expires_at=RUN_END),
            soft_bounces=THREE,
            deliveries=(NOW - timedelta(hours=3),),
        )
        assert decide(make_event("Delivery"), state).write is None

    @pytest.mark.parametrize(
        "found",
        [
            current("soft_bounce", "api", RUN_END),
            current("soft_bounce", "cli", RUN_END),
            current("bounce"),
            current("complaint"),
            current("manual", "api"),
            current("soft_bounce", expires_at=PAST),
        ],
    )
    def test_breaking_the_run_leaves_other_entries(self, found: effects.Current) -> None:
        state = effects.State(found, soft_bounces=THREE, deliveries=(NOW - timedelta(minutes=90),))
        assert decide(make_event("Delivery"), state).write is None

    def test_a_soft_bounce_arriving_after_a_broken_run_lifts_too(self) -> None:
        # The delivery was recorded first; the last soft bounce then finds the entry stale.
        state = effects.State(
            current("soft_bounce", expires_at=RUN_END),
            soft_bounces=THREE,
            deliveries=(NOW - timedelta(minutes=30),),
        )
        assert kind_of(decide(make_bounce("Transient"), state).write) == "lift"


class TestTheRunMovesTheEntry:
    def test_a_later_run_moves_the_expiry(self) -> None:
        state = effects.State(current("soft_bounce", expires_at=SOONER), soft_bounces=THREE)
        outcome = decide(make_bounce("Transient"), state)
        assert isinstance(outcome.write, effects.Update)
        assert outcome.write.entry.expires_at == RUN_END
        assert outcome.write.line.action is ChangeAction.UPDATED

    def test_the_same_run_again_is_unchanged(self) -> None:
        state = effects.State(current("soft_bounce", expires_at=RUN_END), soft_bounces=THREE)
        assert decide(make_bounce("Transient"), state).write is None

    def test_a_run_never_touches_a_permanent_entry(self) -> None:
        state = effects.State(current("bounce"), soft_bounces=THREE)
        outcome = decide(make_bounce("Transient"), state)
        assert outcome.write is None
        assert outcome.soft_bounces == effects.SoftBounceCount(3, NOW, None)
