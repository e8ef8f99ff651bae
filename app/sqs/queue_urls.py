"""What a queue URL says: whether it is one, its region and its name."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# A region as AWS spells it: us-east-1, eu-central-2, us-gov-west-1, cn-north-1.
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# SQS's hosts: sqs.REGION.amazonaws.com (and .com.cn), the legacy REGION.queue.amazonaws.com,
# and VPC endpoints (vpce-….sqs.REGION.vpce.amazonaws.com).
# https://docs.aws.amazon.com/general/latest/gr/sqs-service.html
_AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn")

EXAMPLE = "https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"


def problem_with(url: str) -> str | None:
    """Why ``url`` is not a queue URL, or None when it is one."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as err:
        return f"{url!r} is not a URL ({err})"
    if parts.scheme not in ("http", "https") or not host:
        return f"{url!r} is not an http(s) URL: a queue URL looks like {EXAMPLE}"
    if not parts.path.strip("/"):
        return f"{url!r} names no queue: a queue URL ends in /ACCOUNT/NAME ({EXAMPLE})"
    return None


def region_of(url: str) -> str | None:
    """The region an AWS queue URL's host names, or None (an emulator's URL, say)."""
    host = (urlsplit(url).hostname or "").lower()
    if not host.endswith(_AWS_DOMAINS):
        return None
    for label in host.split("."):
        if _REGION.match(label):
            return label
    return None


def name_of(url: str) -> str:
    """The queue's name: the last segment of the URL's path."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
