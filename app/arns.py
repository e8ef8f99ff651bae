"""The shape of an SNS topic ARN, and of an SNS_TOPIC_ARNS entry that can match one.

In the base layer, so app.settings can check SNS_TOPIC_ARNS without importing the SNS
transport (app.sns.topics matches messages against the same shape).
"""

from __future__ import annotations

import re

# arn:<partition>:sns:<region>:<account>:<name>, as SNS forms topic ARNs. Topic names are
# ASCII letters, digits, "_" and "-" (a FIFO topic ends in ".fifo"), so no name can carry
# a ":" that would let an allowlist wildcard straddle the account field.
# https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
TOPIC_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sns:"
    r"(?P<region>[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}):"
    r"(?P<account>[0-9]{12}):"
    r"(?P<name>[A-Za-z0-9_-]{1,256}(?:\.fifo)?)",
    re.ASCII,
)

SHAPE = "arn:aws:sns:<region>:<account>:<topic>"


def check_pattern(pattern: str) -> None:
    """Raise ValueError for an SNS_TOPIC_ARNS entry that can match no topic ARN.

    ``*`` never crosses a ":", so an entry must spell out all six ARN fields; one that
    does not (``*123456789012*``, a bare topic name) would refuse every message while
    looking like it accepts some.
    """
    if pattern == "*":
        return
    fields = pattern.split(":")
    if len(fields) != 6 or not all(fields):
        raise ValueError(
            f"SNS_TOPIC_ARNS entry {pattern[:300]!r} can match no topic: write the whole ARN, "
            f"{SHAPE}, with * only inside a field (arn:aws:sns:*:123456789012:*)"
        )
