"""CSV in: the header and its delimiter, quoted fields across lines, formula cells.

One reader: its fields read by the csv module (strict), the common line split as csv
would split it. csv is handed one record at a time, not the stream: over the stream an
unclosed quote would swallow every line to the end of the file, and nothing would tell
which line was bad. So lines.py numbers the physical lines and this reader decides which
of them make one record, rejecting a line alone, with its number, and never the lines
after it (SPEC §4). A quoted field may span lines (a note with a line break, as the
export writes it) when its quote closes; it is taken as never closed, and its first
line rejected while the lines after it are read again on their own, when
- a later line reads on its own as a whole record (the header's number of fields and an
  address in the address column): a note's continuation line seldom does, the line
  after a stray quote nearly always does;
- it would span more than MAX_SPAN lines or MAX_RECORD characters;
- the file ends first.
A chunk's lines go to csv a run at a time (feed_block), and to the careful reader (feed)
only from a line where a quote stays open or csv errs.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from operator import itemgetter

from app.addresses import InvalidAddress, parse_address
from app.errors import InvalidInput
from app.suppression.transfer.columns import (
    COLUMNS,
    Record,
    column_names,
    unguarded,
)
from app.suppression.transfer.lines import MAX_LINE, Line, Lines, line_blocks

MAX_SPAN = 100
MAX_RECORD = 64 * 1024
DELIMITERS = (",", ";", "\t")


class _Open:
    """A record whose quoted field is still open at the end of the text."""


_OPEN = _Open()


def _fields(text: str, delimiter: str) -> list[str] | str | _Open:
    """One record's fields as the csv module reads them (strict), or why it cannot."""
    try:
        return next(csv.reader([text], delimiter=delimiter, strict=True), [""])
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            return _OPEN
        if "new-line character" in str(err):
            # A CR (or, in a file with CR line endings, an LF) is a line break to csv.
            what = "a carriage return (CR)" if "\r" in text else "a line feed (LF)"
            return f"unreadable CSV: {what} outside quotes; quote the field"
        return f"unreadable CSV: {err}"


def _loose_fields(text: str, delimiter: str) -> list[str]:
    """A first line that is not CSV, read with quotes as plain characters, to find the
    address column all the same. Its line breaks are read as spaces, which the header's
    names (header_key) and an address (never valid with either) take alike."""
    text = text.replace("\r", " ").replace("\n", " ")
    return next(csv.reader([text], delimiter=delimiter, quoting=csv.QUOTE_NONE), [""])


def _delimiter(text: str) -> str:
    """The delimiter under which the first line is an address or names an address column,
    the one giving the most fields first (``,`` on a tie); else the one giving the most."""
    split = {d: f if isinstance(f := _fields(text, d), list) else [] for d in DELIMITERS}
    ranked = sorted(DELIMITERS, key=lambda d: -len(split[d]))  # stable: "," first of equals
    for delimiter in ranked:
        fields = split[delimiter]
        if fields and (_is_address(fields[0]) or _names_an_address(fields)):
            return delimiter
    return ranked[0]


def _names_an_address(cells: list[str]) -> bool:
    try:
        column_names(cells)
    except ValueError:
        return False
    return True


def _is_address(text: str) -> bool:
    try:
        parse_address(unguarded(text.strip()))
    except InvalidAddress:
        return False
    return True


class CsvReader:
    """Lines in, records out; the header (or its absence) decides the columns."""

    def __init__(self) -> None:
        self.delimiter = ","
        self.width = 0
        self.address = 0  # the address column's index
        self.picks: list[int | None] = []
        """For each of COLUMNS, the index of its field, or None."""
        self._pick: Callable[[list[str]], Sequence[object]] = tuple
        self.open: list[Line] = []
        self.records: list[Record] = []

    def feed(self, lines: Sequence[Line]) -> list[Record]:
        """The records the lines make, each line read alone unless a quote it opens spans
        the lines after it."""
        queue: deque[Line] = deque(lines)
        while queue:
            self._take(queue.popleft(), queue)
        records, self.records = self.records, []
        return records

    def feed_block(self, block: Lines) -> list[Record]:
        """feed, for a chunk's lines as Lines: the same records, from csv run over runs
        of lines at a time (its loop in C) and a Line made only for the lines the
        careful path (feed) reads."""
        texts = block.texts
        count = len(texts)
        index = 0
        while index < count:
            if self.open or not self.width or index in block.too_long:
                index = self._careful(block, index)
                continue
            stop = min((i for i in block.too_long if i > index), default=count)
            index = self._fast(block, index, stop)
            if index < stop:  # the line _fast left
                index = self._careful(block, index)
        records, self.records = self.records, []
        return records

    def _careful(self, block: Lines, index: int) -> int:
        """Read line ``index`` as feed does, and the lines after it while a quote it
        opens is open; the index of the next line to read."""
        queue: deque[Line] = deque([block.line(index)])
        index += 1
        while True:
            while queue:
                self._take(queue.popleft(), queue)
            if not self.open or index == len(block.texts):
                return index
            queue.append(block.line(index))
            index += 1

    def _fast(self, block: Lines, start: int, stop: int) -> int:
        """Records from lines ``start`` to ``stop`` while each is a record of one line,
        exactly as _fields reads it alone (csv starts each record afresh); the index of
        the first line it leaves to _careful (a quote left open, a csv error)."""
        texts = block.texts
        reader = csv.reader(texts[start:stop], delimiter=self.delimiter, strict=True)
        records = self.records
        width, address, pick = self.width, self.address, self._pick
        number = block.first + start
        index = start
        try:
            for fields in reader:
                if reader.line_num != index - start + 1:
                    return index  # a quoted field went on over the next line
                if len(fields) != width or not fields[address].strip():
                    text = texts[index]
                    if text.strip():  # else a blank line, skipped
                        self._record(number, fields)
                elif "'" in texts[index]:
                    self._record(number, fields)  # each field unguarded
                else:
                    fields.append(None)  # type: ignore[arg-type]  # a column it lacks
                    records.append((number, pick(fields)))
                index += 1
                number += 1
        except csv.Error:
            return index
        return index

    def finish(self) -> list[Record]:
        records: list[Record] = []
        while self.open:
            rest = self._give_up("the quote it opens is never closed")
            records += self.feed(rest)  # the lines after it may open a quote again
        return records

    def _take(self, line: Line, queue: deque[Line]) -> None:
        if self.open:
            self._continue(line, queue)
            return
        if line.too_long:
            self.records.append((line.number, f"line longer than {MAX_LINE} characters"))
            return
        if not line.text.strip():
            return  # a blank line (a tab-separated line of empty fields is not blank)
        if not self.width and self._header(line):
            return  # the header, which names the columns
        fields = _fields(line.text, self.delimiter)
        if isinstance(fields, _Open):
            self.open = [line]
            return
        self._record(line.number, fields)

    def _continue(self, line: Line, queue: deque[Line]) -> None:
        if line.too_long or self._is_whole_record(line):
            queue.appendleft(line)
            queue.extendleft(reversed(self._give_up("the quote it opens is never closed")))
            return
        self.open.append(line)
        text = "".join(part.text + part.ending for part in self.open[:-1]) + line.text
        fields = _fields(text, self.delimiter)
        if isinstance(fields, _Open):
            if len(self.open) >= MAX_SPAN or len(text) >= MAX_RECORD:
                queue.extendleft(reversed(self._give_up(
                    f"the quote it opens spans more than {MAX_SPAN} lines or "
                    f"{MAX_RECORD} characters: never closed?"
                )))  # fmt: skip
            return
        if isinstance(fields, str) or len(fields) != self.width:
            # Read as one record, the lines make no sense: the first is the bad one.
            why = fields if isinstance(fields, str) else self._width_error(fields)
            queue.extendleft(reversed(self._give_up(why)))
            return
        number = self.open[0].number
        self.open = []
        self._record(number, fields)

    def _give_up(self, why: str) -> list[Line]:
        """Reject the open record's first line; the lines after it, to be read again."""
        first, *rest = self.open
        self.open = []
        self.records.append((first.number, why))
        return rest

    def _is_whole_record(self, line: Line) -> bool:
        fields = _fields(line.text, self.delimiter)
        return (
            isinstance(fields, list)
            and len(fields) == self.width
            and _is_address(fields[self.address])
        )

    def _header(self, line: Line) -> bool:
        """Settle the columns from the first line; True when it was a header."""
        self.delimiter = _delimiter(line.text)
        fields = _fields(line.text, self.delimiter)
        if not isinstance(fields, list):
            fields = _loose_fields(line.text, self.delimiter)
        if _is_address(fields[0]):  # no header: the columns in the export's order
            self.width = len(fields)
            self._set_picks([i if i < len(fields) else None for i in range(len(COLUMNS))])
            return False
        try:
            names = column_names(fields)
        except ValueError as err:
            raise InvalidInput(str(err), field="body") from err
        self.width = len(names)
        self.address = names.index("email")
        self._set_picks([names.index(c) if c in names else None for c in COLUMNS])
        return True

    def _set_picks(self, picks: list[int | None]) -> None:
        self.picks = picks
        # The fields with a None after them, which stands for a column the file lacks.
        self._pick = itemgetter(*(self.width if i is None else i for i in picks))

    def _width_error(self, fields: list[str]) -> str:
        return f"wrong column count: expected {self.width}, found {len(fields)}"

    def _record(self, number: int, fields: list[str] | str) -> None:
        if isinstance(fields, str):
            self.records.append((number, fields))
        elif len(fields) != self.width:
            self.records.append((number, self._width_error(fields)))
        else:
            self.records.append(
                (number, [None if i is None else unguarded(fields[i]) for i in self.picks])
            )


async def csv_records(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[Record]]:
    reader = CsvReader()
    async for block in line_blocks(chunks):
        yield reader.feed_block(block)
    yield reader.finish()
