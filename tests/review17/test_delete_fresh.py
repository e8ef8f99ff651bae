"""review17: a Delete must not take out an entry SES updated after the removal.

The pass reads SES's list, then pulls (batches of 500, minutes for a large first list),
then deletes what the read showed as older than the removal. DeleteSuppressedDestination
has no condition, so an entry SES re-added meanwhile (a new hard bounce, from another
application on the account that bouncer's SNS never hears of) is deleted with it, and
SES's list no longer blocks an address that just hard-bounced. GetSuppressedDestination
(which the issue allows "where details are needed") would show the newer LastUpdateTime."""

from __future__ import annotations

from datetime import timedelta

from app.db import Database
from tests.conftest import SettableClock
from tests.ses_sync.conftest import T0, MakeSync
from tests.ses_sync.fake_ses import Call, FakeEntry, FakeSes, running_fake_ses
from tests.ses_sync.tables import add, remove

SES_TIME = T0 - timedelta(days=3)


class ReaddedAfterRead(FakeSes):
    """After the list is served, SES records a new bounce for ann (a later time)."""

    def answer(self, call: Call) -> tuple[int, dict[str, object] | None, str | None]:
        answered = super().answer(call)
        if call.operation == "ListSuppressedDestinations":
            with self.lock:
                self.entries["ann@example.com"] = FakeEntry("BOUNCE", T0 + timedelta(minutes=2))
        return answered


async def test_an_entry_ses_updated_after_the_removal_is_not_deleted(
    make_sync: MakeSync, database: Database, clock: SettableClock, aws_env: None
) -> None:
    await add(database, "ann@example.com", "bounce", now=SES_TIME)
    await remove(database, "ann@example.com", now=T0 - timedelta(hours=1), regions=("us-east-1",))
    with running_fake_ses(ReaddedAfterRead()) as fake:
        fake.hold("ann@example.com", "BOUNCE", SES_TIME)
        clock.now = T0 + timedelta(minutes=1)
        await make_sync(mode="both", fakes={"us-east-1": fake}).run_pass()
        # SES's newest word on ann is a bounce at T0+2min, after the removal: it stays.
        assert "ann@example.com" in fake.entries
