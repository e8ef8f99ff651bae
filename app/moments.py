"""One rule for the dates and times operators type: ISO 8601, and without an offset, UTC.

SPEC §4 Edges: "A date or time without an offset is UTC, everywhere" (``since``,
``until``, ``expires_at``, imports, the CLI), so the API, the CLI and imports all call
``parse_moment`` and no one reads a date twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

_FORMS = "2026-12-01, 2026-12-01T10:00:00 (UTC) or 2026-12-01T10:00:00+02:00"
# Strings longer than this are not a date: refuse them before parsing.
_MAX_LENGTH = 64


def parse_moment(text: str) -> datetime:
    """An aware UTC datetime from ``2026-12-01``, ``2026-12-01T10:00:00`` (UTC), ``…Z`` or
    ``…+02:00``; ValueError saying what is wrong and which forms are accepted."""
    if not isinstance(text, str):
        raise ValueError(f"a date must be text, such as {_FORMS}")
    value = text.strip()
    shown = repr(value) if len(value) <= _MAX_LENGTH else repr(value[:_MAX_LENGTH]) + "…"
    if not value or len(value) > _MAX_LENGTH or not value.isascii():
        raise ValueError(f"{shown} is not a date; use {_FORMS}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        # Python's message ("year 0 is out of range", "month must be in 1..12") names the
        # part that is wrong; keep it.
        raise ValueError(f"{shown} is not a date ({err}); use {_FORMS}") from err
    return as_utc(moment, shown=shown)


def as_utc(moment: datetime, *, shown: str | None = None) -> datetime:
    """``moment`` in UTC; a naive one is taken as UTC already. ValueError when UTC has no
    such instant in the years 1-9999 (``9999-12-31T23:00:00-05:00`` is in year 10000)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as err:
        what = shown or repr(moment.isoformat())
        raise ValueError(f"{what} is outside the years 1 to 9999 once converted to UTC") from err
