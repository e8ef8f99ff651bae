"""The one CSV reader (transfer/csv_format.py): fields as the csv module reads them, the
common line split as csv would, and a first line that is not CSV read loosely."""

from __future__ import annotations

import csv

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.suppression.transfer.csv_format import DELIMITERS, CsvReader
from app.suppression.transfer.lines import Line


def read(*texts: str, ending: str = "\n") -> list[tuple[int, str | list[object]]]:
    reader = CsvReader()
    lines = [Line(n, text, ending) for n, text in enumerate(texts, 1)]
    return [(n, v if isinstance(v, str) else list(v)) for n, v in reader.feed(lines)]


def test_common_lines_and_others_keep_their_order_and_numbers() -> None:
    records = read(
        "email,note,reason",
        "a@example.com,x,bounce",
        'b@example.com,"q, r",',
        "c@example.com,'=1,",
        "",
        "d@example.com,y",
        "e@example.com,z,complaint",
    )
    note_and_reason = [(n, v if isinstance(v, str) else (v[0], v[1], v[4])) for n, v in records]
    assert note_and_reason == [
        (2, ("a@example.com", "bounce", "x")),
        (3, ("b@example.com", "", "q, r")),
        (4, ("c@example.com", "", "=1")),
        (6, "wrong column count: expected 3, found 2"),
        (7, ("e@example.com", "complaint", "z")),
    ]


def test_a_first_line_no_delimiter_reads_as_csv_is_read_with_quotes_as_characters() -> None:
    # Here a CR outside quotes: the header is still found, its line break a space.
    records = read("email,no\rte", "a@example.com,x")
    assert records == [(2, ["a@example.com", *[None] * 10])]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a@example.com,one\rtwo", "a carriage return (CR) outside quotes"),
        # A file with CR line endings: an LF is a line break to csv, as a CR is in the
        # others (it was read as part of the field when the line held no quote).
        ("a@example.com,one\ntwo", "a line feed (LF) outside quotes"),
    ],
)
def test_a_line_break_outside_quotes_rejects_its_line_alone(text: str, error: str) -> None:
    records = read("email,note", text, "b@example.com,fine", ending="\r")
    assert records[0][0] == 2
    assert isinstance(records[0][1], str)
    assert error in records[0][1]
    assert records[1] == (3, ["b@example.com", None, None, None, "fine", *[None] * 6])


@settings(max_examples=500)
@given(
    text=st.text(st.characters(blacklist_characters='"\r\n', codec="utf-8"), min_size=1),
    delimiter=st.sampled_from(DELIMITERS),
)
def test_a_line_without_quotes_or_line_breaks_splits_as_csv_reads_it(
    text: str, delimiter: str
) -> None:
    # CsvReader.feed splits such a line itself, for speed: it must be csv's answer.
    text += delimiter.join(["a", "=b", "'c", " d ", "\x00", ""])
    expected = next(csv.reader([text], delimiter=delimiter, strict=True))
    assert text.split(delimiter) == expected
