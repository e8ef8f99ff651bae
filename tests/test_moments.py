"""parse_moment: the one reading of an operator's date (SPEC §4 Edges: no offset is UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.moments import parse_moment


class TestParseMoment:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
            ("2026-12-01T10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
            (" 2026-12-01T10:00:00Z ", datetime(2026, 12, 1, 10, tzinfo=UTC)),
            ("2026-12-01T11:30:00+01:30", datetime(2026, 12, 1, 10, tzinfo=UTC)),
            ("2026-12-01 10:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
            ("9999-12-31T23:59:59", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
            ("9999-12-31T23:00:00+05:00", datetime(9999, 12, 31, 18, tzinfo=UTC)),
            ("0001-01-01T00:00:00-01:00", datetime(1, 1, 1, 1, tzinfo=UTC)),
        ],
    )
    def test_accepted_in_utc(self, text: str, expected: datetime) -> None:
        moment = parse_moment(text)
        assert moment == expected
        assert moment.utcoffset() is not None
        assert moment.tzinfo == UTC

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("9999-12-31T23:00:00-05:00", "outside the years 1 to 9999"),
            ("0001-01-01T00:00:00+05:00", "outside the years 1 to 9999"),
            ("0000-01-01", "year 0 is out of range"),
            ("2026-13-01", "month must be in 1..12"),
            ("yesterday", "is not a date"),
            ("", "is not a date"),
            ("\uff12\uff10\uff12\uff16-\uff11\uff12-\uff10\uff11", "is not a date"),
            ("2" * 500, "is not a date"),
        ],
    )
    def test_refused_with_a_reason(self, text: str, says: str) -> None:
        with pytest.raises(ValueError, match=r"2026-12-01|outside") as caught:
            parse_moment(text)
        assert says in str(caught.value)
