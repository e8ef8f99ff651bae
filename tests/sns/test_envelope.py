"""Parsing SNS POST bodies and headers into SnsMessage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from app.errors import EnvelopeInvalid, RawDeliveryRefused
from app.sns.envelope import SnsMessage, parse_envelope
from tests.signing import TOPIC_ARN, SnsSigner, post_args

NOW = datetime(2025, 6, 2, 12, 0, 0, 123000, tzinfo=UTC)


def parse(envelope: dict[str, Any], **headers: str) -> SnsMessage:
    body, sns_headers = post_args(envelope)
    return parse_envelope(body, sns_headers | headers)


def body_of(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


@pytest.fixture
def notification(signer: SnsSigner) -> dict[str, Any]:
    return signer.make_notification("payload", subject="Hello", timestamp=NOW)


@pytest.fixture
def confirmation(signer: SnsSigner) -> dict[str, Any]:
    return signer.make_subscription_confirmation(token="t0k3n", timestamp=NOW)


class TestWellFormedEnvelopes:
    def test_a_notification_as_sns_posts_it(self, notification: dict[str, Any]) -> None:
        message = parse(notification)
        assert message.type == "Notification"
        assert message.message_id == notification["MessageId"]
        assert message.topic_arn == TOPIC_ARN
        assert message.region == "us-east-1"
        assert message.message == "payload"
        assert message.subject == "Hello"
        assert message.timestamp == NOW
        assert message.timestamp_raw == "2025-06-02T12:00:00.123Z"
        assert message.signature_version == "1"
        assert message.signature == notification["Signature"]
        assert message.signing_cert_url == notification["SigningCertURL"]
        assert message.unsubscribe_url == notification["UnsubscribeURL"]
        assert message.token is None
        assert message.subscribe_url is None
        assert message.raw == notification

    def test_a_subscription_confirmation(self, confirmation: dict[str, Any]) -> None:
        message = parse(confirmation)
        assert message.type == "SubscriptionConfirmation"
        assert message.token == "t0k3n"
        assert message.subscribe_url == confirmation["SubscribeURL"]
        assert message.subject is None

    def test_an_unsubscribe_confirmation(self, signer: SnsSigner) -> None:
        message = parse(signer.make_unsubscribe_confirmation(token="abc"))
        assert message.type == "UnsubscribeConfirmation"
        assert message.token == "abc"

    def test_without_headers(self, notification: dict[str, Any]) -> None:
        assert parse_envelope(body_of(notification), {}).message_id == notification["MessageId"]

    def test_header_names_are_case_insensitive(self, notification: dict[str, Any]) -> None:
        body, headers = post_args(notification)
        titled = {name.title(): value for name, value in headers.items()}
        assert parse_envelope(body, titled).type == "Notification"

    def test_rawdelivery_false_is_an_ordinary_post(self, notification: dict[str, Any]) -> None:
        assert parse(notification, **{"x-amz-sns-rawdelivery": "false"}).message == "payload"

    def test_non_ascii_text_survives(self, signer: SnsSigner) -> None:
        message = parse(signer.make_notification("Grüße ✉ 𝄞", subject="Ünïcode"))
        assert message.message == "Grüße ✉ 𝄞"
        assert message.subject == "Ünïcode"

    def test_unknown_extra_fields_are_kept_in_raw(self, notification: dict[str, Any]) -> None:
        notification["MessageAttributes"] = {"a": {"Type": "String", "Value": "b"}}
        assert parse(notification).raw["MessageAttributes"]["a"]["Value"] == "b"

    def test_a_notification_never_hands_on_unsigned_token_or_subscribe_url(
        self, notification: dict[str, Any]
    ) -> None:
        notification |= {"Token": "x", "SubscribeURL": "https://sns.us-east-1.amazonaws.com/"}
        message = parse(notification)
        assert message.token is None
        assert message.subscribe_url is None

    def test_a_confirmation_never_hands_on_an_unsigned_subject(
        self, confirmation: dict[str, Any]
    ) -> None:
        confirmation["Subject"] = "not signed here"
        assert parse(confirmation).subject is None

    def test_the_message_is_frozen(self, notification: dict[str, Any]) -> None:
        message = parse(notification)
        with pytest.raises(AttributeError):
            message.message = "changed"  # type: ignore[misc]
        with pytest.raises(TypeError):
            message.raw["Message"] = "changed"  # type: ignore[index]


class TestLambdaSpelling:
    def test_url_fields_in_camel_case_are_the_same_fields(
        self, confirmation: dict[str, Any]
    ) -> None:
        for name in ("SigningCertURL", "SubscribeURL"):
            confirmation[name.removesuffix("URL") + "Url"] = confirmation.pop(name)
        confirmation["UnsubscribeUrl"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        message = parse(confirmation)
        assert message.signing_cert_url == confirmation["SigningCertUrl"]
        assert message.subscribe_url == confirmation["SubscribeUrl"]
        assert message.unsubscribe_url == confirmation["UnsubscribeUrl"]

    def test_subject_null_is_absent(self, signer: SnsSigner) -> None:
        envelope = signer.make_notification("x")
        envelope["Subject"] = None
        assert parse(envelope).subject is None

    def test_both_spellings_agreeing_are_accepted(self, notification: dict[str, Any]) -> None:
        notification["SigningCertUrl"] = notification["SigningCertURL"]
        assert parse(notification).signing_cert_url == notification["SigningCertURL"]

    def test_both_spellings_disagreeing_are_refused(self, notification: dict[str, Any]) -> None:
        notification["SigningCertUrl"] = "https://sns.us-east-1.amazonaws.com/other.pem"
        with pytest.raises(EnvelopeInvalid, match="SigningCertURL and SigningCertUrl"):
            parse(notification)


class TestRawDelivery:
    @pytest.mark.parametrize("value", ["true", "True", "TRUE", " true "])
    def test_is_refused_with_the_fix(self, value: str) -> None:
        with pytest.raises(RawDeliveryRefused) as caught:
            parse_envelope(b"just the message", {"X-Amz-Sns-Rawdelivery": value})
        assert caught.value.message == (
            "raw message delivery is on for this subscription: "
            "turn it off so messages carry signatures"
        )


class TestMalformedBodies:
    @pytest.mark.parametrize(
        ("body", "words"),
        [
            (b"", "not JSON"),
            (b"hello", "not JSON"),
            (b"{'Type': 'Notification'}", "not JSON"),
            (b"[]", "JSON list, not the JSON object"),
            (b'"Notification"', "JSON str, not the JSON object"),
            (b"null", "JSON NoneType, not the JSON object"),
            (b"\xff\xfe{}", "not valid UTF-8"),
            (b'{"Message": "caf\xe9"}', "not valid UTF-8"),
            (b"\xef\xbb\xbf{}", "not JSON"),
            (b"[" * 100_000 + b"]" * 100_000, "nests JSON too deeply"),
            (b'{"a": 1' + b"0" * 5000 + b"}", "not JSON"),
        ],
    )
    def test_is_refused(self, body: bytes, words: str) -> None:
        with pytest.raises(EnvelopeInvalid, match=words):
            parse_envelope(body, {})

    def test_a_repeated_key_is_refused(self, notification: dict[str, Any]) -> None:
        # The signed and the used value of Message could otherwise differ.
        body = body_of(notification)[:-1] + b', "Message": "evil"}'
        with pytest.raises(EnvelopeInvalid, match="repeats the key 'Message'"):
            parse_envelope(body, {})

    def test_a_repeated_key_in_a_nested_object_is_refused(
        self, notification: dict[str, Any]
    ) -> None:
        body = body_of(notification)[:-1] + b', "MessageAttributes": {"a": 1, "a": 2}}'
        with pytest.raises(EnvelopeInvalid, match="repeats the key 'a'"):
            parse_envelope(body, {})


class TestFields:
    @pytest.mark.parametrize(
        "name",
        [
            "Type",
            "MessageId",
            "TopicArn",
            "Message",
            "Timestamp",
            "SignatureVersion",
            "Signature",
            "SigningCertURL",
        ],
    )
    def test_a_missing_field_is_named(self, notification: dict[str, Any], name: str) -> None:
        del notification[name]
        with pytest.raises(EnvelopeInvalid, match=f"^{name} is missing"):
            parse_envelope(body_of(notification), {})

    @pytest.mark.parametrize("name", ["Token", "SubscribeURL"])
    def test_a_confirmation_needs_token_and_subscribe_url(
        self, confirmation: dict[str, Any], name: str
    ) -> None:
        del confirmation[name]
        with pytest.raises(EnvelopeInvalid, match=f"^{name} is missing"):
            parse_envelope(body_of(confirmation), {})

    @pytest.mark.parametrize("name", ["Token", "SubscribeURL"])
    def test_an_unsubscribe_confirmation_needs_them_too(self, signer: SnsSigner, name: str) -> None:
        envelope = signer.make_unsubscribe_confirmation()
        del envelope[name]
        with pytest.raises(EnvelopeInvalid, match=f"^{name} is missing"):
            parse_envelope(body_of(envelope), {})

    @pytest.mark.parametrize(
        ("name", "value", "shown"),
        [
            ("Message", 5, "int"),
            ("Message", {"notificationType": "Bounce"}, "dict"),
            ("MessageId", ["x"], "list"),
            ("Subject", 1.5, "float"),
            ("Subject", True, "bool"),
            ("Signature", False, "bool"),
            ("SignatureVersion", 1, "int"),
            ("SigningCertURL", ["https://sns.us-east-1.amazonaws.com/x.pem"], "list"),
            ("UnsubscribeURL", 0, "int"),
        ],
    )
    def test_a_field_of_the_wrong_type_is_named(
        self, notification: dict[str, Any], name: str, value: Any, shown: str
    ) -> None:
        notification[name] = value
        with pytest.raises(EnvelopeInvalid, match=f"^{name} must be a JSON string, not {shown}"):
            parse_envelope(body_of(notification), {})

    def test_a_token_of_the_wrong_type_is_named(self, confirmation: dict[str, Any]) -> None:
        confirmation["Token"] = 123
        with pytest.raises(EnvelopeInvalid, match=r"^Token must be a JSON string, not int"):
            parse_envelope(body_of(confirmation), {})

    @pytest.mark.parametrize("kind", ["Notice", "notification", "", 1, None])
    def test_an_unknown_type_is_refused(self, notification: dict[str, Any], kind: Any) -> None:
        notification["Type"] = kind
        with pytest.raises(EnvelopeInvalid, match="an SNS envelope has Type Notification"):
            parse_envelope(body_of(notification), {})

    @pytest.mark.parametrize(
        "timestamp",
        [
            "yesterday",
            "",
            "2025-06-02T12:00:00",
            "2025-06-02",
            "2025-13-02T12:00:00Z",
            "1748865600",
        ],
    )
    def test_a_timestamp_that_is_not_iso_8601_with_a_zone_is_refused(
        self, notification: dict[str, Any], timestamp: str
    ) -> None:
        notification["Timestamp"] = timestamp
        with pytest.raises(EnvelopeInvalid, match="is not an ISO-8601 time with a zone"):
            parse_envelope(body_of(notification), {})

    def test_a_malformed_topic_arn_is_refused(self, notification: dict[str, Any]) -> None:
        notification["TopicArn"] = "arn:aws:sns:us-east-1:evil:topic"
        with pytest.raises(EnvelopeInvalid, match="is not an SNS topic ARN"):
            parse_envelope(body_of(notification), {})

    def test_a_lone_surrogate_escape_is_refused(self, notification: dict[str, Any]) -> None:
        body = body_of(notification).replace(b'"payload"', b'"pay\\ud800load"')
        with pytest.raises(EnvelopeInvalid, match="Message contains an unpaired"):
            parse_envelope(body, {})

    def test_a_long_value_is_shortened_in_the_error(self, notification: dict[str, Any]) -> None:
        notification["Type"] = "x" * 10_000
        with pytest.raises(EnvelopeInvalid) as caught:
            parse_envelope(body_of(notification), {})
        assert len(caught.value.message) < 300


class TestHeadersAgreeWithTheBody:
    @pytest.mark.parametrize(
        ("header", "value"),
        [
            ("x-amz-sns-message-type", "SubscriptionConfirmation"),
            ("x-amz-sns-message-id", "00000000-0000-0000-0000-000000000000"),
            ("x-amz-sns-topic-arn", "arn:aws:sns:us-east-1:123456789012:other"),
            ("X-Amz-Sns-Topic-Arn", ""),
        ],
    )
    def test_a_disagreeing_header_is_refused(
        self, notification: dict[str, Any], header: str, value: str
    ) -> None:
        body, headers = post_args(notification)
        headers = {k: v for k, v in headers.items() if k.lower() != header.lower()}
        with pytest.raises(EnvelopeInvalid, match=f"header {header.lower()} is .* must agree"):
            parse_envelope(body, headers | {header: value})

    def test_other_headers_are_not_compared(self, notification: dict[str, Any]) -> None:
        body, headers = post_args(notification)
        headers["x-amz-sns-subscription-arn"] = "anything"
        assert parse_envelope(body, headers).type == "Notification"
