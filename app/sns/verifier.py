"""Decide whether an SNS message is genuine and wanted: topic, signature, certificate, age."""

from __future__ import annotations

from datetime import datetime

from app.sns import certificates, freshness, signature
from app.sns.certificates import CertificateStore
from app.sns.envelope import SnsMessage
from app.sns.topics import TopicAllowlist


class Verifier:
    """The checks of SPEC §2, cheapest first, so a refused message costs no request."""

    def __init__(
        self,
        store: CertificateStore,
        allowlist: TopicAllowlist,
        *,
        min_signature_version: int = 1,
        max_age_seconds: int = 3600,
        verify_signatures: bool = True,
    ) -> None:
        self.store = store
        self.allowlist = allowlist
        self.min_signature_version = min_signature_version
        self.max_age_seconds = max_age_seconds
        # False only for local emulators that cannot sign: the topic and the age are
        # still checked, and Ingest, reading it here, logs a warning for every message.
        self.verify_signatures = verify_signatures

    async def verify(self, message: SnsMessage, *, now: datetime) -> None:
        """Raises a Forbidden error naming the failed check, or Unavailable (certificate host)."""
        # A valid signature only proves that *some* SNS topic sent the message, so a
        # foreign topic is refused first and never costs a certificate fetch.
        self.allowlist.check(message.topic_arn)
        if self.verify_signatures:
            signature.check_signature_version(
                message.signature_version, min_version=self.min_signature_version
            )
            signature.check_single_line(message)
            certificates.check_cert_url(message.signing_cert_url)
        freshness.check_fresh(message, now=now, max_age_seconds=self.max_age_seconds)
        if not self.verify_signatures:
            return
        certificate = await self.store.get(message.signing_cert_url)
        signature.verify_signature(
            message=message, certificate=certificate, min_version=self.min_signature_version
        )
