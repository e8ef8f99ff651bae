"""bouncer suppressions show, --until, and bouncer subscriptions list|confirm."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws
from sqlalchemy import select

from app.db import Database
from app.errors import Unavailable
from app.models import Subscription
from app.sns.confirmation import SubscriptionConfirmer
from tests.cli_runs import invoke
from tests.databases import run_isolated
from tests.ses.conftest import use_fake_aws_credentials


def test_show_explains_an_address_suppressed_or_not(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    assert invoke(env, "suppressions", "add", "Ann@Example.com", "--note", "asked").exit_code == 0
    shown = invoke(env, "suppressions", "show", "ann@example.com", "--format", "json")
    assert shown.exit_code == 1, shown.output
    body = json.loads(shown.stdout)
    assert body["suppressed"] is True
    assert body["entry"]["note"] == "asked"
    assert body["entry"]["source"] == "cli"
    assert [(c["action"], c["actor"]) for c in body["history"]] == [("added", "cli")]

    removed = invoke(env, "suppressions", "remove", "ann@example.com", "--note", "[/] fixed")
    assert removed.exit_code == 0
    after = invoke(env, "suppressions", "show", "ann@example.com", "--format", "json")
    assert after.exit_code == 0
    body = json.loads(after.stdout)
    assert body["suppressed"] is False
    assert body["entry"] is None
    assert [(c["action"], c["actor"], c["note"]) for c in body["history"]] == [
        ("added", "cli", "asked"),
        ("removed", "cli", "[/] fixed"),
    ]
    table = invoke(env, "suppressions", "show", "ann@example.com")
    assert table.exit_code == 0
    assert "not suppressed" in table.stdout
    assert "[/] fixed" in table.stdout
    never = invoke(env, "suppressions", "show", "bob@example.com")
    assert never.exit_code == 0
    assert "no changes recorded" in never.stdout
    assert invoke(env, "suppressions", "show", "nope").exit_code == 2


def test_until_bounds_list(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    assert invoke(env, "suppressions", "add", "ann@example.com").exit_code == 0
    before = invoke(env, "suppressions", "list", "--until", "2026-01-01", "--format", "json")
    assert before.exit_code == 0, before.output
    assert json.loads(before.stdout) == []
    later = invoke(env, "suppressions", "list", "--until", "2999-01-01", "--format", "json")
    assert [e["email"] for e in json.loads(later.stdout)] == ["ann@example.com"]
    assert invoke(env, "suppressions", "list", "--until", "later").exit_code == 2


TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"


async def _subscription(url: str, status: str) -> None:
    database = Database(url)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        async with database.session() as session:
            session.add(
                Subscription(
                    topic_arn=TOPIC, status=status, token="tok-1",
                    subscribe_url="https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
                    last_message_id="m1", created_at=now, updated_at=now,
                )
            )  # fmt: skip
    finally:
        await database.dispose()


async def _status(url: str) -> str | None:
    database = Database(url)
    try:
        async with database.session() as session:
            return await session.scalar(select(Subscription.status))
    finally:
        await database.dispose()


def test_subscriptions_list(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    run_isolated(lambda: _subscription(database_url, "pending"))
    for args in (("subscriptions", "list"), ("subscriptions",)):
        listed = invoke(env, *args, "--format", "json")
        assert listed.exit_code == 0, listed.output
        assert [(s["topic_arn"], s["status"]) for s in json.loads(listed.stdout)] == [
            (TOPIC, "pending")
        ]


def test_confirm_a_pending_subscription_through_sns(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_fake_aws_credentials(monkeypatch, tmp_path)
    run_isolated(lambda: _subscription(database_url, "pending"))
    env = {"DATABASE_URL": database_url}
    with mock_aws():
        boto3.client("sns", region_name="us-east-1").create_topic(Name="ses-bounces")
        done = invoke(env, "subscriptions", "confirm", TOPIC)
    assert done.exit_code == 0, done.output
    assert done.stdout == f"{TOPIC} confirmed\n"
    assert run_isolated(lambda: _status(database_url)) == "confirmed"


def test_sns_timing_out_is_sns_not_confirming_not_a_missing_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore's timeouts are OSErrors (through requests' exceptions): guessing "database
    # down" from the cause chain answered exit 3, "no database", for an SNS that timed out.
    async def times_out(_: SubscriptionConfirmer, confirmation: object) -> str:
        cause = ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com/")
        raise Unavailable("SNS did not answer ConfirmSubscription in time") from cause

    run_isolated(lambda: _subscription(database_url, "pending"))
    monkeypatch.setattr(SubscriptionConfirmer, "confirm", times_out)
    done = invoke({"DATABASE_URL": database_url}, "subscriptions", "confirm", TOPIC)
    assert done.exit_code == 4, done.output
    assert "SNS did not answer ConfirmSubscription in time" in done.stderr
    assert run_isolated(lambda: _status(database_url)) == "failed"


@pytest.mark.parametrize(
    ("status", "topic", "code", "says"),
    [
        ("pending", TOPIC + "-other", 2, "no subscription for"),
        ("unsubscribed", TOPIC, 2, "is unsubscribed, not pending"),
        ("pending", "not an arn [/]", 2, "no subscription for not an arn [/]"),
    ],
)
def test_confirm_refusals_change_nothing(
    database_url: str, status: str, topic: str, code: int, says: str
) -> None:
    run_isolated(lambda: _subscription(database_url, status))
    done = invoke({"DATABASE_URL": database_url}, "subscriptions", "confirm", topic)
    assert done.exit_code == code, done.output
    assert says in done.stderr
    assert run_isolated(lambda: _status(database_url)) == status


def test_events_for_a_malformed_address_is_one_line_and_exit_2(database_url: str) -> None:
    # Exit 1 means "found" to a script, and a traceback is no answer: `bouncer events bad`
    # is bad input, like every other command's.
    result = invoke({"DATABASE_URL": database_url}, "events", "not-an-address")
    assert result.exit_code == 2, result.output
    assert "not a valid email address" in result.stderr
    assert "Traceback" not in result.output
