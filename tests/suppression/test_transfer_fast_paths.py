"""The import's fast paths give exactly what the careful ones give: CsvReader.feed_block
(csv over runs of lines) what feed gives line by line, and rows.text_row_from (a line's
checks done once) what row_from gives, entry or rejection."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from app.suppression.transfer.columns import COLUMNS
from app.suppression.transfer.csv_format import CsvReader
from app.suppression.transfer.lines import Lines
from app.suppression.transfer.rows import BadLine, row_from, text_row_from

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
HEADER = "email,note,reason,expires_at"
# Pieces a line is made of: the ones each path treats apart (quotes, CR, LF, guard
# characters, blanks, delimiters) more often than arbitrary text would give them.
_PIECE = st.one_of(
    st.sampled_from(['"', "'", ",", ";", "\t", "\r", "\n", " ", "=", "@", "a@example.com", ""]),
    st.text(max_size=6),
)
_LINE = st.lists(_PIECE, max_size=8).map("".join)


def _both(
    texts: list[str], too_long: frozenset[int]
) -> tuple[list[tuple[int, object]], list[tuple[int, object]]]:
    block = Lines(1, [HEADER, *texts], ["\n"] * (len(texts) + 1), too_long)
    slow, fast = CsvReader(), CsvReader()
    careful = slow.feed(block.as_lines()) + slow.finish()
    quick = fast.feed_block(block) + fast.finish()
    return [(n, v if isinstance(v, str) else list(v)) for n, v in careful], [
        (n, v if isinstance(v, str) else list(v)) for n, v in quick
    ]


@settings(max_examples=400, deadline=None)
@given(texts=st.lists(_LINE, max_size=12), long_at=st.sets(st.integers(1, 12), max_size=2))
def test_feed_block_reads_every_line_as_feed_does(texts: list[str], long_at: set[int]) -> None:
    too_long = frozenset(i for i in long_at if i <= len(texts))
    careful, quick = _both(texts, too_long)
    assert quick == careful


def test_feed_block_across_a_quote_spanning_lines_and_a_stray_one() -> None:
    texts = ['a@example.com,"one', 'two",bounce,', 'b@example.com,"open,manual,', "c@x.com,,,"]
    careful, quick = _both(texts, frozenset())
    assert quick == careful
    assert [n for n, _ in quick] == [2, 4, 5]


def _outcome(fn: object, values: list[str | None]) -> object:
    try:
        return fn(values, now=NOW)  # type: ignore[operator]
    except BadLine as err:
        return ("rejected", str(err))


_VALUE = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            " ",
            "a@example.com",
            " Ann@Example.COM ",
            '"A" <a@example.com>',
            "bounce",
            "soft_bounce",
            "manual",
            "nope",
            "2026-01-01",
            "2026-07-01T00:00:00+00:00",
            "2026-07-01T00:00:00Z",
            " 2026-07-01T02:00:00+02:00 ",
            "2025-01-01",
            "2026-13-01",
            "x" * 70,
            "\x00",
            "\udcff",
            "é",
        ]
    ),
    st.text(max_size=8),
)


@settings(max_examples=600, deadline=None)
@given(values=st.lists(_VALUE, min_size=len(COLUMNS), max_size=len(COLUMNS)))
def test_text_row_from_gives_what_row_from_gives(values: list[str | None]) -> None:
    assert _outcome(text_row_from, values) == _outcome(row_from, values)
