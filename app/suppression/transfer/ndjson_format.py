"""NDJSON in and out: one JSON object a line.

Reading, whatever a line holds (deep nesting, a number too large for Python, a key given
twice, something other than an object) is that line's rejection, never the import's end.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from json.encoder import encode_basestring
from typing import Any

from app.suppression.transfer.columns import COLUMNS, Record
from app.suppression.transfer.lines import MAX_LINE, numbered_lines

# One line as json.dumps(dict(zip(COLUMNS, row)), ensure_ascii=False) writes it when every
# value is text or None (as here): the keys and separators laid out once, each value
# escaped by the C function json.dumps itself uses. Half the time of dumps a row.
_NDJSON_LINE = "{" + ", ".join(f"{json.dumps(name)}: %s" for name in COLUMNS) + "}\n"


def ndjson_text(rows: Sequence[Sequence[Any]]) -> str:
    return "".join(
        [
            _NDJSON_LINE % tuple(["null" if v is None else encode_basestring(v) for v in row])
            for row in rows
        ]
    )


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; which one a file meant is anyone's guess.
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(f"key {key!r} appears twice in one object")
            seen.add(key)
    return value


_decode = json.JSONDecoder(object_pairs_hook=_no_duplicates).decode


def ndjson_values(text: str) -> Sequence[object] | str:
    """One line's values in COLUMNS order, or why it is unreadable."""
    try:
        value = _decode(text)
    except json.JSONDecodeError as err:
        return f"invalid JSON: {err.msg} at column {err.colno}"
    except _DuplicateKey as err:
        return f"invalid JSON: {err}"
    except ValueError:  # Python reads no integer of more than 4300 digits (sys.int_info)
        return "invalid JSON: a number with too many digits"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    if not isinstance(value, dict):
        return "expected a JSON object"
    return [value.get(name) for name in COLUMNS]


async def ndjson_records(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[Record]]:
    async for lines in numbered_lines(chunks):
        records: list[Record] = []
        for line in lines:
            if line.too_long:
                records.append((line.number, f"line longer than {MAX_LINE} characters"))
            elif line.text.strip():
                records.append((line.number, ndjson_values(line.text)))
        yield records
