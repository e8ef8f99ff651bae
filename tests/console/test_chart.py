"""chart.line_chart: the overview's daily-rate chart as geometry, by table."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from app.console import chart

FIRST = date(2026, 11, 2)
Series = list[tuple[date, float | None]]


def bounce_chart(series: Series) -> chart.Chart:
    return chart.line_chart(series, review=0.05, pause=0.10, what="bounce rate")


def complaint_chart(series: Series) -> chart.Chart:
    return chart.line_chart(series, review=0.001, pause=0.005, what="complaint rate", digits=3)


def days(*rates: float | None) -> Series:
    """30 days ending 1 Dec 2026: ``rates`` for the last ones, no figures before."""
    padded = [None] * (30 - len(rates)) + list(rates)
    return [(FIRST + timedelta(n), rate) for n, rate in enumerate(padded)]


def y_on_axis(drawn: chart.Chart, rate: float) -> float:
    return drawn.bottom - rate / drawn.y_max * (drawn.bottom - drawn.top)


# highest rate, pause level -> top of the axis, tick step, tick labels
SCALES = [
    (0.0, 0.10, 0.125, 0.025, ["0 %", "2.5 %", "5 %", "7.5 %", "10 %", "12.5 %"]),
    (0.06, 0.10, 0.125, 0.025, ["0 %", "2.5 %", "5 %", "7.5 %", "10 %", "12.5 %"]),
    # At the pause level, and just above: still room above the line.
    (0.10, 0.10, 0.125, 0.025, ["0 %", "2.5 %", "5 %", "7.5 %", "10 %", "12.5 %"]),
    (0.3, 0.10, 0.4, 0.1, ["0 %", "10 %", "20 %", "30 %", "40 %"]),
    # Every message bounced: the axis stops at 100 %.
    (1.0, 0.10, 1.0, 0.2, ["0 %", "20 %", "40 %", "60 %", "80 %", "100 %"]),
    (0.0, 0.005, 0.006, 0.002, ["0 %", "0.2 %", "0.4 %", "0.6 %"]),
    (0.02, 0.005, 0.025, 0.005, ["0 %", "0.5 %", "1 %", "1.5 %", "2 %", "2.5 %"]),
]


class TestScale:
    @pytest.mark.parametrize(("highest", "pause", "y_max", "step", "labels"), SCALES)
    def test_round_steps_with_the_pause_level_and_every_rate_in_view(
        self, highest: float, pause: float, y_max: float, step: float, labels: list[str]
    ) -> None:
        assert chart.scale(highest, pause=pause) == pytest.approx((y_max, step))
        drawn = chart.line_chart(
            days(highest), review=pause / 2, pause=pause, what="rate", digits=2
        )
        assert [t.label for t in drawn.ticks] == labels
        assert drawn.y_max > pause
        assert drawn.y_max >= highest
        # Ticks run from the bottom of the plot (0 %) to its top (y_max), evenly.
        ys = [t.y for t in drawn.ticks]
        assert ys[0] == drawn.bottom
        assert ys[-1] == drawn.top
        assert all(a > b for a, b in itertools.pairwise(ys))


class TestLine:
    def test_a_day_without_figures_is_a_gap_not_a_zero(self) -> None:
        drawn = bounce_chart(days(0.02, 0.04, None, 0.06, 0.08))
        assert len(drawn.dots) == 4
        assert len(drawn.lines) == 2
        first, second = (line.split(" ") for line in drawn.lines)
        assert len(first) == len(second) == 2
        # The gap's day, day 28 of 30, where a zero would have been drawn.
        gap_x = bounce_chart([(day, 0.0) for day, _ in days()]).dots[27].x
        # No point sits on the gap's day, nor at zero.
        assert all(dot.x != gap_x for dot in drawn.dots)
        assert all(dot.y < drawn.bottom for dot in drawn.dots)

    def test_points_sit_at_their_rates(self) -> None:
        drawn = bounce_chart(days(0.0, 0.05, 0.10))
        assert [d.y for d in drawn.dots] == [
            pytest.approx(y_on_axis(drawn, r), abs=0.05) for r in (0.0, 0.05, 0.10)
        ]
        assert [d.y for d in drawn.dots[1:]] == [lv.y for lv in drawn.levels]
        assert drawn.dots[-1].x == drawn.right
        assert [d.label for d in drawn.dots] == [
            "29 Nov: 0.00 %",
            "30 Nov: 5.00 %",
            "1 Dec: 10.00 %",
        ]

    def test_a_day_alone_between_gaps_is_a_dot_without_a_line(self) -> None:
        drawn = bounce_chart(days(0.01, None, 0.02, None))
        assert len(drawn.dots) == 2
        assert drawn.lines == ()

    def test_a_rate_above_pause_stays_inside_the_plot(self) -> None:
        drawn = bounce_chart(days(0.02, 0.35))
        assert drawn.y_max == pytest.approx(0.4)
        assert all(drawn.top <= d.y <= drawn.bottom for d in drawn.dots)
        assert drawn.dots[-1].y < drawn.levels[1].y  # above the pause line

    def test_all_empty_still_draws_both_levels(self) -> None:
        drawn = complaint_chart(days())
        assert (drawn.dots, drawn.lines) == ((), ())
        assert [(lv.kind, lv.label) for lv in drawn.levels] == [
            ("review", "review 0.1 %"),
            ("pause", "pause 0.5 %"),
        ]
        assert all(drawn.top <= lv.y <= drawn.bottom for lv in drawn.levels)
        assert "no sends or events on any day" in drawn.description


class TestLabels:
    def test_the_levels_are_named_with_their_percent(self) -> None:
        drawn = bounce_chart(days(0.01))
        assert [lv.label for lv in drawn.levels] == ["review 5 %", "pause 10 %"]
        review, pause = drawn.levels
        assert pause.y < review.y  # the higher rate is higher up

    def test_level_labels_close_together_do_not_overlap(self) -> None:
        drawn = bounce_chart(days(1.0))
        review, pause = drawn.levels
        assert review.y - pause.y < 12
        assert review.label_y - pause.label_y >= 12

    def test_a_day_label_a_week_counting_back_from_today(self) -> None:
        drawn = bounce_chart(days())
        assert [d.label for d in drawn.days] == ["3 Nov", "10 Nov", "17 Nov", "24 Nov", "1 Dec"]
        assert drawn.days[-1].x == drawn.right
        assert [d.x for d in drawn.days] == sorted(d.x for d in drawn.days)

    @pytest.mark.parametrize(
        ("rate", "label"),
        [(0.05, "5 %"), (0.1, "10 %"), (0.001, "0.1 %"), (0.005, "0.5 %"), (0.025, "2.5 %"),
         (0.3, "30 %"), (0.0, "0 %")],
    )  # fmt: skip
    def test_percent_labels(self, rate: float, label: str) -> None:
        assert chart.percent_label(rate) == label


class TestDescription:
    def test_says_the_highest_day_the_days_over_review_and_the_gaps(self) -> None:
        text = chart.describe(
            days(0.02, None, 0.07, 0.06), review=0.05, pause=0.10, what="bounce rate"
        )
        assert text == (
            "Daily bounce rate from 2 Nov to 1 Dec 2026: highest 7.00 % on 30 Nov; "
            "2 of 3 days at or above the review level; 27 days without sends or events, "
            "left as gaps in the line. Review level 5 %, pause level 10 %."
        )
