"""`bouncer aws doctor --simulate`: one message to each of SES's simulator addresses through
bouncer's send wrapper (to moto_server's SES), then a bounded wait for the events.

moto's own simulator feedback is a placeholder body, not what SES sends, and is never
set up here: the test plays SES's part itself. For each message moto took, it posts
the event SES would publish (tests/ses_payloads builders, the SES message id moto gave
the send) as SNS would, signed with the test certificate, to bouncer's /sns, which
stores it in the event history the doctor watches. The CLI runs in a thread of its own
meanwhile, through its real entry point.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from typer.testing import Result

from tests.aws_doctor.conftest import Aws, named
from tests.cli_runs import invoke
from tests.conftest import TOPIC, AppMaker
from tests.ses.conftest import REGION
from tests.ses_payloads import bounce, complaint, delivery
from tests.signing import SnsSigner, post_args

# One thread for the run (see tests.databases.run_isolated: a thread that ran
# SQLAlchemy's greenlets must not die under pytest-xdist).
_CLI = ThreadPoolExecutor(1, thread_name_prefix="doctor-cli")

SUCCESS = "success@simulator.amazonses.com"
BOUNCE = "bounce@simulator.amazonses.com"
COMPLAINT = "complaint@simulator.amazonses.com"
LISTED = "suppressionlist@simulator.amazonses.com"

# What SES publishes for a message to each simulator address.
ANSWERS: dict[str, Callable[[str, str], str]] = {
    SUCCESS: lambda to, message_id: delivery([to], message_id=message_id),
    BOUNCE: lambda to, message_id: bounce([to], message_id=message_id),
    COMPLAINT: lambda to, message_id: complaint([to], message_id=message_id),
    LISTED: lambda to, message_id: bounce([to], message_id=message_id, subtype="Suppressed"),
}


def sent_by_moto() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


@asynccontextmanager
async def playing_ses(
    http: httpx.AsyncClient, signer: SnsSigner, answered: set[str]
) -> AsyncIterator[list[str]]:
    """Answer each message moto takes to an ``answered`` address as SES would; yields the
    SNS responses' statuses."""
    statuses: list[str] = []
    seen: set[str] = set()

    async def answer() -> None:
        while True:
            for message in sent_by_moto():
                if message.id in seen:
                    continue
                seen.add(message.id)
                [to] = message.destinations["ToAddresses"]
                if to in answered:
                    envelope = signer.make_notification(
                        ANSWERS[to](to, message.id), topic_arn=TOPIC
                    )
                    body, headers = post_args(envelope)
                    response = await http.post("/sns", content=body, headers=headers)
                    statuses.append(response.json()["status"])
            await asyncio.sleep(0.05)

    task = asyncio.create_task(answer())
    try:
        yield statuses
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def run_cli(env: dict[str, str | None], *args: str) -> Result:
    return await asyncio.wrap_future(_CLI.submit(invoke, env, *args))


def wired(aws: Aws, database_url: str, tmp_path: Path) -> dict[str, str | None]:
    """example.com publishing everything to TOPIC, subscribed to bouncer; the settings."""
    topic = aws.topic("ses-bounces-topic-prod")
    assert topic == TOPIC
    aws.subscribe(topic)
    aws.identity("example.com", bounce=topic, complaint=topic, delivery=topic)
    return {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "SNS_TOPIC_ARNS": TOPIC,
        "AWS_REGION": REGION,
        "SES_ENDPOINT_URL": None,
        "SES_CONFIGURATION_SET": None,
    }


async def simulated(env: dict[str, str | None], *args: str) -> tuple[int, list[dict[str, Any]]]:
    import json

    result = await run_cli(env, "aws", "doctor", "--simulate", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, named(json.loads(result.stdout), "simulate")


def by_address(findings: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {f["resource"]: (f["severity"], f["message"]) for f in findings}


async def test_every_event_arrives(
    aws: Aws, database_url: str, tmp_path: Path, make_client: AppMaker, signer: SnsSigner
) -> None:
    env = wired(aws, database_url, tmp_path)
    http, _ = await make_client()
    async with playing_ses(http, signer, set(ANSWERS)) as statuses:
        code, findings = await simulated(env, "--wait", "60")
    assert code == 0, findings
    assert statuses == ["processed"] * 4
    sent = {m.destinations["ToAddresses"][0]: m for m in sent_by_moto()}
    assert set(sent) == set(ANSWERS)
    assert {m.source for m in sent.values()} == {"bouncer-doctor@example.com"}
    seen = by_address(findings)
    assert set(seen) == set(ANSWERS)
    for address, kind in [(SUCCESS, "Delivery"), (BOUNCE, "Bounce"), (COMPLAINT, "Complaint")]:
        severity, message = seen[address]
        assert severity == "info"
        assert message == (
            f"the {kind} event for {address} (SES message id {sent[address].id}) arrived"
        )


async def test_what_did_not_arrive_is_named(
    aws: Aws, database_url: str, tmp_path: Path, make_client: AppMaker, signer: SnsSigner
) -> None:
    env = wired(aws, database_url, tmp_path)
    http, _ = await make_client()
    async with playing_ses(http, signer, {BOUNCE, COMPLAINT}):
        code, findings = await simulated(env, "--wait", "3")
    assert code == 1
    seen = by_address(findings)
    assert seen[BOUNCE][0] == seen[COMPLAINT][0] == "info"
    assert seen[SUCCESS][0] == "warning"  # deliveries are optional
    assert "no Delivery event for success@simulator.amazonses.com" in seen[SUCCESS][1]
    assert seen[LISTED][0] == "error"
    assert "no Bounce event for suppressionlist@simulator.amazonses.com" in seen[LISTED][1]
    assert "within 3 s" in seen[LISTED][1]


async def test_the_wait_is_bounded_when_nothing_arrives(
    aws: Aws, database_url: str, tmp_path: Path
) -> None:
    env = wired(aws, database_url, tmp_path)
    started = time.monotonic()
    code, findings = await simulated(env, "--wait", "1")
    assert code == 1
    assert time.monotonic() - started < 60  # 1 s of waiting, and no more than a run's work
    assert {severity for severity, _ in by_address(findings).values()} == {"error", "warning"}
    assert all("within 1 s" in f["message"] for f in findings)
    assert len(sent_by_moto()) == 4


async def test_an_address_already_suppressed_is_not_sent_to(
    aws: Aws, database_url: str, tmp_path: Path, make_client: AppMaker, signer: SnsSigner
) -> None:
    env = wired(aws, database_url, tmp_path)
    added = await run_cli(env, "suppressions", "add", BOUNCE, "--reason", "bounce")
    assert added.exit_code == 0, added.output
    http, _ = await make_client()
    async with playing_ses(http, signer, set(ANSWERS)):
        code, findings = await simulated(env, "--wait", "60")
    assert code == 0, findings
    severity, message = by_address(findings)[BOUNCE]
    assert severity == "info"
    assert "on bouncer's suppression list" in message
    assert BOUNCE not in {m.destinations["ToAddresses"][0] for m in sent_by_moto()}


async def test_ses_refusing_the_sender(aws: Aws, database_url: str, tmp_path: Path) -> None:
    env = wired(aws, database_url, tmp_path)
    code, findings = await simulated(env, "--from", "ops@unverified.example", "--wait", "1")
    assert code == 1
    assert {f["severity"] for f in findings} == {"error"}
    assert all("SES refused the send" in f["message"] for f in findings)
    assert sent_by_moto() == []


def test_simulate_needs_the_database(aws: Aws, tmp_path: Path) -> None:
    result = invoke(
        {"DATA_DIR": str(tmp_path), "SNS_TOPIC_ARNS": TOPIC}, "aws", "doctor", "--simulate"
    )
    assert result.exit_code == 3, result.output
    assert "no database" in result.stderr
    assert not (tmp_path / "bouncer.db").exists()
    assert aws.stubbers == []  # nothing read before the database was found missing
