"""`bouncer replay FILE` end to end: Amazon's signed messages and the test signer's, every
input format, unsigned shapes, refusals and exit codes (SPEC §8)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.commands import replay as command
from app.queues import replay as core
from tests.cli_runs import with_terminal_stderr
from tests.conftest import TOPIC
from tests.queue.test_queue_bodies import eventbridge
from tests.queue_replay.conftest import (
    GENUINE,
    Replay,
    contents,
    genuine,
    lines,
    signed_bodies,
    sqs_message,
    suppressed,
)
from tests.ses_payloads import bounce, complaint, sample
from tests.signing import SnsSigner

# SES bodies from AWS's documentation and the mailbox simulator, and whom each suppresses.
SES_SAMPLES = {
    "doc_notification_bounce_with_dsn": ("jane@example.com", "bounce"),
    "doc_notification_complaint_with_feedback": ("richard@example.com", "complaint"),
    "doc_event_bounce": ("recipient@example.com", "bounce"),
    "simulator_suppressionlist_bounce": ("suppressionlist@simulator.amazonses.com", "bounce"),
}
# Amazon-signed messages that carry an SES bounce or complaint.
GENUINE_SUPPRESSES = {
    "bounce@simulator.amazonses.com": "bounce",
    "complaint@simulator.amazonses.com": "complaint",
}


def genuine_bodies() -> list[str]:
    return [json.dumps(genuine(name)) for name in GENUINE]


def test_signed_messages_take_effect_once_however_often_replayed(
    replay: Replay, write: Any, signer: SnsSigner, database_url: str
) -> None:
    bodies = genuine_bodies() + signed_bodies(signer, *(sample(n) for n in SES_SAMPLES))
    path = write(lines(*bodies))
    first, summary = replay.json(path)
    assert first.exit_code == 0, first.output
    confirmations = sum(genuine(n)["Type"] == "SubscriptionConfirmation" for n in GENUINE)
    assert summary | {"refused_by_cause": None} == {
        "processed": len(bodies) - confirmations,
        "duplicate": 0,
        "confirmed": 0,
        "pending": confirmations,  # SNS_AUTO_CONFIRM=false
        "unsubscribed": 0,
        "refused": 0,
        "retry": 0,
        "total": len(bodies),
        "refused_by_cause": None,
        "refused_messages": [],
        "retry_messages": [],
        "stopped": None,
    }
    expected = GENUINE_SUPPRESSES | dict(SES_SAMPLES.values())
    assert suppressed(database_url) == expected
    stored = contents(database_url)

    again, summary = replay.json(path)
    assert again.exit_code == 0, again.output
    assert (summary["duplicate"], summary["total"]) == (len(bodies), len(bodies))
    assert contents(database_url) == stored


def test_the_table_summary_and_the_database_line(replay: Replay, write: Any) -> None:
    path = write(lines(*genuine_bodies()[:2], "not json"))
    result = replay(path)
    assert result.exit_code == 2
    assert "processed" in result.stdout
    assert "refused: malformed" in result.stdout
    assert "line 3" in result.stdout
    assert "database: " in result.stderr
    assert "1 message(s) refused" in result.stderr


def by_format(signer: SnsSigner) -> dict[str, tuple[list[str], str]]:
    """The same three bodies written in each input format replay reads."""
    bodies = signed_bodies(signer, *(sample(n) for n in list(SES_SAMPLES)[:3]))
    messages = [sqs_message(body, n) for n, body in enumerate(bodies)]
    return {
        "bodies one a line": (bodies, lines(*bodies)),
        "receive-message on one line": (bodies, json.dumps({"Messages": messages}) + "\n"),
        "receive-message indented": (bodies, json.dumps({"Messages": messages}, indent=4)),
        "receive-message twice, indented": (
            bodies,
            json.dumps({"Messages": messages[:2]}, indent=4)
            + "\n"
            + json.dumps({"Messages": messages[2:]}, indent=4)
            + "\n",
        ),
        "SQS messages one a line": (bodies, lines(*(json.dumps(m) for m in messages))),
        "receive-message --query Messages": (bodies, json.dumps(messages, indent=2)),
        "CRLF, blank lines and a BOM": (
            bodies,
            "\ufeff\r\n" + lines(*bodies).replace("\n", "\r\n\r\n"),
        ),
    }


FORMS = (
    "bodies one a line",
    "receive-message on one line",
    "receive-message indented",
    "receive-message twice, indented",
    "SQS messages one a line",
    "receive-message --query Messages",
    "CRLF, blank lines and a BOM",
)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("source", ["file", "stdin"])
def test_every_input_format(
    replay: Replay, write: Any, signer: SnsSigner, database_url: str, form: str, source: str
) -> None:
    bodies, text = by_format(signer)[form]
    if source == "file":
        result, summary = replay.json(write(text))
    else:
        result, summary = replay.json("-", input=text.encode())
    assert result.exit_code == 0, result.output
    assert (summary["processed"], summary["total"]) == (len(bodies), len(bodies))
    assert set(suppressed(database_url)) == {email for email, _ in list(SES_SAMPLES.values())[:3]}


def test_unsigned_shapes_only_when_accepted(replay: Replay, write: Any, database_url: str) -> None:
    bare = bounce(["bare@example.com"], shape="event").rstrip("\n")
    bridged = eventbridge(json.loads(bounce(["bridged@example.com"], shape="event")))
    path = write(lines(bare, bridged))

    refused, summary = replay.json(path)
    assert refused.exit_code == 2, refused.output
    assert (summary["refused"], summary["refused_by_cause"]) == (2, {"unsigned": 2})
    assert "--accept-unsigned" in summary["refused_messages"][0]["reason"]
    assert suppressed(database_url) == {}

    taken, summary = replay.json(path, "--accept-unsigned")
    assert taken.exit_code == 0, taken.output
    assert summary["processed"] == 2
    assert suppressed(database_url) == {
        "bare@example.com": "bounce",
        "bridged@example.com": "bounce",
    }

    again, summary = replay.json(path, SQS_ACCEPT_UNSIGNED="true")
    assert again.exit_code == 0, again.output
    assert summary["duplicate"] == 2


def test_refused_messages_exit_2_and_the_rest_is_stored(
    replay: Replay, write: Any, signer: SnsSigner, database_url: str
) -> None:
    good = signer.make_notification(bounce(["good@example.com"]), topic_arn=TOPIC)
    forged = dict(good, MessageId="f0000000-0000-0000-0000-000000000000")
    foreign = signer.make_notification(bounce(["x@example.com"]), topic_arn=TOPIC + "-other")
    edited = sqs_message(json.dumps(good)) | {"Body": json.dumps(good) + " "}
    path = write(
        lines(
            "not json",
            json.dumps(good),
            json.dumps(forged),
            json.dumps(foreign),
            '{"hello": "world"}',
            eventbridge({"eventType": "Bounce"}, source="aws.s3"),
            bounce(["y@example.com"]),
            json.dumps(edited),
            "[1]",
        )
    )
    result, summary = replay.json(path)
    assert result.exit_code == 2, result.output
    assert summary["processed"] == 1
    assert summary["refused_by_cause"] == {
        "malformed": 4,
        "not_ses": 1,
        "signature": 1,
        "topic": 1,
        "unsigned": 1,
    }
    assert [(p["line"], p["message"], p["cause"]) for p in summary["refused_messages"]] == [
        (1, None, "malformed"),
        (3, None, "signature"),
        (4, None, "topic"),
        (5, None, "malformed"),
        (6, None, "not_ses"),
        (7, None, "unsigned"),
        (8, None, "malformed"),
        (9, 1, "malformed"),
    ]
    assert all(p["reason"] for p in summary["refused_messages"])
    assert "MD5OfBody" in summary["refused_messages"][6]["reason"]
    assert suppressed(database_url) == {"good@example.com": "bounce"}


def test_only_the_first_refusals_are_named(replay: Replay, write: Any) -> None:
    result, summary = replay.json(write(lines(*['"a JSON string"'] * 25)))
    assert result.exit_code == 2
    assert summary["refused"] == 25
    assert [p["line"] for p in summary["refused_messages"]] == list(range(1, core.SHOWN + 1))


def test_a_file_of_no_json_at_all_is_one_refusal(replay: Replay, write: Any) -> None:
    # Read whole as a document (its first line is no JSON), it fails at once: one line
    # says so, rather than one per line of a file that was never JSON.
    result, summary = replay.json(write(lines(*["email,reason"] * 25)))
    assert result.exit_code == 2
    assert summary["refused"] == 1
    assert "nothing after it was read" in summary["refused_messages"][0]["reason"]


def test_an_empty_input_is_nothing_to_do(replay: Replay, write: Any) -> None:
    result, summary = replay.json(write("\n\n"))
    assert result.exit_code == 0, result.output
    assert summary["total"] == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("missing.jsonl",), "cannot read missing.jsonl"),
        ((".",), "cannot read ."),
        (("-", "--batch-size", "0"), "--batch-size"),
        (("-", "--batch-size", "1001"), "--batch-size"),
        (("-", "--format", "csv"), "--format"),
    ],
)
def test_bad_input_exits_2_without_the_database(
    replay: Replay, args: tuple[str, ...], words: str
) -> None:
    result = replay(*args, input=b"")
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "database:" not in result.output
    assert "Traceback" not in result.output


def test_a_utf16_file_says_what_to_do(replay: Replay, write: Any) -> None:
    result = replay(write('{"Type": "Notification"}\n'.encode("utf-16")))
    assert result.exit_code == 2
    assert "UTF-16" in result.stderr


def test_the_help_spells_the_core_limits() -> None:
    # The command spells them so `bouncer --help` imports no database code.
    assert (command.DEFAULT_BATCH, command.MAX_BATCH) == (core.DEFAULT_BATCH, core.MAX_BATCH)


def test_a_terminal_gets_a_progress_bar_on_stderr_and_stdout_stays_the_summary(
    replay: Replay, write: Any, signer: SnsSigner
) -> None:
    path = write(lines(*signed_bodies(signer, bounce(["t@example.com"]))))
    code, out, shown = with_terminal_stderr(replay.env, "replay", path, "--format", "json")
    assert code == 0, shown
    assert json.loads(out)["processed"] == 1
    assert b"replay" in shown
    assert b"100%" in shown


def test_a_file_of_every_shape_replayed_twice_changes_no_table(
    replay: Replay, write: Any, signer: SnsSigner, database_url: str
) -> None:
    # Signed envelopes, bare and EventBridge events (a soft bounce in both), a
    # subscription confirmation and a line of no JSON: the second run stores nothing.
    confirmation = json.dumps(signer.make_subscription_confirmation(topic_arn=TOPIC))
    soft = bounce(["soft@example.com"], bounce_type="Transient", status=None, shape="event")
    bodies = [
        *signed_bodies(signer, bounce(["a@example.com"]), complaint(["b@example.com"])),
        bounce(["c@example.com"], shape="event").strip(),
        soft.strip(),
        eventbridge(json.loads(bounce(["d@example.com"], shape="event"))),
        eventbridge(json.loads(soft)),  # the same soft bounce, the EventBridge shape
        confirmation,
        "not json",
    ]
    path = write(lines(*bodies))
    first, summary = replay.json(path, "--accept-unsigned")
    assert first.exit_code == 2, first.output
    assert summary["refused"] == 1
    stored = contents(database_url)
    again, summary = replay.json(path, "--accept-unsigned")
    assert again.exit_code == 2, again.output
    assert summary["processed"] == 0, summary
    assert contents(database_url) == stored
