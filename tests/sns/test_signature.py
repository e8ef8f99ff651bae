"""Signature verification, against genuine Amazon-signed messages and a throwaway signer."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import CertificateNotAllowed, EnvelopeInvalid, SignatureInvalid
from app.sns.certificates import CertificateStore
from app.sns.envelope import SnsMessage, parse_envelope
from app.sns.signature import check_signature_version, string_to_sign, verify_signature
from tests.signing import SnsSigner, post_args
from tests.sns.conftest import GENUINE, Genuine

NOTIFICATION_SIGNED = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_SIGNED = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)


def signed_fields(data: dict[str, Any]) -> list[str]:
    names = NOTIFICATION_SIGNED if data["Type"] == "Notification" else CONFIRMATION_SIGNED
    return [name for name in names if data.get(name) is not None]


def tweak(value: str, *, index: int = -1) -> str:
    """The same text with one byte changed (its lowest bit flipped)."""
    position = index % len(value)
    return value[:position] + chr(ord(value[position]) ^ 1) + value[position + 1 :]


def genuine_cases() -> list[tuple[str, str]]:
    return [
        (name, field)
        for name in GENUINE
        for field in [*signed_fields(Genuine(name).data), "SignatureVersion"]
    ]


@pytest.fixture
def genuine_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "genuine"
    directory.mkdir()
    return directory


async def certificate_of(item: Genuine, directory: Path) -> x509.Certificate:
    # The store looks SNS_CERT_DIR up by the last path segment of SigningCertURL; a
    # transport that fails every request proves nothing is fetched.
    item.provision(directory)
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_request)) as http:
        return await CertificateStore(http, cert_dir=directory).get(item.cert_url)


def _no_request(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected request {request.url}")


class TestGenuineMessages:
    def test_the_corpus_covers_both_versions_and_every_type(self) -> None:
        seen = {(Genuine(n).data["SignatureVersion"], Genuine(n).data["Type"]) for n in GENUINE}
        assert {("1", "Notification"), ("2", "Notification")} <= seen
        assert {("1", "SubscriptionConfirmation"), ("2", "SubscriptionConfirmation")} <= seen

    @pytest.mark.parametrize("name", GENUINE)
    async def test_verifies_with_its_certificate_at_its_timestamp(
        self, name: str, genuine_dir: Path
    ) -> None:
        item = Genuine(name)
        message = parse_envelope(item.body, {})
        certificate = await certificate_of(item, genuine_dir)
        verify_signature(message=message, certificate=certificate)

    @pytest.mark.parametrize(("name", "field"), genuine_cases())
    async def test_one_changed_byte_in_a_signed_field_fails(
        self, name: str, field: str, genuine_dir: Path
    ) -> None:
        item = Genuine(name)
        data = item.data
        # Timestamp's last character is its "Z"; change a digit so it still parses.
        data[field] = tweak(data[field], index=-2 if field == "Timestamp" else -1)
        certificate = await certificate_of(item, genuine_dir)
        # A changed Type no longer names a known type, so parsing already refuses it.
        with pytest.raises(EnvelopeInvalid if field == "Type" else SignatureInvalid):
            verify_signature(
                message=parse_envelope(json.dumps(data).encode(), {}), certificate=certificate
            )

    @pytest.mark.parametrize("name", GENUINE)
    async def test_changing_unsigned_fields_keeps_it_valid(
        self, name: str, genuine_dir: Path
    ) -> None:
        item = Genuine(name)
        data = item.data
        data["UnsubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&x=1"
        data.pop("UnsubscribeUrl", None)
        data["MessageAttributes"] = {"changed": {"Type": "String", "Value": "yes"}}
        certificate = await certificate_of(item, genuine_dir)
        verify_signature(
            message=parse_envelope(json.dumps(data).encode(), {}), certificate=certificate
        )

    async def test_signing_cert_url_is_not_signed(self, genuine_dir: Path) -> None:
        item = Genuine("ruby_2022_notification_v2")
        data = item.data
        data["SigningCertURL"] = data["SigningCertURL"].replace("us-east-2", "ap-south-1")
        message = parse_envelope(json.dumps(data).encode(), {})
        certificate = await certificate_of(item, genuine_dir)
        verify_signature(message=message, certificate=certificate)

    async def test_lambda_form_verifies(self, genuine_dir: Path) -> None:
        item = Genuine("cumulus_2024_notification_lambda_a_v1")
        assert "SigningCertUrl" in item.data
        assert item.data["Subject"] is None
        message = parse_envelope(item.body, {})
        verify_signature(message=message, certificate=await certificate_of(item, genuine_dir))

    async def test_adding_a_subject_breaks_it(self, genuine_dir: Path) -> None:
        item = Genuine("ruby_2022_notification_v1")
        data = item.data | {"Subject": "Hello world"}
        certificate = await certificate_of(item, genuine_dir)
        with pytest.raises(SignatureInvalid):
            verify_signature(
                message=parse_envelope(json.dumps(data).encode(), {}), certificate=certificate
            )

    async def test_removing_the_subject_breaks_it(self, genuine_dir: Path) -> None:
        item = Genuine("php_2022_notification_subject_v2")
        data = item.data
        del data["Subject"]
        certificate = await certificate_of(item, genuine_dir)
        with pytest.raises(SignatureInvalid):
            verify_signature(
                message=parse_envelope(json.dumps(data).encode(), {}), certificate=certificate
            )

    async def test_reserialising_the_ses_json_breaks_it(self, genuine_dir: Path) -> None:
        item = Genuine("keila_2021_ses_event_bounce_v1")
        message = parse_envelope(item.body, {})
        reserialised = json.dumps(json.loads(message.message))
        certificate = await certificate_of(item, genuine_dir)
        with pytest.raises(SignatureInvalid):
            verify_signature(
                message=dataclasses.replace(message, message=reserialised),
                certificate=certificate,
            )

    async def test_another_genuine_certificate_does_not_verify_it(self, genuine_dir: Path) -> None:
        item = Genuine("h3_2024_subscriptionconfirmation_a_v2")
        certificate = await certificate_of(Genuine("ruby_2022_notification_v1"), genuine_dir)
        # Moved inside the other certificate's validity, so only the key can differ.
        message = dataclasses.replace(
            parse_envelope(item.body, {}), timestamp=certificate.not_valid_before_utc + DAY
        )
        with pytest.raises(SignatureInvalid):
            verify_signature(message=message, certificate=certificate)

    async def test_an_expired_certificate_is_refused(self, genuine_dir: Path) -> None:
        item = Genuine("eff_2017_ses_notification_complaint_v1")
        message = parse_envelope(item.body, {})
        certificate = await certificate_of(item, genuine_dir)
        later = dataclasses.replace(message, timestamp=certificate.not_valid_after_utc + DAY)
        with pytest.raises(CertificateNotAllowed, match="not at the message Timestamp"):
            verify_signature(message=later, certificate=certificate)


DAY = timedelta(days=1)


class TestStringToSign:
    def test_a_notification_with_subject(self, signer: SnsSigner) -> None:
        envelope = signer.make_notification(
            "a\nb", subject="S", message_id="m-1", timestamp=datetime(2025, 1, 2, tzinfo=UTC)
        )
        message = parse_envelope(*post_args(envelope))
        assert string_to_sign(message) == (
            b"Message\na\nb\nMessageId\nm-1\nSubject\nS\n"
            b"Timestamp\n2025-01-02T00:00:00.000Z\n"
            b"TopicArn\narn:aws:sns:us-east-1:123456789012:ses-bounces\nType\nNotification\n"
        )

    def test_a_notification_without_subject_leaves_it_out(self, signer: SnsSigner) -> None:
        message = parse_envelope(*post_args(signer.make_notification("x")))
        assert b"Subject" not in string_to_sign(message)

    def test_an_empty_subject_is_signed(self, signer: SnsSigner) -> None:
        envelope = signer.make_notification("x", subject="")
        message = parse_envelope(*post_args(envelope))
        assert b"\nSubject\n\nTimestamp\n" in string_to_sign(message)

    def test_a_confirmation(self, signer: SnsSigner) -> None:
        envelope = signer.make_subscription_confirmation(
            token="T", message_id="m-2", timestamp=datetime(2025, 1, 2, tzinfo=UTC)
        )
        message = parse_envelope(*post_args(envelope))
        assert (
            string_to_sign(message)
            == (
                f"Message\n{envelope['Message']}\nMessageId\nm-2\n"
                f"SubscribeURL\n{envelope['SubscribeURL']}\n"
                "Timestamp\n2025-01-02T00:00:00.000Z\nToken\nT\n"
                "TopicArn\narn:aws:sns:us-east-1:123456789012:ses-bounces\n"
                "Type\nSubscriptionConfirmation\n"
            ).encode()
        )

    def test_the_timestamp_is_signed_as_written(self, signer: SnsSigner) -> None:
        envelope = signer.make_notification("x")
        envelope["Timestamp"] = "2025-01-02T00:00:00+00:00"
        message = parse_envelope(*post_args(signer.sign(envelope)))
        assert b"\nTimestamp\n2025-01-02T00:00:00+00:00\n" in string_to_sign(message)


def parsed(envelope: dict[str, Any]) -> SnsMessage:
    return parse_envelope(*post_args(envelope))


class TestVerifySignature:
    @pytest.mark.parametrize("version", ["1", "2"])
    @pytest.mark.parametrize("kind", ["notification", "subscribe", "unsubscribe"])
    def test_the_signer_verifies(self, signer: SnsSigner, version: str, kind: str) -> None:
        envelope = {
            "notification": lambda: signer.make_notification("x", version=version),
            "subscribe": lambda: signer.make_subscription_confirmation(version=version),
            "unsubscribe": lambda: signer.make_unsubscribe_confirmation(version=version),
        }[kind]()
        message = parsed(envelope)
        verify_signature(message=message, certificate=signer.certificate)

    def test_version_1_below_min_version_2_names_the_setting(self, signer: SnsSigner) -> None:
        message = parsed(signer.make_notification("x", version="1"))
        with pytest.raises(SignatureInvalid) as caught:
            verify_signature(message=message, certificate=signer.certificate, min_version=2)
        assert "SNS_MIN_SIGNATURE_VERSION=2" in caught.value.message
        assert "SHA1" in caught.value.message

    def test_version_2_meets_min_version_2(self, signer: SnsSigner) -> None:
        message = parsed(signer.make_notification("x", version="2"))
        verify_signature(message=message, certificate=signer.certificate, min_version=2)

    @pytest.mark.parametrize("version", ["3", "0", "", "1.0", " 1", "2 ", "01", "٢", "SHA256"])
    def test_other_versions_are_refused(self, signer: SnsSigner, version: str) -> None:
        envelope = signer.make_notification("x") | {"SignatureVersion": version}
        with pytest.raises(SignatureInvalid, match="is not supported"):
            verify_signature(message=parsed(envelope), certificate=signer.certificate)

    def test_a_sha256_signature_labelled_version_1_fails(self, signer: SnsSigner) -> None:
        envelope = signer.make_notification("x", version="2") | {"SignatureVersion": "1"}
        with pytest.raises(SignatureInvalid, match="does not match"):
            verify_signature(message=parsed(envelope), certificate=signer.certificate)

    @pytest.mark.parametrize(
        "signature",
        # "\x80", "QUJD\u00e9": non-ASCII text, which base64 refuses with a plain
        # ValueError (found by the /sns fuzz test as a 500).
        ["not base64!", "QUJD=", "QUJD\n", "", "====", "\x80", "QUJD\u00e9"],
    )
    def test_a_signature_that_is_not_base64_or_empty_fails(
        self, signer: SnsSigner, signature: str
    ) -> None:
        envelope = signer.make_notification("x") | {"Signature": signature}
        with pytest.raises(SignatureInvalid):
            verify_signature(message=parsed(envelope), certificate=signer.certificate)

    def test_another_key_fails(self, signer: SnsSigner) -> None:
        stranger = SnsSigner.create(name="stranger")
        message = parsed(stranger.make_notification("x"))
        with pytest.raises(SignatureInvalid, match="altered or not signed by SNS"):
            verify_signature(message=message, certificate=signer.certificate)

    @pytest.mark.parametrize("offset", [timedelta(seconds=-1), timedelta(days=400)])
    def test_a_certificate_not_valid_at_the_timestamp_is_refused(
        self, signer: SnsSigner, offset: timedelta
    ) -> None:
        start = datetime(2024, 1, 1, tzinfo=UTC)
        short = SnsSigner.create(not_before=start, not_after=start + timedelta(days=365))
        message = parsed(short.make_notification("x", timestamp=start + offset))
        with pytest.raises(CertificateNotAllowed, match="not at the message Timestamp"):
            verify_signature(message=message, certificate=short.certificate)

    def test_the_validity_edges_are_inclusive(self) -> None:
        start = datetime(2024, 1, 1, tzinfo=UTC)
        end = start + timedelta(days=365)
        signer = SnsSigner.create(not_before=start, not_after=end)
        for moment in (start, end):
            message = parsed(signer.make_notification("x", timestamp=moment))
            verify_signature(message=message, certificate=signer.certificate)

    def test_a_non_rsa_certificate_is_refused(self, signer: SnsSigner) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(1)
            .not_valid_before(datetime(2000, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
            .sign(key, hashes.SHA256())
        )
        message = parsed(signer.make_notification("x"))
        with pytest.raises(CertificateNotAllowed, match="RSA"):
            verify_signature(message=message, certificate=certificate)

    @settings(max_examples=40, deadline=None)
    @given(
        text=st.text(),
        subject=st.none() | st.text(min_size=1, max_size=100),
        version=st.sampled_from(["1", "2"]),
    )
    def test_any_text_round_trips_and_any_change_fails(
        self, signer: SnsSigner, text: str, subject: str | None, version: str
    ) -> None:
        envelope = signer.make_notification(text, subject=subject, version=version)
        message = parsed(envelope)
        assert message.message == text
        verify_signature(message=message, certificate=signer.certificate)
        changed = dataclasses.replace(message, message=text + "\n")
        with pytest.raises(SignatureInvalid):
            verify_signature(message=changed, certificate=signer.certificate)


class TestCheckSignatureVersion:
    def test_names_the_hash(self) -> None:
        assert isinstance(check_signature_version("1"), hashes.SHA1)
        assert isinstance(check_signature_version("2", min_version=2), hashes.SHA256)
