"""SNS_MAX_AGE_SECONDS and the clock-skew allowance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.errors import MessageExpired
from app.sns.envelope import SnsMessage, parse_envelope
from app.sns.freshness import CLOCK_SKEW, check_fresh
from tests.signing import SnsSigner, post_args

NOW = datetime(2025, 6, 2, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def message(signer: SnsSigner) -> SnsMessage:
    return parse_envelope(*post_args(signer.make_notification("hi", timestamp=NOW)))


class TestCheckFresh:
    def test_a_message_from_now_is_fresh(self, message: SnsMessage) -> None:
        check_fresh(message, now=NOW, max_age_seconds=3600)

    def test_exactly_max_age_is_still_fresh(self, message: SnsMessage) -> None:
        check_fresh(message, now=NOW + timedelta(seconds=3600), max_age_seconds=3600)

    def test_one_millisecond_past_max_age_is_expired(self, message: SnsMessage) -> None:
        later = NOW + timedelta(seconds=3600, milliseconds=1)
        with pytest.raises(MessageExpired, match="older than SNS_MAX_AGE_SECONDS=3600"):
            check_fresh(message, now=later, max_age_seconds=3600)

    def test_zero_turns_the_check_off(self, message: SnsMessage) -> None:
        check_fresh(message, now=NOW + timedelta(days=3650), max_age_seconds=0)
        check_fresh(message, now=NOW - timedelta(days=1), max_age_seconds=0)

    def test_up_to_five_minutes_in_the_future_is_clock_skew(self, message: SnsMessage) -> None:
        check_fresh(message, now=NOW - CLOCK_SKEW, max_age_seconds=3600)

    def test_further_in_the_future_is_refused(self, message: SnsMessage) -> None:
        earlier = NOW - CLOCK_SKEW - timedelta(milliseconds=1)
        with pytest.raises(MessageExpired, match="in the future: check this host's clock"):
            check_fresh(message, now=earlier, max_age_seconds=3600)

    def test_a_zone_offset_timestamp_is_compared_in_utc(self, signer: SnsSigner) -> None:
        envelope = signer.make_notification("hi")
        envelope["Timestamp"] = "2025-06-02T14:00:00.000+02:00"
        message = parse_envelope(*post_args(envelope))
        check_fresh(message, now=NOW, max_age_seconds=1)
