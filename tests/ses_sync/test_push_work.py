"""push_work: a plan's SES writes decided again just before they are made (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.ses.suppressed import SesEntry
from app.ses_sync.pushing import push_work
from app.suppression.ses_mirror_store import MirrorRow
from app.suppression.ses_outbox_store import Waiting
from app.suppression.ses_plan import Direction, Held, Plan, ToDelete, reconcile
from app.vocabulary import Reason

T = datetime(2026, 12, 8, tzinfo=UTC)
BEFORE, REMOVED, AFTER = T - timedelta(days=1), T, T + timedelta(hours=1)


def row(email: str, at: datetime = BEFORE, reason: str = "BOUNCE") -> MirrorRow:
    return MirrorRow(email, email.lower(), reason, at)


def forms(*rows: MirrorRow) -> dict[str, list[MirrorRow]]:
    found: dict[str, list[MirrorRow]] = {}
    for one in rows:
        found.setdefault(one.key, []).append(one)
    return found


def plan(
    bouncer: dict[str, Held], ses: list[MirrorRow], removals: dict[str, datetime] | None = None
) -> Plan:
    entries = [SesEntry(one.email, one.reason, one.last_update) for one in ses]
    return reconcile(bouncer, entries, removals=removals or {}, direction=Direction.BOTH)


def waiting(key: str, removed_at: datetime = REMOVED, attempts: int = 0) -> dict[str, Waiting]:
    return {key: Waiting(key, removed_at, attempts, None)}


class TestPushWork:
    def test_the_plan_as_it_stands(self) -> None:
        bouncer = {"a@x.org": Held(Reason.BOUNCE), "c@x.org": Held(Reason.COMPLAINT)}
        active = {"a@x.org": Held(Reason.BOUNCE), "c@x.org": Held(Reason.COMPLAINT)}
        work = push_work(plan(bouncer, []), {}, {}, active)
        assert work.puts == [("a@x.org", "BOUNCE"), ("c@x.org", "COMPLAINT")]
        assert (work.deletes, work.settled) == ({}, [])

    def test_removed_while_the_pass_ran_is_not_put_and_is_deleted(self) -> None:
        # The plan saw an active bounce; by the push it is removed and waits in the outbox,
        # and the pass's own pull put SES's form of it in the mirror.
        made = plan({"ann@x.org": Held(Reason.BOUNCE)}, [])
        work = push_work(made, waiting("ann@x.org"), forms(row("Ann@x.org")), {})
        assert work.puts == []
        assert work.deletes == {"ann@x.org": [ToDelete("Ann@x.org", "ann@x.org", REMOVED)]}
        assert work.settled == []

    def test_reason_changed_since_the_plan(self) -> None:
        made = plan({"a@x.org": Held(Reason.BOUNCE), "b@x.org": Held(Reason.BOUNCE)}, [])
        now = {"a@x.org": Held(Reason.COMPLAINT), "b@x.org": Held(Reason.MANUAL)}
        work = push_work(made, {}, {}, now)
        assert work.puts == [("a@x.org", "COMPLAINT")]

    def test_given_an_expiry_since_the_plan_is_not_put(self) -> None:
        # SES's list never expires an entry: it would stay blocked there for ever.
        made = plan({"a@x.org": Held(Reason.BOUNCE)}, [])
        work = push_work(made, {}, {}, {"a@x.org": Held(Reason.BOUNCE, expiring=True)})
        assert work.puts == []

    def test_every_form_older_than_the_removal(self) -> None:
        ses = forms(row("Ann@x.org"), row("ANN@X.ORG"), row("ann@x.org", AFTER))
        work = push_work(plan({}, []), waiting("ann@x.org"), ses, {})
        assert [item.email for item in work.deletes["ann@x.org"]] == ["Ann@x.org", "ANN@X.ORG"]

    def test_the_plan_and_the_outbox_name_a_form_once(self) -> None:
        ses = [row("Ann@x.org")]
        made = plan({}, ses, {"ann@x.org": REMOVED})
        work = push_work(made, waiting("ann@x.org"), forms(*ses), {})
        assert work.deletes == {"ann@x.org": [ToDelete("Ann@x.org", "ann@x.org", REMOVED)]}

    def test_settled_rows(self) -> None:
        # Gone from SES, updated in SES since (a new bounce), or suppressed again.
        outbox = waiting("gone@x.org") | waiting("new@x.org") | waiting("back@x.org", attempts=3)
        ses = forms(row("new@x.org", AFTER), row("back@x.org"))
        work = push_work(plan({}, []), outbox, ses, {"back@x.org": Held(Reason.BOUNCE)})
        assert work.deletes == {}
        assert sorted(work.settled) == ["back@x.org", "gone@x.org", "new@x.org"]

    def test_a_removal_the_plan_deletes_while_suppressed_again_is_not_deleted(self) -> None:
        ses = [row("ann@x.org")]
        made = plan({}, ses, {"ann@x.org": REMOVED})
        work = push_work(made, {}, forms(*ses), {"ann@x.org": Held(Reason.MANUAL)})
        assert work.deletes == {}
