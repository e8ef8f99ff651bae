"""`bouncer replay` when something it needs is gone: the database (exit 3, where it stopped,
nothing of the lost batch stored) or a host it must ask (those messages exit 3, to retry)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app.ingest import queued, receiving
from app.models import Event
from tests.cli_runs import BOUNCER
from tests.conftest import TOPIC
from tests.databases import count_rows, run_isolated
from tests.queue_replay.conftest import Replay, lines, signed_bodies, suppressed
from tests.ses_payloads import bounce
from tests.signing import SnsSigner
from tests.tcp_proxy import TcpProxy

# Nothing listens on port 1: every request through this proxy is refused at once.
DEAD_PROXY = "http://127.0.0.1:1"


def addresses(n: int, first: int = 1) -> list[str]:
    return [f"u{i}@example.com" for i in range(first, first + n)]


def bounces(signer: SnsSigner, emails: list[str]) -> list[str]:
    return signed_bodies(signer, *(bounce([email]) for email in emails))


def test_no_database_at_start_is_exit_3_naming_it(
    replay: Replay, write: Any, database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        gone = f"sqlite+aiosqlite:///{tmp_path / 'gone.db'}"
    else:
        gone = "postgresql+asyncpg://postgres@127.0.0.1:1/gone"
    result = replay(write(lines('{"Type": "Notification"}')), DATABASE_URL=gone)
    assert result.exit_code == 3, result.output
    assert "gone" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "gone.db").exists()  # a command never creates a database


def test_a_database_lost_mid_file_stops_saying_where_to_continue(
    replay: Replay, write: Any, signer: SnsSigner, database_url: str, monkeypatch: Any
) -> None:
    # The second batch's write fails as a lost connection does (SQLite and PostgreSQL).
    store = receiving.store_notifications
    calls = 0

    async def lose_second(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OperationalError("INSERT", None, ConnectionResetError("reset by peer"))
        return await store(*args, **kwargs)

    monkeypatch.setattr(queued, "store_notifications", lose_second)
    emails = addresses(7)
    good = bounces(signer, emails)
    path = write(lines(*good[:3], "not json", *good[3:]), name="saved dump.jsonl")
    result, summary = replay.json(path, "--batch-size", "3")
    assert result.exit_code == 3, result.output
    # Lines 1-3 are the first batch; line 4 is refused; lines 5-7 were the batch lost.
    assert summary["stopped"]["line"] == 5
    assert (summary["processed"], summary["refused"], summary["total"]) == (3, 1, 4)
    assert "Stopped at line 5" in result.stderr
    assert f"tail -n +5 '{path}' | bouncer replay -" in result.stderr
    assert "3 stored or duplicate" in result.stderr
    assert "or the whole input again: what is stored counts as duplicate" in result.stderr
    assert set(suppressed(database_url)) == set(emails[:3])

    monkeypatch.setattr(queued, "store_notifications", store)
    rest, summary = replay.json("-", input=lines(*good[3:]).encode())  # as `tail` would
    assert rest.exit_code == 0, rest.output
    assert summary["processed"] == 4
    whole, summary = replay.json(path, "--batch-size", "3")
    assert whole.exit_code == 2  # line 4 is still no JSON
    assert (summary["duplicate"], summary["processed"]) == (7, 0)
    assert set(suppressed(database_url)) == set(emails)


def lose_the_second_batch(monkeypatch: Any) -> None:
    """The second batch's write fails as a lost connection does (SQLite and PostgreSQL)."""
    store = receiving.store_notifications
    calls = 0

    async def lose_second(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OperationalError("INSERT", None, ConnectionResetError("reset by peer"))
        return await store(*args, **kwargs)

    monkeypatch.setattr(queued, "store_notifications", lose_second)


def test_the_way_to_continue_keeps_the_options(
    replay: Replay, write: Any, database_url: str, monkeypatch: Any
) -> None:
    # Bare SES events (a Firehose export) replayed with --accept-unsigned; the database is
    # lost at the second batch. The command printed to continue must take the rest the
    # same way, or every line from there on is refused (exit 2).
    lose_the_second_batch(monkeypatch)
    emails = addresses(4)
    path = write(lines(*(bounce([email], shape="event").strip() for email in emails)))
    result = replay(path, "--accept-unsigned", "--batch-size", "2")
    assert result.exit_code == 3, result.output
    hint = next(line for line in result.stderr.splitlines() if "tail -n +3" in line)
    command = hint.split("(`", 1)[1].split("`)", 1)[0]
    replayed = shlex.split(command.split("|", 1)[1])
    assert replayed == ["bouncer", "replay", "-", "--accept-unsigned", "--batch-size", "2"]
    # Followed (the database back), it takes the rest: what `tail -n +3` prints.
    monkeypatch.setattr(queued, "store_notifications", receiving.store_notifications)
    tail = "".join(Path(path).read_text().splitlines(keepends=True)[2:])
    again, summary = replay.json("-", *replayed[3:], input=tail.encode())
    assert again.exit_code == 0, again.output
    assert summary["processed"] == 2
    assert set(suppressed(database_url)) == set(emails)


def test_reading_standard_input_the_options_are_named(
    replay: Replay, database_url: str, monkeypatch: Any
) -> None:
    lose_the_second_batch(monkeypatch)
    bodies = [bounce([email], shape="event").strip() for email in addresses(4)]
    result = replay("-", "--accept-unsigned", "--batch-size", "2", input=lines(*bodies).encode())
    assert result.exit_code == 3, result.output
    assert "Give the same options: --accept-unsigned --batch-size 2." in result.stderr


@pytest.mark.postgres
def test_postgresql_cut_mid_file(replay: Replay, signer: SnsSigner, database_url: str) -> None:
    # A process of its own reading a pipe: the first batch commits while the rest of the
    # input is awaited, then the connection to PostgreSQL is cut.
    direct = make_url(database_url)
    emails = addresses(6)
    data = lines(*bounces(signer, emails)).encode()
    first, rest = data.split(b"\n", 2)[:2], data.split(b"\n", 2)[2]
    with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        proxied = direct.set(host="127.0.0.1", port=proxy.port)
        env = (
            os.environ
            | replay.env
            | {"DATABASE_URL": proxied.render_as_string(hide_password=False)}
        )
        with subprocess.Popen(  # noqa: S603  (our own console script)
            [str(BOUNCER), "replay", "-", "--batch-size", "2", "--format", "json"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        ) as process:
            assert process.stdin is not None
            process.stdin.write(b"\n".join(first) + b"\n")
            process.stdin.flush()
            for _ in range(400):  # the first batch commits while line 3 is awaited
                if run_isolated(lambda: count_rows(database_url, Event)) == 2:
                    break
                time.sleep(0.05)
            proxy.cut()
            out, err = process.communicate(rest, timeout=60)
    assert process.returncode == 3, err
    summary = json.loads(out)
    assert summary["stopped"] == {
        "line": 3,
        "message": None,
        "error": summary["stopped"]["error"],
    }
    assert summary["stopped"]["error"].startswith("the database is unreachable (")
    assert summary["processed"] == 2
    assert b"Replay the input from line 3 on to continue, or" in err
    assert b"cannot reach the database" in err
    assert run_isolated(lambda: count_rows(database_url, Event)) == 2
    assert set(suppressed(database_url)) == set(emails[:2])


def elsewhere(signer: SnsSigner, email: str) -> str:
    """A signed envelope whose certificate is not in SNS_CERT_DIR: it must be fetched."""
    envelope = signer.make_notification(bounce([email]), topic_arn=TOPIC)
    # SigningCertURL is not signed, so the envelope stays valid.
    envelope["SigningCertURL"] = (
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem"
    )
    return json.dumps(envelope)


def test_a_certificate_host_down_leaves_those_messages_to_retry(
    replay: Replay, write: Any, signer: SnsSigner, database_url: str
) -> None:
    good = bounces(signer, ["kept@example.com"])
    path = write(lines(elsewhere(signer, "later@example.com"), *good, "not json"))
    result, summary = replay.json(path, HTTPS_PROXY=DEAD_PROXY)
    # Refused and left to retry: 3, since a later replay has work to do.
    assert result.exit_code == 3, result.output
    assert (summary["retry"], summary["processed"], summary["refused"]) == (1, 1, 1)
    assert "1 message(s) refused" in result.stderr
    [left] = summary["retry_messages"]
    assert (left["line"], left["cause"]) == (1, "unavailable")
    assert "SimpleNotificationService-x.pem" in left["reason"]
    assert "1 message(s) could not be taken now" in result.stderr
    assert "line 1" in result.stderr
    assert "replay the input again later" in result.stderr
    assert set(suppressed(database_url)) == {"kept@example.com"}


def test_sns_unreachable_for_a_confirmation_leaves_only_it_to_retry(
    replay: Replay, write: Any, signer: SnsSigner, database_url: str
) -> None:
    confirmation = json.dumps(signer.make_subscription_confirmation(topic_arn=TOPIC))
    good = bounces(signer, ["a@example.com", "b@example.com"])
    path = write(lines(good[0], confirmation, good[1]))
    result, summary = replay.json(path, SNS_AUTO_CONFIRM="true", HTTPS_PROXY=DEAD_PROXY)
    assert result.exit_code == 3, result.output
    assert (summary["processed"], summary["retry"]) == (2, 1)
    assert summary["retry_messages"][0]["line"] == 2
    assert set(suppressed(database_url)) == {"a@example.com", "b@example.com"}
