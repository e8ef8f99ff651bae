"""Refuse SNS messages whose Timestamp is too old (SNS_MAX_AGE_SECONDS) or in the future."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.errors import MessageExpired
from app.sns.envelope import SnsMessage

# SNS stamps the time it published; our clock and AWS's may disagree by a little.
# Five minutes is the skew AWS itself tolerates on signed requests (SigV4), so a
# well-run host never trips it while a far-future stamp is still refused.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html
CLOCK_SKEW = timedelta(minutes=5)


def check_fresh(message: SnsMessage, *, now: datetime, max_age_seconds: int) -> None:
    """Raises MessageExpired; ``max_age_seconds=0`` turns the whole check off."""
    if max_age_seconds <= 0:
        return
    age = now - message.timestamp
    # SNS gives up retrying an HTTP(S) delivery well within an hour, so an older
    # message is a replay rather than a late delivery.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
    if age > timedelta(seconds=max_age_seconds):
        raise MessageExpired(
            f"the message Timestamp {message.timestamp_raw} is {int(age.total_seconds())} s old, "
            f"older than SNS_MAX_AGE_SECONDS={max_age_seconds}: raise the setting to accept "
            "older messages, or check this host's clock"
        )
    if -age > CLOCK_SKEW:
        raise MessageExpired(
            f"the message Timestamp {message.timestamp_raw} lies "
            f"{int(-age.total_seconds())} s in the future: check this host's clock (NTP)"
        )
