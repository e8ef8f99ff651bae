"""CSV out: rows of text written as csv writes them, formula cells guarded (SPEC §4)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from app.suppression.transfer.columns import guarded


def csv_text(rows: Sequence[Sequence[Any]]) -> str:
    """Rows of text or None as CSV, every cell a spreadsheet would run guarded (SPEC §4)."""
    text = _written(rows)
    # Guarding each cell doubles the time of a batch; a batch seldom has one to guard, and
    # the text tells (a false alarm, say a line of a note starting with "-", costs only time).
    if text[:1] not in _GUARDED_STARTS and _MAY_NEED_GUARD.search(text) is None:
        return text
    return _written([[guarded(v) if v and v[0] in "=+-@\t\r'" else v for v in r] for r in rows])


# A cell after the first starting (after its opening quote, if any) with a character
# guarded() looks at; csv quotes a cell holding a CR, so an unquoted CR ends the line.
# A class first: re then skips quickly past the positions that cannot match.
_MAY_NEED_GUARD = re.compile(r"[\n,]\"?['=+\-@\t]|[\n,]\"\r")
_GUARDED_STARTS = frozenset("'=+-@\t\"")


def _written(rows: Sequence[Sequence[Any]]) -> str:
    # Every value is text or None, which csv writes as an empty field.
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
