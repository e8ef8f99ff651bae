"""The bodies a replay file holds (SPEC §8), read as a stream, each with where it stands.

A file is one JSON value a line (a body: an SNS envelope, a bare SES event or an
EventBridge event; an SQS message, ``{"MessageId", "Body", …}``; or a whole
``aws sqs receive-message`` answer, ``{"Messages": [...]}``), or, when its first line is
not JSON, JSON documents over many lines (the AWS CLI's default output is indented
JSON), read whole up to MAX_DOCUMENT_BYTES. Pure: no database, no network.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from app.errors import InvalidInput

# Bounds what is held in memory at once: a line, or the text read whole.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
_BOMS = {
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
    b"\x00\x00\xfe\xff": "UTF-32",
}
_DECODER = json.JSONDecoder()
_SPACE = " \t\r\n"


@dataclass(frozen=True, slots=True)
class FileMessage:
    """One body to take, or why there is none (``problem``: it is refused as malformed)."""

    line: int
    # The message's place (from 1) in its line's or document's "Messages" list or array.
    index: int | None = None
    body: str | None = None
    problem: str | None = None

    @property
    def where(self) -> str:
        return f"line {self.line}" + (f", message {self.index}" if self.index else "")


class ReplayFile:
    """Iterates the FileMessages of a binary stream; ``position`` counts the bytes read so far.

    Raises InvalidInput for input it cannot read at all (UTF-16, a document too large).
    """

    def __init__(self, stream: IO[bytes], *, max_bytes: int = MAX_DOCUMENT_BYTES) -> None:
        self._stream = stream
        self._max = max_bytes
        self.position = 0

    def __iter__(self) -> Iterator[FileMessage]:
        lines = self._lines()
        head: list[bytes | None] = []
        for number, line in lines:
            raw = _without_bom(line) if number == 1 and line is not None else line
            head.append(raw)
            if raw is None or raw.strip():
                break
        if not head or (head[-1] is not None and not head[-1].strip()):
            return  # nothing but blank lines
        first = head[-1]
        if first is not None and isinstance(_value_of(first), _NotJson):
            yield from self._documents(head, lines)
            return
        for number, raw in itertools.chain([(len(head), first)], lines):
            yield from self._line(number, raw)

    def _line(self, number: int, raw: bytes | None) -> Iterator[FileMessage]:
        if raw is None:
            yield FileMessage(number, problem=f"the line is longer than {self._max_mib} MiB")
            return
        if not raw.strip():
            return
        value = _value_of(raw)
        if isinstance(value, _NotJson):
            yield FileMessage(number, problem=value.reason)
            return
        yield from _items_of(value, raw.decode("utf-8"), number)

    @property
    def _max_mib(self) -> str:
        return f"{self._max / (1024 * 1024):g}"

    def _lines(self) -> Iterator[tuple[int, bytes | None]]:
        """Numbered lines without their ends; None for a line over the limit (skipped)."""
        number = 0
        while chunk := self._read(number + 1, self._max + 1):
            number += 1
            self.position += len(chunk)
            if len(chunk) <= self._max or chunk.endswith(b"\n"):
                yield number, chunk.rstrip(b"\r\n")
                continue
            while (rest := self._read(number, self._max)) and not rest.endswith(b"\n"):
                self.position += len(rest)
            self.position += len(rest)
            yield number, None

    def _read(self, number: int, limit: int) -> bytes:
        try:
            return self._stream.readline(limit)
        except OSError as err:  # a disk or a pipe failing under the file
            raise InvalidInput(
                f"reading the input failed at line {number} ({err.strerror or err}): "
                "what came before it is taken; replay the input again once it can be read"
            ) from None

    def _documents(
        self, head: list[bytes | None], rest: Iterator[tuple[int, bytes | None]]
    ) -> Iterator[FileMessage]:
        """The input read whole: one JSON document or several in a row (a shell loop's
        ``>>``); when it is none, its lines one by one if they are a line file after all."""
        lines = list(head)
        size = sum(len(line or b"") + 1 for line in lines)
        for _, raw in rest:
            size += len(raw) + 1 if raw is not None else self._max
            if size > self._max:
                raise InvalidInput(
                    "the first line is not JSON, so the input was read as one JSON document "
                    "(as `aws sqs receive-message` prints it), and it is over "
                    f"{self._max_mib} MiB: write one message a line instead "
                    "(`jq -c '.Messages[]'`), or split it"
                )
            lines.append(raw)
        whole = [line for line in lines if line is not None]
        try:
            text = b"\n".join(whole).decode("utf-8") if len(whole) == len(lines) else None
        except UnicodeDecodeError:
            text = None
        documents = _documents_in(text) if text is not None else iter(())
        first = next(documents, None)
        if text is None or (isinstance(first, FileMessage) and _is_line_file(lines)):
            for number, raw in enumerate(lines, start=1):
                yield from self._line(number, raw)
            return
        lines.clear()
        for found in itertools.chain([first] if first is not None else [], documents):
            if isinstance(found, FileMessage):
                yield found
            else:
                yield from _items_of(*found)


def _documents_in(text: str) -> Iterator[tuple[Any, str, int] | FileMessage]:
    """Each JSON document in ``text`` with its own text and first line; an FileMessage saying
    where the text stops being JSON ends it."""
    position, line = 0, 1
    while (start := _skip_space(text, position)) < len(text):
        line += text.count("\n", position, start)
        try:
            value, position = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError as err:
            yield FileMessage(
                err.lineno,
                problem=f"it is not JSON ({err.msg}: line {err.lineno} column {err.colno}); "
                f"nothing after it was read (the document began at line {line})",
            )
            return
        except RecursionError:
            yield FileMessage(line, problem="its JSON nests too deeply; nothing after it was read")
            return
        yield value, text[start:position], line
        line += text.count("\n", start, position)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SPACE:
        position += 1
    return position


def _is_line_file(lines: list[bytes | None]) -> bool:
    """A first line that is no JSON, then lines that are: a line file with a bad first line,
    not an indented document (whose inner lines are never whole objects on their own)."""
    return any(raw and isinstance(_value_of(raw), dict) for raw in lines[1:])


@dataclass(frozen=True, slots=True)
class _NotJson:
    reason: str


def _value_of(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _NotJson("it is not UTF-8 text")
    except ValueError as err:
        return _NotJson(f"it is not JSON ({err})")
    except RecursionError:
        return _NotJson("its JSON nests too deeply")


def _items_of(value: Any, text: str, line: int) -> Iterator[FileMessage]:
    if isinstance(value, dict) and "Messages" in value and "Type" not in value:
        messages = value["Messages"]
        if not isinstance(messages, list):
            yield FileMessage(line, problem='"Messages" is not a list of SQS messages')
            return
        yield from _each(messages, line)
    elif isinstance(value, dict):
        yield _item(value, text, line, None)
    elif isinstance(value, list):
        yield from _each(value, line)  # `aws sqs receive-message --query Messages`
    else:
        yield FileMessage(line, problem=f"it is a JSON {_kind(value)}, not an object")


def _each(values: Iterable[Any], line: int) -> Iterator[FileMessage]:
    for index, value in enumerate(values, start=1):
        if isinstance(value, dict):
            yield _item(value, json.dumps(value, ensure_ascii=False), line, index)
        else:
            yield FileMessage(line, index, problem=f"it is a JSON {_kind(value)}, not an object")


def _item(value: dict[str, Any], text: str, line: int, index: int | None) -> FileMessage:
    if not _is_sqs_message(value):
        return FileMessage(line, index, body=text)
    body = value.get("Body")
    if not isinstance(body, str):
        return FileMessage(line, index, problem='an SQS message without a "Body" string')
    digest = value.get("MD5OfBody")
    # SQS's MD5OfBody is the MD5 of the body's UTF-8 bytes: a dump edited or cut since.
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_Message.html
    if isinstance(digest, str) and digest.lower() != _md5(body):
        return FileMessage(
            line,
            index,
            problem="its MD5OfBody does not match its Body: the dump was changed after SQS "
            "wrote it; take the message from the queue again (or drop MD5OfBody to take it "
            "as it is)",
        )
    return FileMessage(line, index, body=body)


def _is_sqs_message(value: dict[str, Any]) -> bool:
    # An SNS envelope has Type and Message; an SQS message has Body and its SQS ids.
    return (
        "Body" in value
        and "Type" not in value
        and ("MessageId" in value or "ReceiptHandle" in value)
    )


def _md5(body: str) -> str:
    return hashlib.md5(body.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def _kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _without_bom(raw: bytes) -> bytes:
    for bom, name in _BOMS.items():
        if raw.startswith(bom):
            raise InvalidInput(
                f"the input is {name} text (as PowerShell's > writes it): convert it to UTF-8 "
                "(e.g. `Out-File -Encoding utf8`)"
            )
    return raw.removeprefix(codecs.BOM_UTF8)
