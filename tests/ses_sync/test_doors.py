"""The sync's front doors (SPEC §7): `POST /v1/ses/sync`, `GET /v1/ses/drift`, `bouncer ses
sync|drift`, and the service's periodic pass — each against the live SES fake through the
real boto3 client, on the real database."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any

import httpx
import pytest

from app.commands import ses
from app.errors import SyncBusy
from app.ses import suppressed
from app.ses_sync import PassReport, RegionReport
from app.ses_sync.periodic import run_periodically
from tests.cli_runs import invoke
from tests.conftest import READ, WRITE, AppMaker
from tests.ses_sync.fake_ses import REGION, FakeSes


def clients_of(fake: FakeSes) -> Any:
    return lambda region: suppressed.make_client(region, endpoint_url=fake.url)


async def add(client: httpx.AsyncClient, email: str, reason: str = "bounce") -> None:
    made = await client.put(f"/v1/suppressions/{email}", json={"reason": reason}, headers=WRITE)
    assert made.status_code in (200, 201), made.text


class TestApi:
    async def test_sync_is_refused_while_ses_sync_is_off(
        self, make_client: AppMaker, fake_ses: FakeSes
    ) -> None:
        client, _ = await make_client(SES_SYNC="off", ses_sync_clients=clients_of(fake_ses))
        answer = await client.post("/v1/ses/sync", headers=WRITE)
        assert answer.status_code == 409
        assert "SES_SYNC" in answer.json()["error"]
        assert fake_ses.calls == []

    async def test_a_read_token_cannot_sync(self, make_client: AppMaker, fake_ses: FakeSes) -> None:
        client, _ = await make_client(SES_SYNC="pull", ses_sync_clients=clients_of(fake_ses))
        assert (await client.post("/v1/ses/sync", headers=READ)).status_code == 403

    async def test_a_removal_makes_the_address_mailable_in_ses_too(
        self, make_client: AppMaker, fake_ses: FakeSes
    ) -> None:
        # Issue #17's first "done when", end to end over HTTP: SES holds the address in
        # another case; bouncer removes it; the next pass deletes SES's entry.
        fake_ses.hold("Ann@Example.com")
        fake_ses.hold("carl@example.com", "COMPLAINT")
        client, _ = await make_client(
            SES_SYNC="both", SES_SYNC_REGIONS=REGION, ses_sync_clients=clients_of(fake_ses)
        )
        await add(client, "bob@example.com", "complaint")
        first = await client.post("/v1/ses/sync", headers=WRITE)
        assert first.status_code == 200, first.text
        [region] = first.json()["regions"]
        assert (region["region"], region["pulled"], region["pushed"]) == (REGION, 2, 1)
        assert {"region", "pulled", "pushed", "deleted", "failed"} <= region.keys()
        assert set(fake_ses.entries) == {"Ann@Example.com", "carl@example.com", "bob@example.com"}
        drift = await client.get("/v1/ses/drift", headers=READ)
        assert drift.status_code == 200
        [seen] = drift.json()["regions"]
        assert (seen["only_in_bouncer"], seen["only_in_ses"]) == (0, 0)
        assert seen["checked_at"].endswith("Z")

        gone = await client.delete("/v1/suppressions/ann@example.com", headers=WRITE)
        assert gone.status_code == 204  # at once: SES is called by the pass, not the request
        assert "Ann@Example.com" in fake_ses.entries
        second = await client.post("/v1/ses/sync", headers=WRITE)
        assert second.json()["regions"][0]["deleted"] == 1
        assert "Ann@Example.com" not in fake_ses.entries
        # Not pulled back, and a third pass changes nothing.
        third = (await client.post("/v1/ses/sync", headers=WRITE)).json()["regions"][0]
        assert (third["pulled"], third["pushed"], third["deleted"], third["failed"]) == (0, 0, 0, 0)
        shown = await client.get("/v1/suppressions/ann@example.com", headers=READ)
        assert shown.status_code == 404

    async def test_ses_unreachable_everywhere_is_502(
        self, make_client: AppMaker, fake_ses: FakeSes
    ) -> None:
        fake_ses.fail("ListSuppressedDestinations", code="AccessDeniedException", status=403)
        fake_ses.fail("ListSuppressedDestinations", code="AccessDeniedException", status=403)
        client, _ = await make_client(SES_SYNC="pull", ses_sync_clients=clients_of(fake_ses))
        answer = await client.post("/v1/ses/sync", headers=WRITE)
        assert answer.status_code == 502, answer.text
        assert "ses:ListSuppressedDestinations" in answer.json()["error"]
        drift = await client.get("/v1/ses/drift", headers=READ)
        assert drift.status_code == 502


class TestCli:
    def env(self, database_url: str, fake: FakeSes, **more: str) -> dict[str, str]:
        return {
            "DATABASE_URL": database_url,
            "SES_ENDPOINT_URL": fake.url,
            "AWS_REGION": REGION,
            **more,
        }

    def test_dry_run_says_what_it_would_do_and_writes_nothing(
        self, database_url: str, fake_ses: FakeSes
    ) -> None:
        fake_ses.hold("dee@example.com")
        env = self.env(database_url, fake_ses)
        planned = invoke(env, "ses", "sync", "--dry-run", "--format", "json")
        assert planned.exit_code == 0, planned.output
        [region] = json.loads(planned.stdout)
        assert (region["region"], region["pulled"]) == (REGION, 1)
        # `show` exits 1 when the address is suppressed (`bouncer suppressions show --help`).
        assert invoke(env, "suppressions", "show", "dee@example.com").exit_code == 0
        done = invoke(env, "ses", "sync", "--format", "json")
        assert json.loads(done.stdout)[0]["pulled"] == 1
        assert invoke(env, "suppressions", "show", "dee@example.com").exit_code == 1

    def test_the_direction_is_the_operators_whatever_ses_sync_says(
        self, database_url: str, fake_ses: FakeSes
    ) -> None:
        env = self.env(database_url, fake_ses, SES_SYNC="off")
        assert (
            invoke(env, "suppressions", "add", "eve@example.com", "--reason", "bounce").exit_code
            == 0
        )
        pushed = invoke(env, "ses", "sync", "--direction", "both", "--format", "json")
        assert pushed.exit_code == 0, pushed.output
        assert json.loads(pushed.stdout)[0]["pushed"] == 1
        assert "eve@example.com" in fake_ses.entries
        drift = invoke(env, "ses", "drift", "--format", "json")
        assert drift.exit_code == 0, drift.output
        assert json.loads(drift.stdout)[0]["only_in_bouncer"] == 0

    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (("--direction", "sideways"), "--direction"),
            (("--region", "mars-north-1"), "mars-north-1"),
        ],
    )
    def test_bad_input_exits_2(
        self, database_url: str, fake_ses: FakeSes, args: tuple[str, ...], words: str
    ) -> None:
        result = invoke(self.env(database_url, fake_ses), "ses", "sync", *args)
        assert result.exit_code == 2, result.output
        assert words in result.output
        assert fake_ses.calls == []

    def test_ses_refusing_exits_4_in_words(self, database_url: str, fake_ses: FakeSes) -> None:
        fake_ses.fail("ListSuppressedDestinations", code="AccessDeniedException", status=403)
        result = invoke(self.env(database_url, fake_ses), "ses", "sync")
        assert result.exit_code == 4, result.output
        assert "ses:ListSuppressedDestinations" in result.output
        assert "Traceback" not in result.output


def test_the_cli_progress_line_adds_up_the_advances(monkeypatch: pytest.MonkeyPatch) -> None:
    # on_progress(region, stage, count) gives the advance (a page's entries, one delete):
    # reading 3,000 entries in pages of 1,000 shows 3000, not the last page's 1000.
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    progress = ses._progress()
    on_progress = progress.__enter__()
    try:
        for _ in range(3):
            on_progress(REGION, "read", 1000)
        on_progress(REGION, "deleted", 1)
        on_progress(REGION, "deleted", 1)
        assert [task.completed for task in progress._bar.tasks] == [3000, 2]
    finally:
        progress.__exit__(None, None, None)


class StubSync:
    """Stands in for SesSync in the loop's own tests: answers each pass as scripted."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[bool] = []

    async def run_pass(self, *, wait: bool = True, **_: Any) -> PassReport:
        self.calls.append(wait)
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, BaseException):
            raise answer
        return PassReport(regions=[RegionReport(REGION, pulled=1)], dry_run=False, direction="pull")  # type: ignore[arg-type]


async def test_the_periodic_pass_outlives_failures_and_never_waits_for_another_replica(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub = StubSync(None, SyncBusy("busy"), RuntimeError("boom"), None)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) > 4:
            raise asyncio.CancelledError

    with caplog.at_level(logging.DEBUG, "bouncer.ses_sync"), pytest.raises(asyncio.CancelledError):
        await run_periodically(stub, interval=300, sleep=sleep, rng=random.Random(7))  # type: ignore[arg-type]
    assert stub.calls == [False, False, False, False]  # skipped while another replica runs
    first, *later = slept
    assert 15 <= first <= 30  # soon after start, not at once
    assert all(270 <= s <= 330 for s in later)  # the interval ± 10 %
    assert "SES sync pass failed" in caplog.text  # the RuntimeError, logged; the loop went on


async def test_the_service_runs_passes_only_when_asked(
    make_client: AppMaker, fake_ses: FakeSes
) -> None:
    await make_client(SES_SYNC="pull", SES_SYNC_INTERVAL_SECONDS=0)
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "ses-sync"]
    await make_client(
        SES_SYNC="pull", SES_SYNC_INTERVAL_SECONDS=60, ses_sync_clients=clients_of(fake_ses)
    )
    assert [t for t in asyncio.all_tasks() if t.get_name() == "ses-sync"]
