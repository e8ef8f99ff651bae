"""The sync's front doors (SPEC §7): `POST /v1/ses/sync`, `GET /v1/ses/drift`, `bouncer ses
sync|drift`, and the service's periodic pass — each against the live SES fake through the
real boto3 client, on the real database."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.commands import ses
from app.errors import SyncBusy
from app.models import SesOutbox
from app.ses import suppressed
from app.ses_sync import PassReport, RegionReport
from app.ses_sync.periodic import run_periodically
from tests.cli_runs import invoke
from tests.conftest import READ, WRITE, AppMaker
from tests.databases import count_rows, run_isolated
from tests.ses_sync.fake_ses import REGION, Call, FakeSes, running_fake_ses
from tests.signing import SnsSigner


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
        self, make_client: AppMaker, fake_ses: FakeSes, database_url: str
    ) -> None:
        # Issue #17's first "done when", end to end over HTTP: SES holds the address in
        # another case; bouncer removes it, and SES's entry goes with it.
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
        assert gone.status_code == 204
        # Deleted from SES at once, after the answer (in SES's own case), no pass needed.
        assert "Ann@Example.com" not in fake_ses.entries
        assert await count_rows(database_url, SesOutbox) == 0
        second = await client.post("/v1/ses/sync", headers=WRITE)
        assert second.json()["regions"][0]["deleted"] == 0
        # Not pulled back, and a third pass changes nothing.
        third = (await client.post("/v1/ses/sync", headers=WRITE)).json()["regions"][0]
        assert (third["pulled"], third["pushed"], third["deleted"], third["failed"]) == (0, 0, 0, 0)
        shown = await client.get("/v1/suppressions/ann@example.com", headers=READ)
        assert shown.status_code == 404

    async def test_the_removal_reaches_ses_before_the_next_send(
        self, make_client: AppMaker, fake_ses: FakeSes, signer: SnsSigner, database_url: str
    ) -> None:
        # Issue #17's headline: the removal waited for the next pass (up to
        # SES_SYNC_INTERVAL_SECONDS), and a send in that window was dropped by SES's old
        # entry, came back as an OnAccountSuppressionList bounce and suppressed the address
        # again (SPEC §3, as it must). The removal now reaches SES at once.
        fake_ses.hold("ann@example.com", "BOUNCE", datetime.now(UTC) - timedelta(days=3))
        client, _ = await make_client(
            SES_SYNC="both",
            SES_SYNC_REGIONS=REGION,
            SES_SYNC_INTERVAL_SECONDS=0,
            ses_sync_clients=clients_of(fake_ses),
        )
        assert (await client.post("/v1/ses/sync", headers=WRITE)).status_code == 200  # pulled
        gone = await client.delete("/v1/suppressions/ann@example.com?note=fixed", headers=WRITE)
        assert gone.status_code == 204
        # Before any send and any pass: SES no longer holds the address, nothing waits.
        assert "ann@example.com" not in fake_ses.entries
        assert await count_rows(database_url, SesOutbox) == 0
        assert fake_ses.operations()[-2:] == [
            "GetSuppressedDestination",
            "DeleteSuppressedDestination",
        ]
        # A send now is not dropped; had one raced the delete, its OnAccountSuppressionList
        # bounce would suppress the address again (SPEC §3, TestOnAccountSuppressionList).
        assert (await client.post("/v1/ses/sync", headers=WRITE)).status_code == 200
        assert "ann@example.com" not in fake_ses.entries
        shown = await client.get("/v1/suppressions/ann@example.com", headers=READ)
        assert shown.status_code == 404, shown.json()

    async def test_the_answer_does_not_wait_for_ses(
        self, make_client: AppMaker, aws_env: None, database_url: str
    ) -> None:
        slow = SlowGet()
        with running_fake_ses(slow):
            slow.hold("ann@example.com", "BOUNCE", datetime.now(UTC) - timedelta(days=3))
            client, app = await make_client(
                SES_SYNC="both", SES_SYNC_REGIONS=REGION, ses_sync_clients=clients_of(slow)
            )
            assert (await client.post("/v1/ses/sync", headers=WRITE)).status_code == 200
            sent: list[dict[str, Any]] = []
            answered = asyncio.Event()
            connection_open = asyncio.Event()  # never set: the client stays connected

            async def receive() -> dict[str, Any]:
                if not sent and not answered.is_set():
                    return {"type": "http.request", "body": b"", "more_body": False}
                await connection_open.wait()
                return {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    answered.set()

            scope = _delete_scope("/v1/suppressions/ann@example.com")
            request = asyncio.create_task(app(scope, receive, send))
            try:
                await asyncio.wait_for(answered.wait(), 10)
                assert sent[0]["status"] == 204
                await asyncio.to_thread(slow.asked.wait, 10)
                assert not request.done()  # SES's delete runs after the answer
                assert "ann@example.com" in slow.entries
            finally:
                slow.release.set()
                await asyncio.wait_for(request, 10)
            assert slow.entries == {}
            assert await count_rows(database_url, SesOutbox) == 0

    async def test_nothing_after_the_answer_fails_the_request(
        self, make_client: AppMaker, database_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        def no_client(region: str) -> Any:
            raise RuntimeError("no SES client today")

        client, _ = await make_client(
            SES_SYNC="both", SES_SYNC_REGIONS=REGION, ses_sync_clients=no_client
        )
        await add(client, "ann@example.com")
        with caplog.at_level(logging.WARNING, "bouncer.ses_sync"):
            gone = await client.delete("/v1/suppressions/ann@example.com", headers=WRITE)
        assert gone.status_code == 204
        assert "could not delete ann@example.com from SES's list at once" in caplog.text
        assert await count_rows(database_url, SesOutbox) == 1  # the next pass has it

    async def test_ses_failing_the_delete_leaves_the_removal_in_the_outbox(
        self, make_client: AppMaker, fake_ses: FakeSes, database_url: str
    ) -> None:
        fake_ses.hold("ann@example.com", "BOUNCE", datetime.now(UTC) - timedelta(days=3))
        client, _ = await make_client(
            SES_SYNC="both", SES_SYNC_REGIONS=REGION, ses_sync_clients=clients_of(fake_ses)
        )
        assert (await client.post("/v1/ses/sync", headers=WRITE)).status_code == 200
        fake_ses.fail("DeleteSuppressedDestination", code="AccessDeniedException", status=403)
        gone = await client.delete("/v1/suppressions/ann@example.com", headers=WRITE)
        assert gone.status_code == 204  # the removal stands whatever SES says
        assert "ann@example.com" in fake_ses.entries
        assert await count_rows(database_url, SesOutbox) == 1
        later = await client.post("/v1/ses/sync", headers=WRITE)
        assert later.json()["regions"][0]["deleted"] == 1
        assert fake_ses.entries == {}
        assert await count_rows(database_url, SesOutbox) == 0

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


@dataclass
class SlowGet(FakeSes):
    """SES answers GetSuppressedDestination only once ``release`` is set."""

    asked: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, call: Call) -> tuple[int, dict[str, object] | None, str | None]:
        if call.operation == "GetSuppressedDestination":
            self.asked.set()
            self.release.wait(15)
        return super().answer(call)


def _delete_scope(path: str) -> dict[str, Any]:
    """An ASGI DELETE with the write token, as uvicorn would pass it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "DELETE",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bouncer.example"),
            (b"authorization", WRITE["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("bouncer.example", 443),
    }


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

    def test_remove_deletes_from_ses_at_once(self, database_url: str, fake_ses: FakeSes) -> None:
        fake_ses.hold("Ann@Example.com", "BOUNCE", datetime.now(UTC) - timedelta(days=3))
        env = self.env(database_url, fake_ses, SES_SYNC="both")
        assert invoke(env, "ses", "sync").exit_code == 0  # pulled: the mirror knows its form
        removed = invoke(env, "suppressions", "remove", "ann@example.com")
        assert removed.exit_code == 0, removed.output
        assert removed.stdout == "removed ann@example.com\n"
        assert fake_ses.entries == {}
        assert run_isolated(lambda: count_rows(database_url, SesOutbox)) == 0

    def test_remove_says_when_ses_keeps_it_for_the_next_pass(
        self, database_url: str, fake_ses: FakeSes
    ) -> None:
        fake_ses.hold("ann@example.com", "BOUNCE", datetime.now(UTC) - timedelta(days=3))
        env = self.env(database_url, fake_ses, SES_SYNC="both")
        assert (
            invoke(env, "suppressions", "add", "ann@example.com", "--reason", "bounce").exit_code
            == 0
        )
        fake_ses.fail("DeleteSuppressedDestination", code="AccessDeniedException", status=403)
        removed = invoke(env, "suppressions", "remove", "ann@example.com")
        assert removed.exit_code == 0, removed.output  # the removal itself is done
        assert removed.stdout == "removed ann@example.com\n"
        assert "could not delete ann@example.com from SES's list in us-east-1 now" in (
            removed.stderr
        )
        assert "ses:DeleteSuppressedDestination" in removed.stderr
        assert "the outbox keeps the removal for the next sync pass" in removed.stderr
        assert "Traceback" not in removed.output
        assert "ann@example.com" in fake_ses.entries
        assert run_isolated(lambda: count_rows(database_url, SesOutbox)) == 1

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
