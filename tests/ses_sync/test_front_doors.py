"""The sync's edges in the front doors: a removal over the API or the CLI waits in the outbox
when SES_SYNC=both, and an OnAccountSuppressionList bounce names SES's list as the cause."""

from __future__ import annotations

import httpx
import pytest

from app.models import SesOutbox
from app.settings import Settings
from app.suppression import ses_notes
from tests.cli_runs import invoke
from tests.conftest import READ, TOPIC, WRITE, AppMaker
from tests.databases import count_rows, run_isolated
from tests.ses_payloads import bounce, post_ses
from tests.ses_sync.fake_ses import FakeSes
from tests.signing import SnsSigner


class TestOnAccountSuppressionList:
    async def test_the_entry_and_its_history_name_ses_s_list(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        message = bounce(["Ann@Example.com"], subtype="OnAccountSuppressionList", status=None)
        assert (await post_ses(client, signer, message, topic_arn=TOPIC)).status_code == 200
        shown = await client.get("/v1/suppressions/ann@example.com", headers=READ)
        assert shown.status_code == 200
        body = shown.json()
        # SPEC §3: suppressed, reason bounce, like any Permanent bounce.
        assert (body["reason"], body["subtype"], body["source"]) == (
            "bounce",
            "OnAccountSuppressionList",
            "sns",
        )
        assert body["note"] == ses_notes.ON_ACCOUNT_LIST_NOTE
        history = await client.get("/v1/suppressions/ann@example.com/history", headers=READ)
        [line] = history.json()["history"]
        assert (line["action"], line["actor"], line["note"]) == (
            "added",
            "sns",
            "SES's account-level suppression list holds this address "
            "(OnAccountSuppressionList): SES did not try to deliver. Remove it there too, "
            "or set SES_SYNC=both",
        )

    async def test_another_subtype_has_no_note(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        await post_ses(
            client, signer, bounce(["bob@example.com"], subtype="General"), topic_arn=TOPIC
        )
        shown = await client.get("/v1/suppressions/bob@example.com", headers=READ)
        assert shown.json()["note"] is None


class TestRemovalOverTheApi:
    @pytest.mark.parametrize(("mode", "waiting"), [("both", 2), ("pull", 0), ("off", 0)])
    async def test_delete_answers_204_and_the_outbox_waits_per_region(
        self, make_client: AppMaker, database_url: str, fake_ses: FakeSes, mode: str, waiting: int
    ) -> None:
        # The fake holds nothing, and no pass ever read SES (the mirror is empty): the
        # delete at once finds no entry, and each region's row stays for the pass.
        client, _ = await make_client(
            SES_SYNC=mode,
            SES_SYNC_REGIONS="us-east-1,eu-west-1",
            ses_sync_clients=lambda region: fake_ses.client(region),
        )
        assert (
            await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        ).status_code == 201
        gone = await client.delete("/v1/suppressions/Ann@Example.com", headers=WRITE)
        assert gone.status_code == 204
        assert await count_rows(database_url, SesOutbox) == waiting
        tried = [call.email for call in fake_ses.calls]
        assert tried == (["ann@example.com"] * 2 if mode == "both" else [])
        assert fake_ses.operations() == ["GetSuppressedDestination"] * len(tried)


async def test_a_removal_never_answers_500_whatever_the_regions_say(
    make_client: AppMaker, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Settings refuse such a region at start (test_settings_and_schema); settings built in
    # code get past that, and the outbox's region column (32 characters) would then fail
    # the removal on PostgreSQL. The region is left out of the outbox instead.
    long_region = "us-" + "east" * 10 + "-1"
    monkeypatch.setattr(Settings, "ses_sync_regions", property(lambda _: [long_region]))
    client, _ = await make_client(SES_SYNC="both")
    made = await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
    assert made.status_code == 201
    gone = await client.delete("/v1/suppressions/ann@example.com", headers=WRITE)
    assert gone.status_code == 204, gone.text
    assert await count_rows(database_url, SesOutbox) == 0


def test_cli_remove_waits_in_the_outbox_with_ses_sync_both(
    database_url: str, fake_ses: FakeSes
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "SES_SYNC": "both",
        "AWS_REGION": "eu-central-1",
        "SES_ENDPOINT_URL": fake_ses.url,
    }
    assert invoke(env, "suppressions", "add", "ann@example.com").exit_code == 0
    assert invoke(env, "suppressions", "remove", "ann@example.com").exit_code == 0
    assert run_isolated(lambda: count_rows(database_url, SesOutbox)) == 1
