"""Which SNS topics bouncer accepts (SNS_TOPIC_ARNS), and the region a topic ARN names."""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.errors import EnvelopeInvalid, TopicNotAllowed

# arn:<partition>:sns:<region>:<account>:<name>, as SNS forms topic ARNs. Topic names are
# ASCII letters, digits, "_" and "-" (a FIFO topic ends in ".fifo"), so no name can carry
# a ":" that would let an allowlist wildcard straddle the account field.
# https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
_TOPIC_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sns:"
    r"(?P<region>[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}):"
    r"(?P<account>[0-9]{12}):"
    r"(?P<name>[A-Za-z0-9_-]{1,256}(?:\.fifo)?)",
    re.ASCII,
)


def region_of_topic(arn: str) -> str:
    """The region of a topic ARN; raises EnvelopeInvalid when ``arn`` is not an SNS topic ARN."""
    match = _TOPIC_ARN.fullmatch(arn)
    if match is None:
        raise EnvelopeInvalid(
            f"TopicArn {arn[:300]!r} is not an SNS topic ARN "
            "(arn:aws:sns:<region>:<12-digit account>:<topic name>)"
        )
    return match["region"]


def _compile(pattern: str) -> re.Pattern[str]:
    # "*" matches any run of characters, as in IAM resource ARNs; everything else is
    # literal (re.escape), so "." or "?" in an entry never widen it.
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


class TopicAllowlist:
    """SNS_TOPIC_ARNS: exact topic ARNs, or ARNs with ``*`` wildcards; ``*`` alone allows any."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(p.strip() for p in patterns if p.strip())
        self._compiled = tuple(_compile(p) for p in self.patterns)

    @property
    def allows_any(self) -> bool:
        return "*" in self.patterns

    def is_allowed(self, arn: str) -> bool:
        return any(pattern.fullmatch(arn) for pattern in self._compiled)

    def check(self, arn: str) -> None:
        if self.is_allowed(arn):
            return
        if not self.patterns:
            raise TopicNotAllowed(
                f"SNS_TOPIC_ARNS is empty: no topic is accepted; add {arn} to accept this one"
            )
        raise TopicNotAllowed(
            f"topic {arn} is not in SNS_TOPIC_ARNS: add it to accept its messages"
        )
