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


async def numbered_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[Line]]:
    """The lines, one list per chunk read (a chain of async generators costs a few µs
    per item and layer: seconds per million lines)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")
    splitter: _Splitter | None = None
    pending = ""
    async for chunk in chunks:
        pending += decoder.decode(chunk)
        if splitter is None:
            splitter = _splitter_for(pending, final=len(pending) > MAX_LINE)
            if splitter is None:
                continue  # no line break yet, or a CR that may be the first half of a CRLF
        lines, pending = splitter.split(pending, final=False)
        if lines:
            yield _not_utf16(lines)
    pending += decoder.decode(b"", final=True)
    splitter = splitter or _splitter_for(pending, final=True) or _Splitter(cr_only=False)
    lines, _ = splitter.split(pending, final=True)
    if lines:
        yield _not_utf16(lines)


# A UTF-16 byte order mark as surrogateescape decodes it: Excel's "Unicode Text" export.
_UTF16_BOMS = ("\udcff\udcfe", "\udcfe\udcff")


def _not_utf16(lines: list[Line]) -> list[Line]:
    if lines[0].number == 1 and lines[0].text.startswith(_UTF16_BOMS):
        raise InvalidInput(
            "the file is UTF-16 (Excel's Unicode Text): save it as CSV UTF-8 and import that",
            field="body",
        )
    return lines


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

    def split(self, pending: str, *, final: bool) -> tuple[list[Line], str]:
        """The whole lines in ``pending`` and what is left of it."""
        lines: list[Line] = []
        if self.cr_only:
            pieces = pending.split("\r")
            endings = ["\r"] * (len(pieces) - 1)
        else:
            pieces = pending.split("\n")
            endings = ["\r\n" if p.endswith("\r") else "\n" for p in pieces[:-1]]
            pieces[:-1] = [p[:-1] if p.endswith("\r") else p for p in pieces[:-1]]
        for text, ending in zip(pieces, endings, strict=False):
            if self.skipping:
                self.skipping = False  # the end of the line cut earlier: already reported
                continue
            self._add(lines, text, ending)
        rest = pieces[-1]
        if final:
            if rest and not self.skipping:
                self._add(lines, rest, "")
            return lines, ""
        if not self.skipping and len(rest) > MAX_LINE:
            self._add(lines, rest, "")
            self.skipping = True
        return lines, "" if self.skipping else rest

    def _add(self, lines: list[Line], text: str, ending: str) -> None:
        self.number += 1
        if len(text) > MAX_LINE:
            lines.append(Line(self.number, text[:MAX_LINE], ending, too_long=True))
        else:
            lines.append(Line(self.number, text, ending))
