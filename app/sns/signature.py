"""Check an SNS message's signature against its signing certificate, by AWS's rules."""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.errors import CertificateNotAllowed, SignatureInvalid
from app.sns.envelope import NOTIFICATION, SnsMessage

# SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA, both RSASSA-PKCS1-v1_5.
# https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


def string_to_sign(message: SnsMessage) -> bytes:
    """``Key\\nValue\\n`` for each signed field, in AWS's order, values exactly as decoded."""
    # https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message-verify-message-signature.html
    # Re-serialising any value (the SES JSON inside Message, say) would break the match.
    pairs: list[tuple[str, str | None]]
    if message.type == NOTIFICATION:
        pairs = [
            ("Message", message.message),
            ("MessageId", message.message_id),
            ("Subject", message.subject),
            ("Timestamp", message.timestamp_raw),
            ("TopicArn", message.topic_arn),
            ("Type", message.type),
        ]
    else:
        pairs = [
            ("Message", message.message),
            ("MessageId", message.message_id),
            ("SubscribeURL", message.subscribe_url),
            ("Timestamp", message.timestamp_raw),
            ("Token", message.token),
            ("TopicArn", message.topic_arn),
            ("Type", message.type),
        ]
    return "".join(f"{key}\n{value}\n" for key, value in pairs if value is not None).encode()


def check_signature_version(version: str, *, min_version: int = 1) -> hashes.HashAlgorithm:
    """The hash SignatureVersion names; raises SignatureInvalid for others and for old ones."""
    algorithm_type = _HASHES.get(version)
    if algorithm_type is None:
        raise SignatureInvalid(
            f"SignatureVersion {version[:20]!r} is not supported: SNS signs with version 1 or 2"
        )
    algorithm = algorithm_type()
    if int(version) < min_version:
        raise SignatureInvalid(
            f"SignatureVersion {version} ({algorithm.name.upper()}) is below "
            f"SNS_MIN_SIGNATURE_VERSION={min_version}: set the topic's SignatureVersion "
            "attribute to 2, or lower the setting"
        )
    return algorithm


def check_single_line(message: SnsMessage) -> None:
    """Raises SignatureInvalid if a signed field other than Message holds a line break."""
    # The string to sign is "Key\nValue\n" per field, so a line break in any value but
    # the first (Message) lets text move across a field boundary with the signature still
    # valid: Message "A\nMessageId\nB" with MessageId "C" signs the same bytes as Message
    # "A" with MessageId "B\nMessageId\nC". SNS never sends one in these fields (MessageId
    # and Token are identifiers; a Subject "must not include line breaks"); TopicArn,
    # Timestamp and Type are held to their own formats by the envelope.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
    # https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
    fields = {
        "MessageId": message.message_id,
        "Subject": message.subject,
        "Token": message.token,
        "SubscribeURL": message.subscribe_url,
    }
    for name, value in fields.items():
        if value is not None and "\n" in value:
            raise SignatureInvalid(
                f"{name} contains a line break, which SNS never signs there: the signature "
                "could belong to other values of the signed fields"
            )


def verify_signature(
    *, message: SnsMessage, certificate: x509.Certificate, min_version: int = 1
) -> None:
    """Raises SignatureInvalid or CertificateNotAllowed unless ``certificate`` signed it."""
    algorithm = check_signature_version(message.signature_version, min_version=min_version)
    try:
        signature = base64.b64decode(message.signature, validate=True)
    except ValueError:
        # binascii.Error for bad base64; a plain ValueError for non-ASCII text.
        raise SignatureInvalid("Signature is not valid base64") from None
    # The certificate must be valid when SNS signed, not now: SNS rotates certificates
    # about yearly and a retried message keeps its Timestamp.
    not_before, not_after = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if not not_before <= message.timestamp <= not_after:
        raise CertificateNotAllowed(
            f"the signing certificate is valid from {not_before.isoformat()} to "
            f"{not_after.isoformat()}, not at the message Timestamp {message.timestamp_raw}"
        )
    try:
        key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        key = None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CertificateNotAllowed("the signing certificate does not hold an RSA key, as SNS's do")
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise SignatureInvalid(
            "the signature does not match the message: it was altered or not signed by SNS"
        ) from None
