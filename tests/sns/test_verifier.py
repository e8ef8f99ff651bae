"""The whole check in SPEC §2 order: topic, version, cert URL, age, certificate, signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.errors import (
    CertificateNotAllowed,
    MessageExpired,
    SignatureInvalid,
    TopicNotAllowed,
    Unavailable,
)
from app.sns.certificates import CertificateStore
from app.sns.envelope import SnsMessage, parse_envelope
from app.sns.topics import TopicAllowlist
from app.sns.verifier import Verifier
from tests.signing import TOPIC_ARN, SnsSigner, post_args
from tests.sns.conftest import GENUINE, Genuine, RecordingHost

NOW = datetime(2025, 6, 2, 12, 0, 0, tzinfo=UTC)
FOREIGN_TOPIC = "arn:aws:sns:us-east-1:999999999999:attacker"
HOSTILE_URL = "https://evil.com/sns.us-east-1.amazonaws.com/x.pem"


def parse(envelope: dict[str, Any]) -> SnsMessage:
    return parse_envelope(*post_args(envelope))


def make_verifier(
    http: httpx.AsyncClient, cert_dir: Path | None = None, **options: Any
) -> Verifier:
    return Verifier(
        CertificateStore(http, cert_dir=cert_dir), TopicAllowlist([TOPIC_ARN]), **options
    )


class TestVerifierAccepts:
    @pytest.mark.parametrize("version", ["1", "2"])
    async def test_a_signed_notification_from_an_allowed_topic(
        self, signer: SnsSigner, http: httpx.AsyncClient, cert_dir: Path, version: str
    ) -> None:
        message = parse(signer.make_notification("x", timestamp=NOW, version=version))
        await make_verifier(http, cert_dir).verify(message, now=NOW)

    async def test_confirmations(
        self, signer: SnsSigner, http: httpx.AsyncClient, cert_dir: Path
    ) -> None:
        verifier = make_verifier(http, cert_dir)
        for envelope in (
            signer.make_subscription_confirmation(timestamp=NOW, version="2"),
            signer.make_unsubscribe_confirmation(timestamp=NOW),
        ):
            await verifier.verify(parse(envelope), now=NOW)

    async def test_fetches_the_certificate_once(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        host.answer = lambda request: httpx.Response(200, content=signer.cert_pem)
        verifier = make_verifier(http)
        for _ in range(3):
            message = parse(signer.make_notification("x", timestamp=NOW))
            await verifier.verify(message, now=NOW)
        assert [str(r.url) for r in host.requests] == [signer.cert_url()]

    @pytest.mark.parametrize("name", GENUINE)
    async def test_every_genuine_message_at_its_own_timestamp(
        self, name: str, http: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        item = Genuine(name)
        item.provision(tmp_path)
        message = parse_envelope(item.body, {})
        verifier = Verifier(
            CertificateStore(http, cert_dir=tmp_path), TopicAllowlist([message.topic_arn])
        )
        await verifier.verify(message, now=message.timestamp + timedelta(seconds=2))


class TestVerifierOrder:
    async def test_a_foreign_topic_with_a_hostile_cert_url_makes_no_request(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        envelope = signer.make_notification("x", topic_arn=FOREIGN_TOPIC)
        message = parse(envelope | {"SigningCertURL": HOSTILE_URL, "SignatureVersion": "9"})
        with pytest.raises(TopicNotAllowed, match=FOREIGN_TOPIC):
            await make_verifier(http).verify(message, now=NOW)
        assert host.requests == []

    async def test_a_foreign_topic_genuinely_signed_is_still_refused(
        self, signer: SnsSigner, http: httpx.AsyncClient, cert_dir: Path
    ) -> None:
        message = parse(signer.make_notification("x", topic_arn=FOREIGN_TOPIC))
        with pytest.raises(TopicNotAllowed):
            await make_verifier(http, cert_dir).verify(message, now=datetime.now(UTC))

    async def test_an_unsupported_version_is_refused_before_the_cert_url(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        envelope = signer.make_notification("x", timestamp=NOW)
        message = parse(envelope | {"SigningCertURL": HOSTILE_URL, "SignatureVersion": "3"})
        with pytest.raises(SignatureInvalid, match="not supported"):
            await make_verifier(http).verify(message, now=NOW)
        assert host.requests == []

    async def test_a_version_below_the_minimum_is_refused_without_a_request(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        message = parse(signer.make_notification("x", timestamp=NOW, version="1"))
        with pytest.raises(SignatureInvalid, match="SNS_MIN_SIGNATURE_VERSION=2"):
            await make_verifier(http, min_signature_version=2).verify(message, now=NOW)
        assert host.requests == []

    async def test_a_hostile_cert_url_is_refused_before_the_age(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        envelope = signer.make_notification("x", timestamp=NOW - timedelta(days=2))
        message = parse(signer.sign(envelope | {"SigningCertURL": HOSTILE_URL}))
        with pytest.raises(CertificateNotAllowed, match=r"host evil\.com is not an SNS host"):
            await make_verifier(http).verify(message, now=NOW)
        assert host.requests == []

    async def test_an_old_message_is_refused_before_any_fetch(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        message = parse(signer.make_notification("x", timestamp=NOW - timedelta(hours=2)))
        with pytest.raises(MessageExpired):
            await make_verifier(http).verify(message, now=NOW)
        assert host.requests == []

    async def test_max_age_zero_accepts_an_old_message(
        self, signer: SnsSigner, http: httpx.AsyncClient, cert_dir: Path
    ) -> None:
        message = parse(signer.make_notification("x", timestamp=NOW - timedelta(days=30)))
        await make_verifier(http, cert_dir, max_age_seconds=0).verify(message, now=NOW)

    async def test_an_unreachable_certificate_host_is_unavailable(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        def down(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("unreachable", request=request)

        host.answer = down
        message = parse(signer.make_notification("x", timestamp=NOW))
        with pytest.raises(Unavailable):
            await make_verifier(http).verify(message, now=NOW)

    async def test_a_tampered_message_fails_last(
        self, signer: SnsSigner, http: httpx.AsyncClient, cert_dir: Path
    ) -> None:
        envelope = signer.make_notification("bounce", timestamp=NOW)
        message = parse(envelope | {"Message": "complaint"})
        with pytest.raises(SignatureInvalid):
            await make_verifier(http, cert_dir).verify(message, now=NOW)


class TestVerifierWithoutSignatures:
    async def test_skips_the_signature_and_its_certificate(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        envelope = signer.make_notification("x", timestamp=NOW)
        unsigned = envelope | {
            "Signature": "EXAMPLE",
            "SignatureVersion": "9",
            "SigningCertURL": "http://localhost:4566/cert.pem",
        }
        verifier = make_verifier(http, verify_signatures=False)
        assert not verifier.verify_signatures
        await verifier.verify(parse(unsigned), now=NOW)
        assert host.requests == []

    async def test_still_checks_the_topic(self, signer: SnsSigner, http: httpx.AsyncClient) -> None:
        message = parse(signer.make_notification("x", topic_arn=FOREIGN_TOPIC))
        with pytest.raises(TopicNotAllowed):
            await make_verifier(http, verify_signatures=False).verify(message, now=NOW)

    async def test_still_checks_the_age(self, signer: SnsSigner, http: httpx.AsyncClient) -> None:
        message = parse(signer.make_notification("x", timestamp=NOW - timedelta(days=1)))
        with pytest.raises(MessageExpired):
            await make_verifier(http, verify_signatures=False).verify(message, now=NOW)
