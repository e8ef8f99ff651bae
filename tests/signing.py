"""A throwaway SNS signer: a self-signed RSA certificate that signs envelopes by SPEC §2."""

from __future__ import annotations

import base64
import functools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ses-bounces"

# The signed keys, in AWS's order (written out here independently of app.sns.signature so
# the tests check the code against the rule, not against itself).
_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


def sns_timestamp(moment: datetime) -> str:
    """A time as SNS writes it: 2024-01-31T12:00:00.123Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def region_of(topic_arn: str) -> str:
    return topic_arn.split(":")[3]


@dataclass(frozen=True)
class SnsSigner:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    cert_filename: str

    @classmethod
    def create(
        cls,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        name: str = "test0001",
        key: rsa.RSAPrivateKey | None = None,
    ) -> SnsSigner:
        """A self-signed certificate for ``key``, or for a fresh 2048-bit key (slow: share
        one per session; pass an existing key to vary only the certificate)."""
        key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or datetime(2000, 1, 1, tzinfo=UTC))
            .not_valid_after(not_after or datetime(2100, 1, 1, tzinfo=UTC))
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate, f"SimpleNotificationService-{name}.pem")

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def cert_url(self, region: str = "us-east-1") -> str:
        return f"https://sns.{region}.amazonaws.com/{self.cert_filename}"

    def write_cert(self, directory: Path) -> Path:
        """Drops the certificate into an SNS_CERT_DIR under the name SigningCertURL gives."""
        path = directory / self.cert_filename
        path.write_bytes(self.cert_pem)
        return path

    def sign(self, envelope: dict[str, Any], version: str = "1") -> dict[str, Any]:
        """A copy with SignatureVersion, SigningCertURL (unless set) and Signature filled in."""
        signed = dict(envelope)
        signed["SignatureVersion"] = version
        # Not setdefault: it would work out a region from TopicArn, which may be forged.
        if "SigningCertURL" not in signed:
            signed["SigningCertURL"] = self.cert_url(region_of(signed["TopicArn"]))
        keys = _NOTIFICATION_KEYS if signed["Type"] == "Notification" else _CONFIRMATION_KEYS
        text = "".join(f"{k}\n{signed[k]}\n" for k in keys if signed.get(k) is not None)
        signature = self.key.sign(text.encode(), padding.PKCS1v15(), _HASHES[version]())
        signed["Signature"] = base64.b64encode(signature).decode()
        return signed

    def make_notification(
        self,
        message: str,
        *,
        topic_arn: str = TOPIC_ARN,
        message_id: str | None = None,
        timestamp: datetime | None = None,
        subject: str | None = None,
        version: str = "1",
    ) -> dict[str, Any]:
        region = region_of(topic_arn)
        envelope: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": topic_arn,
        }
        if subject is not None:
            envelope["Subject"] = subject
        envelope |= {
            "Message": message,
            "Timestamp": sns_timestamp(timestamp or datetime.now(UTC)),
            "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/"
            f"?Action=Unsubscribe&SubscriptionArn={_subscription_arn(topic_arn)}",
        }
        return self.sign(envelope, version)

    def make_subscription_confirmation(
        self,
        *,
        topic_arn: str = TOPIC_ARN,
        token: str | None = None,
        message_id: str | None = None,
        timestamp: datetime | None = None,
        version: str = "1",
    ) -> dict[str, Any]:
        message = (
            f"You have chosen to subscribe to the topic {topic_arn}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message."
        )
        return self._confirmation(
            "SubscriptionConfirmation",
            message,
            topic_arn=topic_arn,
            token=token,
            message_id=message_id,
            timestamp=timestamp,
            version=version,
        )

    def make_unsubscribe_confirmation(
        self,
        *,
        topic_arn: str = TOPIC_ARN,
        token: str | None = None,
        message_id: str | None = None,
        timestamp: datetime | None = None,
        version: str = "1",
    ) -> dict[str, Any]:
        message = (
            f"You have chosen to deactivate subscription {_subscription_arn(topic_arn)}.\n"
            "To cancel this operation and restore the subscription, visit the SubscribeURL "
            "included in this message."
        )
        return self._confirmation(
            "UnsubscribeConfirmation",
            message,
            topic_arn=topic_arn,
            token=token,
            message_id=message_id,
            timestamp=timestamp,
            version=version,
        )

    def _confirmation(
        self,
        kind: str,
        message: str,
        *,
        topic_arn: str,
        token: str | None,
        message_id: str | None,
        timestamp: datetime | None,
        version: str,
    ) -> dict[str, Any]:
        token = token or uuid.uuid4().hex * 4
        region = region_of(topic_arn)
        envelope = {
            "Type": kind,
            "MessageId": message_id or str(uuid.uuid4()),
            "Token": token,
            "TopicArn": topic_arn,
            "Message": message,
            "SubscribeURL": f"https://sns.{region}.amazonaws.com/"
            f"?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}",
            "Timestamp": sns_timestamp(timestamp or datetime.now(UTC)),
        }
        return self.sign(envelope, version)


def _subscription_arn(topic_arn: str) -> str:
    return f"{topic_arn}:{uuid.UUID(int=0x5EED)}"


_HEADER_FIELDS = {
    "x-amz-sns-message-type": "Type",
    "x-amz-sns-message-id": "MessageId",
    "x-amz-sns-topic-arn": "TopicArn",
}


def post_args(envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and headers SNS sends for ``envelope`` (text/plain, x-amz-sns-*)."""
    # https://docs.aws.amazon.com/sns/latest/dg/http-header.html
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": "Amazon Simple Notification Service Agent",
    }
    # A forged envelope may lack a field or hold a non-string: no header is sent for it.
    for header, key in _HEADER_FIELDS.items():
        if isinstance(envelope.get(key), str):
            headers[header] = envelope[key]
    topic_arn = envelope.get("TopicArn")
    if envelope.get("Type") != "SubscriptionConfirmation" and isinstance(topic_arn, str):
        headers["x-amz-sns-subscription-arn"] = _subscription_arn(topic_arn)
    body = json.dumps(envelope, indent=2, ensure_ascii=False).encode()
    return body, headers


@functools.cache
def shared_signer() -> SnsSigner:
    """One signer per test session, for every conftest that wants one (valid 2000-2100)."""
    return SnsSigner.create()
