"""Which SNS topics bouncer accepts (SNS_TOPIC_ARNS), and the region a topic ARN names.

An entry's shape is checked when settings load (app.arns.check_pattern).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app import arns
from app.errors import EnvelopeInvalid, TopicNotAllowed


def region_of_topic(arn: str) -> str:
    """The region of a topic ARN; raises EnvelopeInvalid when ``arn`` is not an SNS topic ARN."""
    match = arns.TOPIC_ARN.fullmatch(arn)
    if match is None:
        raise EnvelopeInvalid(
            f"TopicArn {arn[:300]!r} is not an SNS topic ARN "
            "(arn:aws:sns:<region>:<12-digit account>:<topic name>)"
        )
    return match["region"]


def _compile(pattern: str) -> re.Pattern[str]:
    # "*" matches any run of characters within one ARN field (never a ":"), as in IAM
    # resource ARNs, so a wildcard cannot reach from one field into the next (the account
    # into the topic name). Everything else is literal (re.escape): "." or "?" never widen.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    if pattern == "*":
        return re.compile(".*", re.DOTALL)
    return re.compile("[^:]*".join(re.escape(part) for part in pattern.split("*")))


def _any_account(pattern: str) -> bool:
    # "*" alone, or an entry whose account field pins fewer than the 12 digits of an
    # account id ("*", "1*"): either accepts topics that anyone can create and point at
    # bouncer, after opening AWS accounts until one's id fits.
    fields = pattern.split(":")
    if pattern == "*":
        return True
    account = fields[4] if len(fields) == 6 else ""
    return "*" in account and len(account.replace("*", "")) < 12


class TopicAllowlist:
    """SNS_TOPIC_ARNS: exact topic ARNs, or ARNs with ``*`` wildcards; ``*`` alone allows any."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(p.strip() for p in patterns if p.strip())
        self._compiled = tuple(_compile(p) for p in self.patterns)

    @property
    def allows_any(self) -> bool:
        """True when some entry accepts topics of every AWS account."""
        return any(_any_account(p) for p in self.patterns)

    def warning(self) -> str | None:
        """The start-up warning for entries that accept any account's topics, if any."""
        wide = [p for p in self.patterns if _any_account(p)]
        if not wide:
            return None
        return (
            f"SNS_TOPIC_ARNS={','.join(wide)}: messages from any SNS topic of any AWS account "
            "are accepted; name your account (arn:aws:sns:*:123456789012:*)"
        )

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
