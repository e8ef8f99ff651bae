"""policy.write_entry and is_stronger: which entry wins, and what an operator's write does."""

from __future__ import annotations

from datetime import datetime

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
)

RANKED = ["manual", "complaint", "bounce", "unsubscribe", "soft_bounce"]  # strongest first


class TestReasonRank:
    def test_manual_complaint_bounce_unsubscribe_soft_bounce(self) -> None:
        assert (
            sorted(policy.REASON_RANK, key=policy.REASON_RANK.__getitem__, reverse=True) == RANKED
        )
        assert set(policy.REASON_RANK) == set(policy.REASONS)

    @pytest.mark.parametrize("new", RANKED)
    @pytest.mark.parametrize("old", RANKED)
    def test_between_permanent_entries_the_higher_rank_wins(self, new: str, old: str) -> None:
        stronger = RANKED.index(new) < RANKED.index(old)
        assert policy.is_stronger(entry(new), current(old)) is stronger
        write = policy.write_entry(entry(new), current(old), actor="sns", now=NOW)
        assert kind_of(write) == ("update" if stronger else None)

    @pytest.mark.parametrize("known", RANKED)
    def test_a_reason_policy_does_not_know_ranks_with_soft_bounce(self, known: str) -> None:
        # Nothing writes one, but a stored row is only as strict as its column: rank lowest.
        assert policy.is_stronger(entry("legacy"), current(known)) is False
        assert policy.is_stronger(entry(known), current("legacy")) is (known != "soft_bounce")

    def test_nothing_written_is_unchanged(self) -> None:
        assert policy.change_of(None) == "unchanged"


# (new entry's expiry, current entry's expiry, is the new one stronger); reasons equal.
EXPIRIES: list[tuple[datetime | None, datetime | None, bool]] = [
    (None, LATER, True),  # permanent beats expiring
    (LATER, None, False),
    (LATER, SOONER, True),  # a later expiry beats an earlier one
    (SOONER, LATER, False),
    (LATER, LATER, False),  # the same expiry changes nothing
]


class TestExpiry:
    @pytest.mark.parametrize(("new", "old", "stronger"), EXPIRIES)
    @pytest.mark.parametrize(
        ("new_reason", "old_reason"),
        [("bounce", "bounce"), ("soft_bounce", "manual"), ("manual", "soft_bounce")],
    )
    def test_before_the_reason(
        self,
        new: datetime | None,
        old: datetime | None,
        stronger: bool,
        new_reason: str,
        old_reason: str,
    ) -> None:
        assert (
            policy.is_stronger(
                entry(new_reason, expires_at=new), current(old_reason, expires_at=old)
            )
            is stronger
        )


class TestAnSesEventOnAnActiveEntry:
    def test_a_weaker_one_leaves_it(self) -> None:
        assert (
            policy.write_entry(entry("bounce"), current("complaint"), actor="sns", now=NOW) is None
        )
        outcome = decide(make_bounce("Permanent"), effects.State(current("complaint")))
        assert outcome.write is None
        assert outcome.log == ()

    def test_a_stronger_one_updates_it_keeping_its_date_and_note(self) -> None:
        write = policy.write_entry(entry("complaint"), current("bounce"), actor="sns", now=NOW)
        assert write == effects.Update(
            entry("complaint"),
            effects.ChangeLine(EMAIL, ChangeAction.UPDATED, "sns", "complaint", None, None),
            redate=False,
            keep_note=True,
        )
        assert policy.change_of(write) == "updated"

    def test_a_hard_bounce_replaces_a_soft_bounce_entry(self) -> None:
        state = effects.State(current("soft_bounce", expires_at=LATER))
        outcome = decide(make_bounce("Permanent"), state)
        assert isinstance(outcome.write, effects.Update)
        assert (outcome.write.entry.reason, outcome.write.entry.expires_at) == ("bounce", None)
        assert outcome.write.line.action is ChangeAction.UPDATED


class TestAnExpiredEntryComesBack:
    """Whatever it was, an expired entry is no suppression: a new one is "added", dated now."""

    @pytest.mark.parametrize("old", RANKED)
    @pytest.mark.parametrize("by_operator", [False, True])
    def test_as_added_and_redated(self, old: str, by_operator: bool) -> None:
        write = policy.write_entry(
            entry("soft_bounce", expires_at=LATER),
            current(old, expires_at=PAST),
            actor="sns",
            now=NOW,
            by_operator=by_operator,
        )
        assert isinstance(write, effects.Update)
        assert write.redate is True
        assert write.line.action is ChangeAction.ADDED
        assert policy.change_of(write) == "added"

    def test_expiring_exactly_now_is_expired(self) -> None:
        write = policy.write_entry(
            entry("bounce"), current("manual", expires_at=NOW), actor="sns", now=NOW
        )
        assert isinstance(write, effects.Update)
        assert (write.redate, write.line.action) == (True, ChangeAction.ADDED)

    def test_through_decide(self) -> None:
        outcome = decide(make_event("Complaint"), effects.State(current("manual", "api", PAST)))
        assert isinstance(outcome.write, effects.Update)
        assert outcome.write.redate is True
        assert outcome.log[0].action is ChangeAction.ADDED

    def test_an_active_one_is_not_redated(self) -> None:
        write = policy.write_entry(
            entry("manual"),
            current("bounce", expires_at=LATER),
            actor="ops",
            now=NOW,
            by_operator=True,
        )
        assert isinstance(write, effects.Update)
        assert (write.redate, write.line.action) == (False, ChangeAction.UPDATED)


class TestAnOperatorWrite:
    """entries.add: the operator's word replaces whatever is there, weaker or not."""

    @pytest.mark.parametrize("old", RANKED)
    @pytest.mark.parametrize("expires_at", [None, LATER, SOONER])
    def test_replaces_any_active_entry(self, old: str, expires_at: datetime | None) -> None:
        wanted = entry("soft_bounce", expires_at=SOONER, source="api", note="asked")
        write = policy.write_entry(
            wanted, current(old, expires_at=expires_at), actor="ops", now=NOW, by_operator=True
        )
        assert write == effects.Update(
            wanted,
            effects.ChangeLine(EMAIL, ChangeAction.UPDATED, "ops", "soft_bounce", SOONER, "asked"),
            redate=False,
            keep_note=False,
        )

    def test_without_a_note_clears_the_old_one(self) -> None:
        write = policy.write_entry(
            entry("manual", source="api"), current(), actor="ops", now=NOW, by_operator=True
        )
        assert isinstance(write, effects.Update)
        assert write.keep_note is False

    def test_an_ses_event_with_a_note_writes_it(self) -> None:
        write = policy.write_entry(entry("manual", note="n"), current("bounce"), actor="x", now=NOW)
        assert isinstance(write, effects.Update)
        assert write.keep_note is False

    @pytest.mark.parametrize("by_operator", [False, True])
    def test_a_new_address_is_inserted(self, by_operator: bool) -> None:
        wanted = entry("manual", source="cli", note="n", expires_at=LATER)
        write = policy.write_entry(wanted, None, actor="me", now=NOW, by_operator=by_operator)
        assert write == effects.Insert(
            wanted, effects.ChangeLine(EMAIL, ChangeAction.ADDED, "me", "manual", LATER, "n")
        )
        assert policy.change_of(write) == "added"
