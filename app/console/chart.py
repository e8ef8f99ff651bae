"""The geometry of the overview's daily-rate charts: where each day's point, the ticks, the
day labels and the SES review and pause levels go in an inline SVG (SPEC §9: a chart of the
daily rates over the last 30 days with both levels drawn). Pure: the template draws it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH = 640
HEIGHT = 240
_LEFT = 52  # room for the y-axis labels ("12.5 %")
_RIGHT = WIDTH - 92  # room after the plot for the level labels ("review 0.1 %")
_TOP = 14
_BOTTOM = HEIGHT - 28  # room for the day labels
# The pause level sits at most this high up the axis, so its line never rides the frame.
_HEADROOM = 1.2
# Two level labels closer than this (px) would overlap: the pause one moves up.
_LABEL_GAP = 12
# One label every week, counted back from today (the day most looked at).
_DAY_LABEL_EVERY = 7
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str  # "20 Nov: 6.00 %", the point's tooltip


@dataclass(frozen=True)
class Tick:
    y: float
    label_y: float  # the label's baseline, level with the line
    label: str


@dataclass(frozen=True)
class DayLabel:
    x: float
    label: str


@dataclass(frozen=True)
class LevelLine:
    kind: str  # review | pause: the CSS classes level-{kind} and label-{kind}
    y: float
    label_y: float
    label: str  # "review 5 %"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    y_max: float
    lines: tuple[str, ...]  # <polyline points>, one per run of days that have a rate
    dots: tuple[Dot, ...]
    ticks: tuple[Tick, ...]
    days: tuple[DayLabel, ...]
    levels: tuple[LevelLine, ...]
    description: str


def line_chart(
    series: Sequence[tuple[date, float | None]],
    *,
    review: float,
    pause: float,
    what: str,
    digits: int = 2,
) -> Chart:
    """The chart of ``series`` (oldest first; None: no denominator that day, a gap in the
    line, never a zero). The scale always shows the pause level and grows past it for a
    rate above it."""
    rates = [rate for _, rate in series if rate is not None]
    y_max, step = scale(max(rates, default=0.0), pause=pause)
    count = len(series)

    def x_of(index: int) -> float:
        if count < 2:
            return round((_LEFT + _RIGHT) / 2, 1)
        return round(_LEFT + index * (_RIGHT - _LEFT) / (count - 1), 1)

    def y_of(rate: float) -> float:
        return round(_BOTTOM - rate / y_max * (_BOTTOM - _TOP), 1)

    dots: list[Dot] = []
    lines: list[str] = []
    run: list[str] = []
    for index, (day, rate) in enumerate(series):
        if rate is None:
            run = _close(run, lines)
            continue
        x, y = x_of(index), y_of(rate)
        dots.append(Dot(x, y, f"{day_label(day)}: {rate_text(rate, digits)}"))
        run.append(f"{x:g},{y:g}")
    _close(run, lines)

    ticks = tuple(
        Tick(y_of(n * step), round(y_of(n * step) + 4, 1), percent_label(n * step))
        for n in range(round(y_max / step) + 1)
    )
    days = tuple(
        DayLabel(x_of(index), day_label(series[index][0]))
        for index in range(count - 1, -1, -_DAY_LABEL_EVERY)
    )[::-1]
    review_y, pause_y = y_of(review), y_of(pause)
    levels = (
        LevelLine("review", review_y, round(review_y + 4, 1), f"review {percent_label(review)}"),
        LevelLine(
            "pause",
            pause_y,
            round(min(pause_y + 4, review_y + 4 - _LABEL_GAP), 1),
            f"pause {percent_label(pause)}",
        ),
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=_LEFT,
        right=_RIGHT,
        top=_TOP,
        bottom=_BOTTOM,
        y_max=y_max,
        lines=tuple(lines),
        dots=tuple(dots),
        ticks=ticks,
        days=days,
        levels=levels,
        description=describe(series, review=review, pause=pause, what=what, digits=digits),
    )


def scale(highest: float, *, pause: float) -> tuple[float, float]:
    """(top of the y axis, tick step): a round step, five or so ticks, room above the
    pause level, and the highest rate (at most 100 %) always inside."""
    top = max(pause * _HEADROOM, min(highest * 1.1, 1.0), highest)
    step = _round_step(top / 5)
    return round(step * math.ceil(top / step - 1e-9), 12), step


def _round_step(raw: float) -> float:
    exponent = math.floor(math.log10(raw))
    unit = 10.0**exponent
    for multiple in (1.0, 2.0, 2.5, 5.0):
        if raw <= multiple * unit * (1 + 1e-9):
            return round(multiple * unit, 12)
    return round(10 * unit, 12)


def rate_text(rate: float, digits: int = 2) -> str:
    """A measured rate as the page shows it: rounded down at ``digits`` decimals of a
    percent, so a rate just under a level never reads as the level ("0.0999 %" is
    "0.099 %", not "0.100 %" beside a "warning"). The inner round() absorbs float noise
    (0.29 * 100 is 28.999999999999996)."""
    scaled = math.floor(round(rate * 100 * 10**digits, 6))
    return f"{scaled / 10**digits:.{digits}f} %"


def percent_label(rate: float) -> str:
    """0.05 → "5 %", 0.001 → "0.1 %", 0.025 → "2.5 %": no trailing zeros."""
    return f"{round(rate * 100, 6):g} %"


def day_label(day: date) -> str:
    # Not strftime("%b"): the month's name would follow the server's locale.
    return f"{day.day} {_MONTHS[day.month - 1]}"


def describe(
    series: Sequence[tuple[date, float | None]],
    *,
    review: float,
    pause: float,
    what: str,
    digits: int = 2,
) -> str:
    """The chart in words, for a screen reader (its <desc>)."""
    levels = f"Review level {percent_label(review)}, pause level {percent_label(pause)}."
    if not series:
        return f"No days to show. {levels}"
    span = f"{day_label(series[0][0])} to {day_label(series[-1][0])} {series[-1][0].year}"
    known = [(day, rate) for day, rate in series if rate is not None]
    if not known:
        return f"Daily {what} from {span}: no sends or events on any day. {levels}"
    day, highest = max(known, key=lambda pair: pair[1])
    text = f"Daily {what} from {span}: highest {rate_text(highest, digits)} on {day_label(day)}"
    above = sum(1 for _, rate in known if rate >= review)
    if above:
        text += f"; {above} of {len(known)} days at or above the review level"
    missing = len(series) - len(known)
    if missing:
        text += f"; {missing} days without sends or events, left as gaps in the line"
    return f"{text}. {levels}"


def _close(run: list[str], lines: list[str]) -> list[str]:
    """End a run of points; a run of one day is its dot alone (a line needs two)."""
    if len(run) > 1:
        lines.append(" ".join(run))
    return []
