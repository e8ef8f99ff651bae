"""What a queued body is (SPEC §8): each hostile or odd body, the error it gets, and the
three shapes read as the same SES event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.errors import BouncerError, EnvelopeInvalid, NotSesEvent, UnsignedRefused
from app.ingest.queue_bodies import Unsigned, read_body
from app.sns.envelope import SnsMessage
from app.vocabulary import EventType
from tests.conftest import TOPIC
from tests.ses_payloads import bounce
from tests.signing import SnsSigner

BOUNCE = bounce(["ann@example.com"], feedback_id="fb-1", message_id="msg-1", shape="event")


def eventbridge(detail: Any, *, source: Any = "aws.ses", **extra: Any) -> str:
    # The shape AWS documents for SES events on EventBridge.
    # https://docs.aws.amazon.com/ses/latest/dg/monitoring-eventbridge.html
    event = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Email Bounced",
        "source": source,
        "account": "123456789012",
        "time": "2026-12-06T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    } | extra
    return json.dumps(event)


# body, accept_unsigned, the error, words its message must hold
REFUSED: list[tuple[str, str | bytes, bool, type[BouncerError], str]] = [
    ("not JSON", "not json", True, EnvelopeInvalid, "not JSON"),
    ("empty", "", True, EnvelopeInvalid, "not JSON"),
    ("invalid UTF-8", b'{"eventType": "\xff"}', True, EnvelopeInvalid, "not JSON"),
    ("a JSON array", "[1, 2]", True, EnvelopeInvalid, "list"),
    ("a JSON string", '"Bounce"', True, EnvelopeInvalid, "str"),
    ("nested too deep", "[" * 100_000 + "]" * 100_000, True, EnvelopeInvalid, "JSON"),
    ("none of the shapes", '{"hello": "world"}', True, EnvelopeInvalid, "none of the three"),
    ("eventType not a string", '{"eventType": 1}', True, EnvelopeInvalid, "none of the three"),
    ("envelope without Signature", '{"Type": "Notification"}', True, EnvelopeInvalid, "Message"),
    (
        "envelope of another Type",
        '{"Type": "Other", "SignatureVersion": "1"}',
        True,
        EnvelopeInvalid,
        "Type",
    ),
    ("bare SES event, unsigned refused", BOUNCE, False, UnsignedRefused, "SQS_ACCEPT_UNSIGNED"),
    (
        "EventBridge, unsigned refused",
        eventbridge(json.loads(BOUNCE)),
        False,
        UnsignedRefused,
        "SQS_ACCEPT_UNSIGNED",
    ),
    (
        "EventBridge from another source",
        eventbridge({}, source="aws.ec2"),
        True,
        NotSesEvent,
        '"aws.ec2"',
    ),
    (
        "EventBridge, source not a string",
        eventbridge({}, source=["aws.ses"]),
        True,
        NotSesEvent,
        "",
    ),
    ("EventBridge, detail a string", eventbridge(BOUNCE), True, EnvelopeInvalid, "detail"),
]


@pytest.mark.parametrize(
    ("body", "accept", "error", "words"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_refused_bodies_say_why(
    body: str | bytes, accept: bool, error: type[BouncerError], words: str
) -> None:
    with pytest.raises(error) as raised:
        read_body(body, accept_unsigned=accept)
    assert type(raised.value) is error
    assert words in raised.value.message


def test_another_source_is_refused_before_the_unsigned_check() -> None:
    # Not an SES event at all: the cause names that, whatever SQS_ACCEPT_UNSIGNED says.
    with pytest.raises(NotSesEvent):
        read_body(eventbridge({}, source="aws.ec2"), accept_unsigned=False)


def test_a_signed_envelope_is_read_not_yet_verified(signer: SnsSigner) -> None:
    envelope = signer.make_notification(BOUNCE, topic_arn=TOPIC)
    read = read_body(json.dumps(envelope), accept_unsigned=False)
    assert isinstance(read, SnsMessage)
    assert read.message_id == envelope["MessageId"]
    assert read.message == BOUNCE


def test_the_three_shapes_carry_the_same_event(signer: SnsSigner) -> None:
    envelope = read_body(json.dumps(signer.make_notification(BOUNCE)), accept_unsigned=False)
    bare = read_body(BOUNCE, accept_unsigned=True)
    bridged = read_body(eventbridge(json.loads(BOUNCE)), accept_unsigned=True)
    assert isinstance(envelope, SnsMessage)
    assert isinstance(bare, Unsigned)
    assert isinstance(bridged, Unsigned)
    assert (bare.shape, bridged.shape) == ("ses", "eventbridge")
    for event in (bare.event, bridged.event):
        assert event.type == EventType.BOUNCE
        assert event.feedback_id == "fb-1"
        assert event.ses_message_id == "msg-1"
        assert [r.email for r in event.recipients] == ["ann@example.com"]


def test_unsigned_ids_are_stable_and_bounded() -> None:
    bridged = read_body(eventbridge(json.loads(BOUNCE)), accept_unsigned=True)
    assert isinstance(bridged, Unsigned)
    assert bridged.source_id == "eventbridge:6a7e8feb-b491-4cf7-a9f1-bf3703467718"
    # No usable id: a digest of the detail, the same each time it is read.
    odd = eventbridge(json.loads(BOUNCE), id="x" * 500)
    first, again = (read_body(odd, accept_unsigned=True) for _ in range(2))
    assert isinstance(first, Unsigned)
    assert isinstance(again, Unsigned)
    assert first.source_id == again.source_id
    assert len(first.source_id) <= 128
    bare = read_body(BOUNCE, accept_unsigned=True)
    assert isinstance(bare, Unsigned)
    assert bare.source_id.startswith("ses-body:")
    assert len(bare.source_id) <= 128


def test_an_eventbridge_event_of_ses_that_is_no_email_event_is_read_as_unknown() -> None:
    # SES also sends account events (Sending Status Disabled, Advisor …) to EventBridge:
    # recorded as what they are, never guessed into a bounce.
    read = read_body(
        eventbridge({"status": "DISABLED"}, **{"detail-type": "Sending Status Disabled"}),
        accept_unsigned=True,
    )
    assert isinstance(read, Unsigned)
    assert read.event.type == EventType.UNKNOWN
    assert read.event.recipients == ()


class TestRepeatedKeys:
    """As the SNS envelope parser does: two values for one key are refused, since the one
    bouncer would act on (Python's json keeps the last) need not be the one a first-wins
    reader, the EventBridge rule or a person reading the message saw."""

    def test_an_eventbridge_event_repeating_source_is_refused(self) -> None:
        # First-wins readers see "my.app"; bouncer would read "aws.ses" and take it.
        body = (
            '{"version": "0", "id": "r16-1", "detail-type": "Email Bounced", '
            '"source": "my.app", "source": "aws.ses", "account": "123456789012", '
            f'"detail": {BOUNCE.strip()}}}'
        )
        with pytest.raises(EnvelopeInvalid, match="repeats the key"):
            read_body(body, accept_unsigned=True)

    def test_a_bare_ses_event_repeating_its_type_is_refused(self) -> None:
        # A Delivery to the eye (and to a first-wins reader), a permanent Bounce to json.
        text = json.dumps(json.loads(BOUNCE))
        body = '{"eventType": "Delivery", ' + text[1:]
        assert json.loads(body)["eventType"] == "Bounce"
        with pytest.raises(EnvelopeInvalid, match="repeats the key"):
            read_body(body, accept_unsigned=True)

    def test_a_key_repeated_inside_detail_is_refused(self) -> None:
        detail = json.dumps(json.loads(BOUNCE))
        repeated = detail.replace('"bounceType":', '"bounceType": "Transient", "bounceType":', 1)
        assert repeated != detail
        with pytest.raises(EnvelopeInvalid, match='repeats the key "bounceType"'):
            read_body(eventbridge({}).replace("{}", repeated), accept_unsigned=True)

    def test_an_envelope_repeating_a_key_is_refused_too(self, signer: SnsSigner) -> None:
        text = json.dumps(signer.make_notification(BOUNCE, topic_arn=TOPIC))
        with pytest.raises(EnvelopeInvalid, match="repeats the key"):
            read_body('{"Type": "Notification", ' + text[1:], accept_unsigned=False)
