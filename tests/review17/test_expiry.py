"""review17: an entry that expires in bouncer must not become permanent through SES.

README: "SES's list ... never expires an entry, so an expiring soft bounce or an
operator's choice would become permanent there". The push only filters by reason, so a
`bounce` or `complaint` entry an operator gave an ``expires_at`` is put into SES; when it
expires in bouncer, SES still holds it and the next pass pulls it back for good."""

from __future__ import annotations

from datetime import timedelta

from app.db import Database
from tests.conftest import SettableClock
from tests.ses_sync.conftest import T0, MakeSync
from tests.ses_sync.fake_ses import FakeSes
from tests.ses_sync.tables import add, entry

EARLIER = T0 - timedelta(days=1)


async def test_an_expiring_bounce_does_not_come_back_permanent(
    make_sync: MakeSync, fake_ses: FakeSes, database: Database, clock: SettableClock
) -> None:
    fake_ses.clock = clock
    # PUT /v1/suppressions/x {"reason": "bounce", "expires_at": tomorrow}: suppressed until
    # tomorrow (say, a mailbox the customer says will be fixed by then).
    await add(database, "ann@example.com", "bounce", now=EARLIER, expires_at=T0 + timedelta(days=1))
    sync = make_sync(mode="both")
    await sync.run_pass()

    clock.now = T0 + timedelta(days=2)  # expired in bouncer: the address is mailable again
    await sync.run_pass()

    found = await entry(database, "ann@example.com")
    assert found is None or found.expires_at is not None, (
        f"expired entry came back permanent: source={found.source} reason={found.reason}"
    )
    # and SES does not block it for ever either
    assert "ann@example.com" not in fake_ses.entries
