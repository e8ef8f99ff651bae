"""An uploaded file as numbered lines, whatever its line endings and bytes.

Lines end at LF or CRLF; each line keeps its ending, so a quoted CSV field spanning lines
comes back exactly. A CR alone is part of its line (a quoted field may hold one; outside
quotes it makes that line unreadable), unless the file's first line ends with one: then
the file is taken to use CR line endings throughout (classic Mac OS exports). A
UTF-8 BOM at the start is dropped. Bytes that are not UTF-8 are kept as lone surrogates
(``surrogateescape``), so the line holding them, and only it, is rejected. A line longer
than MAX_LINE characters is cut there and marked, and the rest of it skipped as it
arrives: one endless line can neither fill the memory nor hide the lines after it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterable, AsyncIterator
from typing import NamedTuple

from app.errors import InvalidInput

MAX_LINE = 64 * 1024


class Line(NamedTuple):
    number: int
    """From 1, as an editor counts them."""
    text: str
    ending: str
    """``\\r\\n``, ``\\n``, ``\\r``, or "" on the last line."""
    too_long: bool = False


class Lines(NamedTuple):
    """The lines of one chunk, kept as plain lists: a Line object a line costs ~1 µs,
    a second of a million-line import. ``line(i)`` makes one when a reader needs it."""

    first: int
    """The number of ``texts[0]``."""
    texts: list[str]
    endings: list[str]
    too_long: frozenset[int]
    """The indexes of the lines cut at MAX_LINE."""

    def line(self, index: int) -> Line:
        return Line(
            self.first + index, self.texts[index], self.endings[index], index in self.too_long
        )

    def as_lines(self) -> list[Line]:
        return [self.line(i) for i in range(len(self.texts))]


async def numbered_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[Line]]:
    """The lines, one list per chunk read (a chain of async generators costs a few µs
    per item and layer: seconds per million lines)."""
    async for block in line_blocks(chunks):
        yield block.as_lines()


async def line_blocks(chunks: AsyncIterable[bytes]) -> AsyncIterator[Lines]:
    """The lines, one Lines per chunk read."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")
    splitter: _Splitter | None = None
    pending = ""
    async for chunk in chunks:
        pending += decoder.decode(chunk)
        if splitter is None:
            splitter = _splitter_for(pending, final=len(pending) > MAX_LINE)
            if splitter is None:
                continue  # no line break yet, or a CR that may be the first half of a CRLF
        block, pending = splitter.split(pending, final=False)
        if block.texts:
            yield _not_utf16(block)
    pending += decoder.decode(b"", final=True)
    splitter = splitter or _splitter_for(pending, final=True) or _Splitter(cr_only=False)
    block, _ = splitter.split(pending, final=True)
    if block.texts:
        yield _not_utf16(block)


# A UTF-16 byte order mark as surrogateescape decodes it: Excel's "Unicode Text" export.
_UTF16_BOMS = ("\udcff\udcfe", "\udcfe\udcff")


def _not_utf16(block: Lines) -> Lines:
    if block.first == 1 and block.texts[0].startswith(_UTF16_BOMS):
        raise InvalidInput(
            "the file is UTF-16 (Excel's Unicode Text): save it as CSV UTF-8 and import that",
            field="body",
        )
    return block


_BREAK = re.compile(r"\r\n|\n|\r")


def _splitter_for(start: str, *, final: bool) -> _Splitter | None:
    """The line endings the first line break shows; None until it is known."""
    first = _BREAK.search(start)
    if first is None:
        return _Splitter(cr_only=False) if final else None
    if first.group() != "\r":
        return _Splitter(cr_only=False)
    if first.end() == len(start) and not final:
        return None
    return _Splitter(cr_only=True)


class _Splitter:
    def __init__(self, *, cr_only: bool) -> None:
        self.cr_only = cr_only
        self.number = 0
        self.skipping = False  # inside a line already cut at MAX_LINE

    def split(self, pending: str, *, final: bool) -> tuple[Lines, str]:
        """The whole lines in ``pending`` and what is left of it."""
        if self.cr_only:
            texts = pending.split("\r")
            endings = ["\r"] * (len(texts) - 1)
        else:
            texts = pending.split("\n")
            endings = ["\n"] * (len(texts) - 1)
            if "\r" in pending:  # CRLF endings (or a CR inside a line), taken line by line
                endings = ["\r\n" if p.endswith("\r") else "\n" for p in texts[:-1]]
                texts[:-1] = [p[:-1] if p.endswith("\r") else p for p in texts[:-1]]
        rest = texts.pop()
        if self.skipping and (texts or final):
            # The end of the line cut earlier: already reported.
            self.skipping = False
            if texts:
                del texts[0], endings[0]
            else:
                rest = ""
        if final:
            if rest and not self.skipping:
                texts.append(rest)
                endings.append("")
            rest = ""
        elif not self.skipping and len(rest) > MAX_LINE:
            texts.append(rest)
            endings.append("")
            self.skipping = True
        if self.skipping:
            rest = ""
        return self._block(texts, endings), rest

    def _block(self, texts: list[str], endings: list[str]) -> Lines:
        first = self.number + 1
        self.number += len(texts)
        too_long: frozenset[int] = frozenset()
        if texts and max(map(len, texts)) > MAX_LINE:
            too_long = frozenset(i for i, text in enumerate(texts) if len(text) > MAX_LINE)
            for i in too_long:
                texts[i] = texts[i][:MAX_LINE]
        return Lines(first, texts, endings, too_long)
