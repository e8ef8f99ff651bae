"""app.suppression.ses_plan: bouncer's list against SES's, by tables and by a fixpoint property."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ses.suppressed import SesEntry
from app.suppression.ses_drift import MAX_SAMPLES, Drift, DriftKind, DriftSample
from app.suppression.ses_plan import (
    Direction,
    Held,
    Plan,
    ToDelete,
    ToNote,
    ToPull,
    ToPut,
    Unreadable,
    reconcile,
)
from app.vocabulary import Reason

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PULL, PUSH, BOTH = Direction.PULL, Direction.PUSH, Direction.BOTH
BOUNCE, COMPLAINT, MANUAL = Reason.BOUNCE, Reason.COMPLAINT, Reason.MANUAL


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ses(email: str, reason: str = "BOUNCE", hours: float = 0) -> SesEntry:
    return SesEntry(email, reason, at(hours))


@dataclass
class World:
    """Both lists of one region, as the sync pass would read them."""

    bouncer: dict[str, Held] = field(default_factory=dict)
    ses: list[SesEntry] = field(default_factory=list)
    removals: dict[str, datetime] = field(default_factory=dict)

    def plan(self, direction: Direction) -> Plan:
        return reconcile(self.bouncer, self.ses, removals=self.removals, direction=direction)


LATER = at(1000)


def apply(plan: Plan, world: World, *, now: datetime = LATER) -> World:
    """What the sync pass does with a plan, on plain sets: the fixpoint's other half."""
    bouncer = dict(world.bouncer)
    held_by_ses = {entry.email: entry for entry in world.ses}
    removals = dict(world.removals)
    for pulled in plan.pull:
        # A pulled entry's history names SES as its origin: that is the note.
        bouncer[pulled.email] = Held(pulled.reason, noted=True)
        removals.pop(pulled.email, None)
    for noted in plan.note:
        bouncer[noted.email] = replace(bouncer[noted.email], noted=True)
    for put in plan.put:
        held_by_ses[put.email] = SesEntry(put.email, put.reason, now)
        bouncer[put.email] = replace(bouncer[put.email], noted=True)
    for deleted in plan.delete:
        del held_by_ses[deleted.email]
    return World(bouncer, list(held_by_ses.values()), removals)


def assert_fixpoint(world: World, direction: Direction) -> Plan:
    """The plan, after checking that carrying it out leaves nothing for a second pass."""
    first = world.plan(direction)
    second = apply(first, world).plan(direction)
    assert second.is_empty, second
    assert (second.pull, second.note, second.put, second.delete) == ((), (), (), ())
    return first


@dataclass(frozen=True)
class Case:
    name: str
    world: World
    direction: Direction
    pull: tuple[ToPull, ...] = ()
    note: tuple[ToNote, ...] = ()
    put: tuple[ToPut, ...] = ()
    delete: tuple[ToDelete, ...] = ()
    drift: tuple[int, int, int] = (0, 0, 0)  # only_in_bouncer, only_in_ses, reason_differs
    invalid: tuple[str, ...] = ()


CASES = [
    # -- on one side only ----------------------------------------------------------------
    Case(
        "an SES entry bouncer lacks is pulled, in the form SES holds, at SES's time",
        World(ses=[ses("Ann@Example.com", hours=3)]),
        PULL,
        pull=(ToPull("ann@example.com", "Ann@Example.com", BOUNCE, at(3)),),
        drift=(0, 1, 0),
    ),
    Case(
        "an SES complaint is pulled as a complaint",
        World(ses=[ses("c@x.org", "COMPLAINT")]),
        BOTH,
        pull=(ToPull("c@x.org", "c@x.org", COMPLAINT, at(0)),),
        drift=(0, 1, 0),
    ),
    Case(
        "push never pulls",
        World(ses=[ses("a@x.org")]),
        PUSH,
        drift=(0, 1, 0),
    ),
    Case(
        "a bounce bouncer holds and SES lacks is pushed",
        World(bouncer={"a@x.org": Held(BOUNCE)}),
        BOTH,
        put=(ToPut("a@x.org", "BOUNCE"),),
        drift=(1, 0, 0),
    ),
    Case(
        "a complaint is pushed as a complaint, in push too",
        World(bouncer={"c@x.org": Held(COMPLAINT)}),
        PUSH,
        put=(ToPut("c@x.org", "COMPLAINT"),),
        drift=(1, 0, 0),
    ),
    Case(
        "pull never pushes, and reports what SES lacks",
        World(bouncer={"a@x.org": Held(BOUNCE)}),
        PULL,
        drift=(1, 0, 0),
    ),
    Case(
        "manual, unsubscribe and soft_bounce stay bouncer's own: not pushed, not drift",
        World(
            bouncer={
                "m@x.org": Held(MANUAL),
                "u@x.org": Held(Reason.UNSUBSCRIBE),
                "s@x.org": Held(Reason.SOFT_BOUNCE),
            }
        ),
        BOTH,
    ),
    Case(
        "a bounce or complaint that expires stays bouncer's own: SES would keep it for ever",
        World(
            bouncer={
                "b@x.org": Held(BOUNCE, expiring=True),
                "c@x.org": Held(COMPLAINT, expiring=True),
            }
        ),
        BOTH,
    ),
    # -- on both sides ------------------------------------------------------------------
    Case(
        "an expiring bounce SES holds too is noted like any other",
        World(bouncer={"a@x.org": Held(BOUNCE, expiring=True)}, ses=[ses("a@x.org")]),
        BOTH,
        note=(ToNote("a@x.org", ("a@x.org",), BOUNCE, at(0)),),
    ),
    Case(
        "another case of the same address is the same address: noted once, nothing moved",
        World(bouncer={"ann@example.com": Held(BOUNCE)}, ses=[ses("Ann@Example.COM", hours=2)]),
        BOTH,
        note=(ToNote("ann@example.com", ("Ann@Example.COM",), BOUNCE, at(2)),),
    ),
    Case(
        "an address already noted is not noted again",
        World(bouncer={"a@x.org": Held(BOUNCE, noted=True)}, ses=[ses("A@x.org")]),
        BOTH,
    ),
    Case(
        "push writes no note in bouncer",
        World(bouncer={"a@x.org": Held(BOUNCE)}, ses=[ses("a@x.org")]),
        PUSH,
    ),
    Case(
        "an internationalised domain matches its punycode form",
        World(
            bouncer={"ann@xn--bcher-kva.de": Held(BOUNCE, noted=True)}, ses=[ses("ann@Bücher.de")]
        ),
        BOTH,
    ),
    Case(
        "reasons that differ are reported, neither overwritten",
        World(bouncer={"a@x.org": Held(COMPLAINT, noted=True)}, ses=[ses("a@x.org", "BOUNCE")]),
        BOTH,
        drift=(0, 0, 1),
    ),
    Case(
        "a manual entry SES holds as a bounce differs too",
        World(bouncer={"a@x.org": Held(MANUAL, noted=True)}, ses=[ses("a@x.org")]),
        BOTH,
        drift=(0, 0, 1),
    ),
    Case(
        "a reason any form of the address has does not differ",
        World(
            bouncer={"a@x.org": Held(COMPLAINT, noted=True)},
            ses=[ses("a@x.org", "BOUNCE", 5), ses("A@x.org", "COMPLAINT", 1)],
        ),
        BOTH,
    ),
    # -- removals -----------------------------------------------------------------------
    Case(
        "a removal after SES's update: not pulled back, deleted from SES in the form it holds",
        World(ses=[ses("Ann@x.org", hours=1)], removals={"ann@x.org": at(2)}),
        BOTH,
        delete=(ToDelete("Ann@x.org", "ann@x.org", at(2)),),
    ),
    Case(
        "a removal at the very time of SES's update is not older than it",
        World(ses=[ses("ann@x.org", hours=2)], removals={"ann@x.org": at(2)}),
        PUSH,
        delete=(ToDelete("ann@x.org", "ann@x.org", at(2)),),
    ),
    Case(
        "a removal pull-only: SES keeps it, bouncer does not take it back, no drift",
        World(ses=[ses("ann@x.org", hours=1)], removals={"ann@x.org": at(2)}),
        PULL,
    ),
    Case(
        "SES updated after the removal (a new bounce): pulled, not deleted",
        World(ses=[ses("ann@x.org", hours=3)], removals={"ann@x.org": at(2)}),
        BOTH,
        pull=(ToPull("ann@x.org", "ann@x.org", BOUNCE, at(3)),),
        drift=(0, 1, 0),
    ),
    Case(
        "SES updated after the removal, push only: reported, left alone",
        World(ses=[ses("ann@x.org", hours=3)], removals={"ann@x.org": at(2)}),
        PUSH,
        drift=(0, 1, 0),
    ),
    Case(
        "a removal deletes every case variant SES holds",
        World(
            ses=[ses("Ann@x.org"), ses("ann@x.org", hours=1), ses("ANN@X.ORG", "COMPLAINT")],
            removals={"ann@x.org": at(2)},
        ),
        BOTH,
        delete=(
            ToDelete("ANN@X.ORG", "ann@x.org", at(2)),
            ToDelete("Ann@x.org", "ann@x.org", at(2)),
            ToDelete("ann@x.org", "ann@x.org", at(2)),
        ),
    ),
    Case(
        "variants on both sides of a removal: the older deleted, the newer pulled",
        World(
            ses=[ses("Ann@x.org", hours=1), ses("ann@x.org", "COMPLAINT", hours=3)],
            removals={"ann@x.org": at(2)},
        ),
        BOTH,
        pull=(ToPull("ann@x.org", "ann@x.org", COMPLAINT, at(3)),),
        delete=(ToDelete("Ann@x.org", "ann@x.org", at(2)),),
        drift=(0, 1, 0),
    ),
    Case(
        "a removal named for an address with an active entry is ignored: the entry wins",
        World(
            bouncer={"a@x.org": Held(BOUNCE, noted=True)},
            ses=[ses("a@x.org")],
            removals={"a@x.org": at(5)},
        ),
        BOTH,
    ),
    # -- several case variants, bad entries -----------------------------------------------
    Case(
        "several case variants are pulled once, from the latest SES update",
        World(ses=[ses("Ann@x.org", hours=1), ses("ann@x.org", "COMPLAINT", 2), ses("ANN@X.ORG")]),
        PULL,
        pull=(ToPull("ann@x.org", "ann@x.org", COMPLAINT, at(2)),),
        drift=(0, 1, 0),
    ),
    Case(
        "several case variants and bouncer's entry: one note naming them all",
        World(
            bouncer={"ann@x.org": Held(BOUNCE)}, ses=[ses("Ann@x.org", hours=1), ses("ann@x.org")]
        ),
        PULL,
        note=(ToNote("ann@x.org", ("Ann@x.org", "ann@x.org"), BOUNCE, at(1)),),
    ),
    Case(
        "an SES entry that is not an address is reported, not pulled, not drift",
        World(ses=[ses("not an address"), ses("a@@x.org"), ses("b@x.org")]),
        BOTH,
        pull=(ToPull("b@x.org", "b@x.org", BOUNCE, at(0)),),
        drift=(0, 1, 0),
        invalid=("a@@x.org", "not an address"),
    ),
    Case(
        "a reason SES may add one day is reported, not guessed",
        World(ses=[ses("a@x.org", "OTHER")]),
        BOTH,
        invalid=("a@x.org",),
    ),
    Case(
        "a listing that repeats a form keeps its latest",
        World(ses=[ses("a@x.org", "BOUNCE", 1), ses("a@x.org", "COMPLAINT", 4)]),
        PULL,
        pull=(ToPull("a@x.org", "a@x.org", COMPLAINT, at(4)),),
        drift=(0, 1, 0),
    ),
    Case(
        "nothing on either side",
        World(),
        BOTH,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_plan(case: Case) -> None:
    plan = assert_fixpoint(case.world, case.direction)
    assert plan.direction is case.direction
    assert plan.pull == case.pull
    assert plan.note == case.note
    assert plan.put == case.put
    assert plan.delete == case.delete
    drift = plan.drift
    assert (drift.only_in_bouncer, drift.only_in_ses, drift.reason_differs) == case.drift
    assert len(drift.samples) == sum(case.drift)
    assert tuple(bad.email for bad in plan.invalid) == case.invalid


class TestDrift:
    def test_samples_take_each_kind_in_turn_up_to_ten(self) -> None:
        world = World(
            bouncer={f"b{n:02}@x.org": Held(BOUNCE) for n in range(15)}
            | {"r@x.org": Held(COMPLAINT, noted=True)},
            ses=[ses("s1@x.org"), ses("S0@x.org", "COMPLAINT"), ses("r@x.org")],
        )
        drift = world.plan(PULL).drift
        assert (drift.only_in_bouncer, drift.only_in_ses, drift.reason_differs) == (15, 2, 1)
        assert len(drift.samples) == MAX_SAMPLES
        assert [(s.kind.value, s.email) for s in drift.samples[:6]] == [
            ("only_in_bouncer", "b00@x.org"),
            ("only_in_ses", "s0@x.org"),
            ("reason_differs", "r@x.org"),
            ("only_in_bouncer", "b01@x.org"),
            ("only_in_ses", "s1@x.org"),
            ("only_in_bouncer", "b02@x.org"),
        ]
        assert [s.email for s in drift.samples[6:]] == [f"b0{n}@x.org" for n in range(3, 7)]

    def test_the_spec_shape(self) -> None:
        world = World(
            bouncer={"a@x.org": Held(BOUNCE), "r@x.org": Held(COMPLAINT, noted=True)},
            ses=[ses("S@x.org", "COMPLAINT"), ses("r@x.org", "BOUNCE")],
        )
        assert world.plan(BOTH).drift.as_dict() == {
            "only_in_bouncer": 1,
            "only_in_ses": 1,
            "reason_differs": 1,
            "samples": [
                {
                    "email": "a@x.org",
                    "kind": "only_in_bouncer",
                    "bouncer_reason": "bounce",
                    "ses_reason": None,
                },
                {
                    "email": "s@x.org",
                    "kind": "only_in_ses",
                    "bouncer_reason": None,
                    "ses_reason": "complaint",
                },
                {
                    "email": "r@x.org",
                    "kind": "reason_differs",
                    "bouncer_reason": "complaint",
                    "ses_reason": "bounce",
                },
            ],
        }

    def test_drift_is_the_same_whatever_the_direction(self) -> None:
        world = World(
            bouncer={"a@x.org": Held(BOUNCE)},
            ses=[ses("b@x.org"), ses("c@x.org", hours=1)],
            removals={"c@x.org": at(2)},
        )
        assert world.plan(PULL).drift == world.plan(PUSH).drift == world.plan(BOTH).drift
        assert world.plan(BOTH).drift == Drift(
            1,
            1,
            0,
            (
                DriftSample("a@x.org", DriftKind.ONLY_IN_BOUNCER, BOUNCE, None),
                DriftSample("b@x.org", DriftKind.ONLY_IN_SES, None, BOUNCE),
            ),
        )


def test_the_order_of_ses_listing_changes_nothing() -> None:
    entries = [
        ses(f"{c}{n}@X.org", "BOUNCE" if n % 3 else "COMPLAINT", n) for n in range(20) for c in "aA"
    ]
    world = World(
        bouncer={f"a{n}@x.org": Held(BOUNCE) for n in range(0, 20, 2)}
        | {f"z{n}@x.org": Held(COMPLAINT) for n in range(5)},
        ses=entries,
        removals={f"a{n}@x.org": at(n + 0.5 * (n % 2) * 2) for n in range(1, 20, 2)},
    )
    first = world.plan(BOTH)
    shuffled = list(entries)
    random.Random(7).shuffle(shuffled)
    assert replace(world, ses=shuffled).plan(BOTH) == first


def test_a_form_listed_twice_at_one_time_is_read_the_same_in_any_order() -> None:
    twice = [ses("a@x.org", "BOUNCE", 1), ses("a@x.org", "COMPLAINT", 1)]
    plans = {World(ses=order).plan(PULL) for order in (twice, twice[::-1])}
    assert len(plans) == 1


def test_an_unreadable_entry_says_why() -> None:
    plan = World(ses=[ses("a@@x.org"), ses("a@x.org", "FOO")]).plan(BOTH)
    assert plan.invalid == (
        Unreadable(
            "a@@x.org",
            "'a@@x.org' is not a valid email address: it has more than one "
            "@ outside quotes; give exactly one address",
        ),
        Unreadable("a@x.org", "SES's reason 'FOO' is neither BOUNCE nor COMPLAINT"),
    )


@pytest.mark.parametrize(
    ("direction", "pulls", "pushes"), [(PULL, True, False), (PUSH, False, True), (BOTH, True, True)]
)
def test_direction(direction: Direction, pulls: bool, pushes: bool) -> None:
    assert (direction.pulls, direction.pushes) == (pulls, pushes)
    assert Direction(direction.value) is direction


# -- the fixpoint, for any two lists ------------------------------------------------------

ADDRESSES = ("ann@x.org", "bob@x.org", "cy@xn--bcher-kva.de", "dee@x.org")
FORMS = {
    "ann@x.org": ("ann@x.org", "Ann@x.org", "ANN@X.ORG"),
    "bob@x.org": ("bob@x.org", "Bob@X.org"),
    "cy@xn--bcher-kva.de": ("cy@Bücher.de", "cy@xn--bcher-kva.de"),
    "dee@x.org": ("dee@x.org",),
}
hours = st.integers(min_value=0, max_value=6)
ses_entries = st.lists(
    st.builds(
        ses,
        st.sampled_from([form for forms in FORMS.values() for form in forms] + ["no address"]),
        st.sampled_from(["BOUNCE", "COMPLAINT"]),
        hours,
    ),
    max_size=8,
    unique_by=lambda entry: entry.email,  # SES's list is keyed by the exact form
)
held = st.builds(Held, st.sampled_from(list(Reason)), st.booleans())


@st.composite
def worlds(draw: st.DrawFn) -> World:
    bouncer = draw(st.dictionaries(st.sampled_from(ADDRESSES), held, max_size=4))
    removable = [key for key in ADDRESSES if key not in bouncer]
    removals = draw(st.dictionaries(st.sampled_from(removable), hours.map(at))) if removable else {}
    return World(bouncer, draw(ses_entries), removals)


@settings(max_examples=300, deadline=None)
@given(worlds(), st.sampled_from(list(Direction)))
def test_a_second_pass_changes_nothing(world: World, direction: Direction) -> None:
    first = assert_fixpoint(world, direction)
    after = apply(first, world).plan(direction).drift
    if direction.pulls:
        assert after.only_in_ses == 0
    if direction.pushes:
        assert after.only_in_bouncer == 0
    # Neither side's reason is overwritten, and no pass makes a new difference.
    assert after.reason_differs == first.drift.reason_differs


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_drift_goes_to_zero_after_a_pass_both_ways(world: World) -> None:
    first = world.plan(BOTH)
    after = apply(first, world).plan(BOTH).drift
    assert (after.only_in_bouncer, after.only_in_ses) == (0, 0)
    assert len(after.samples) == min(after.reason_differs, MAX_SAMPLES)
