"""review17: issue #17's headline ("the removal silently does not work") with SES_SYNC=both.

The removal waits in the outbox until the next pass (up to SES_SYNC_INTERVAL_SECONDS,
300 s by default). A send in that window is dropped by SES's still-present entry and
comes back as an OnAccountSuppressionList bounce; bouncer suppresses the address again,
and the pass then drops the outbox row ("suppressed again since: the entry wins"). The
entry SES held *before* the removal is never deleted: the removal is forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.ses import suppressed
from tests.conftest import READ, TOPIC, WRITE, AppMaker
from tests.ses_payloads import bounce, post_ses
from tests.ses_sync.fake_ses import REGION, FakeSes
from tests.signing import SnsSigner


async def test_an_on_account_list_bounce_before_the_pass_does_not_undo_the_removal(
    make_client: AppMaker, fake_ses: FakeSes, signer: SnsSigner
) -> None:
    fake_ses.hold("ann@example.com", "BOUNCE", datetime.now(UTC) - timedelta(days=3))
    client, _ = await make_client(
        SES_SYNC="both",
        SES_SYNC_REGIONS=REGION,
        SES_SYNC_INTERVAL_SECONDS=0,
        ses_sync_clients=lambda region: suppressed.make_client(region, endpoint_url=fake_ses.url),
    )
    assert (await client.post("/v1/ses/sync", headers=WRITE)).status_code == 200  # pulled
    gone = await client.delete("/v1/suppressions/ann@example.com?note=fixed", headers=WRITE)
    assert gone.status_code == 204
    # The application resends at once; SES drops it on its (old) entry.
    message = bounce(["ann@example.com"], subtype="OnAccountSuppressionList", status=None)
    assert (await post_ses(client, signer, message, topic_arn=TOPIC)).status_code == 200

    assert (await client.post("/v1/ses/sync", headers=WRITE)).status_code == 200
    # The SES entry that predates the removal is what blocked the send: it must go, and
    # the address be mailable, as the operator asked.
    assert "ann@example.com" not in fake_ses.entries
    shown = await client.get("/v1/suppressions/ann@example.com", headers=READ)
    assert shown.status_code == 404, shown.json()
