"""ReplayFile: which bodies a replay input holds and where each stands, read as a stream."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from app.errors import InvalidInput
from app.queues.replay_lines import FileMessage, ReplayFile
from tests.queue_replay.conftest import sqs_message

ENVELOPE = {"Type": "Notification", "MessageId": "m-1", "Message": "{}", "Signature": "c2ln"}
BODY = json.dumps(ENVELOPE)


def read(data: bytes, **kwargs: Any) -> list[FileMessage]:
    return list(ReplayFile(io.BytesIO(data), **kwargs))


def shown(items: list[FileMessage]) -> list[tuple[int, int | None, str | None, bool]]:
    """(line, message, body, refused) of each item."""
    return [(i.line, i.index, i.body, i.problem is not None) for i in items]


class TestLines:
    def test_each_line_its_number_and_blank_lines_skipped(self) -> None:
        items = read(f"\n{BODY}\n  \n{BODY}\r\n".encode())
        assert shown(items) == [(2, None, BODY, False), (4, None, BODY, False)]

    def test_a_body_is_taken_as_written(self) -> None:
        # Amazon signs the decoded values, but the exact text is what a queue delivered.
        text = '{"Type":"Notification",  "Message":"x\\u00e9"}'
        assert read(text.encode()) == [FileMessage(1, body=text)]

    def test_an_sqs_message_gives_its_body(self) -> None:
        line = json.dumps(sqs_message(BODY))
        assert read(line.encode()) == [FileMessage(1, body=BODY)]

    def test_an_sqs_message_whose_body_was_changed_is_refused(self) -> None:
        message = sqs_message(BODY) | {"Body": BODY + " "}
        [item] = read(json.dumps(message).encode())
        assert item.body is None
        assert "MD5OfBody" in (item.problem or "")

    def test_without_md5_the_body_is_taken(self) -> None:
        message = sqs_message(BODY)
        del message["MD5OfBody"]
        assert read(json.dumps(message).encode()) == [FileMessage(1, body=BODY)]

    def test_an_sqs_message_without_a_body_string(self) -> None:
        [item] = read(json.dumps({"MessageId": "1", "Body": 3}).encode())
        assert 'without a "Body" string' in (item.problem or "")

    def test_an_envelope_that_happens_to_hold_body_is_an_envelope(self) -> None:
        text = json.dumps(ENVELOPE | {"Body": "x"})
        assert read(text.encode()) == [FileMessage(1, body=text)]

    def test_a_receive_message_answer_a_line_numbers_its_messages(self) -> None:
        answer = json.dumps({"Messages": [sqs_message(BODY, 1), sqs_message(BODY, 2)]})
        assert shown(read(f"{BODY}\n{answer}\n".encode())) == [
            (1, None, BODY, False),
            (2, 1, BODY, False),
            (2, 2, BODY, False),
        ]

    def test_each_bad_line_is_refused_alone(self) -> None:
        data = "\n".join([BODY, "{broken", "[1, {}]", '"text"', '{"Messages": 3}', BODY])
        items = read(data.encode())
        assert shown(items) == [
            (1, None, BODY, False),
            (2, None, None, True),
            (3, 1, None, True),
            (3, 2, "{}", False),  # an object: whether it is a body is the core's to say
            (4, None, None, True),
            (5, None, None, True),
            (6, None, BODY, False),
        ]
        assert "not JSON" in (items[1].problem or "")
        assert items[2].where == "line 3, message 1"

    def test_a_line_not_utf8_is_refused(self) -> None:
        [bad, good] = read(b'{"a": "\xff"}\n' + BODY.encode())
        assert "not UTF-8" in (bad.problem or "")
        assert good == FileMessage(2, body=BODY)

    def test_a_line_too_long_is_refused_and_skipped(self) -> None:
        long = b'{"pad": "' + b"x" * 300 + b'"}'
        items = read(BODY.encode() + b"\n" + long + b"\n" + BODY.encode(), max_bytes=100)
        assert shown(items) == [
            (1, None, BODY, False),
            (2, None, None, True),
            (3, None, BODY, False),
        ]
        assert "longer than" in (items[1].problem or "")

    def test_a_read_failing_says_at_which_line(self) -> None:
        class Failing(io.BytesIO):
            def readline(self, size: int | None = -1) -> bytes:
                if self.tell() > 0:
                    raise OSError(5, "Input/output error")
                return super().readline(size)

        reader = iter(ReplayFile(Failing(f"{BODY}\n{BODY}\n".encode())))
        assert next(reader) == FileMessage(1, body=BODY)
        with pytest.raises(InvalidInput, match="failed at line 2 \\(Input/output error\\)"):
            next(reader)

    def test_read_as_a_stream(self) -> None:
        data = "".join(f"{BODY}\n" for _ in range(1000)).encode()
        reader = ReplayFile(io.BytesIO(data))
        first = next(iter(reader))
        assert first.line == 1
        assert reader.position == len(BODY) + 1


class TestDocuments:
    def test_an_indented_answer(self) -> None:
        answer = {"Messages": [sqs_message(BODY, 1), sqs_message(BODY, 2)]}
        assert shown(read(json.dumps(answer, indent=4).encode())) == [
            (1, 1, BODY, False),
            (1, 2, BODY, False),
        ]

    def test_answers_one_after_another_numbered_by_their_first_line(self) -> None:
        one = json.dumps({"Messages": [sqs_message(BODY)]}, indent=4)
        data = f"{one}\n\n{one}{one}\n".encode()
        lines_in_one = one.count("\n") + 1
        starts = [item.line for item in read(data)]
        assert starts == [1, lines_in_one + 2, 2 * lines_in_one + 1]

    def test_an_indented_envelope_is_one_body(self) -> None:
        text = json.dumps(ENVELOPE, indent=2)
        [item] = read(text.encode())
        assert item.body == text

    def test_a_broken_document_says_where(self) -> None:
        one = json.dumps({"Messages": [sqs_message(BODY)]}, indent=4)
        broken = one.replace('"Body"', "Body")
        items = read(f"{one}\n{broken}\n{one}\n".encode())
        assert [i.body is not None for i in items] == [True, False]
        line = (
            one.count("\n")
            + 2
            + next(n for n, text in enumerate(broken.splitlines()) if "Body:" in text)
        )
        assert items[1].line == line
        assert f"line {line} column" in (items[1].problem or "")
        assert "nothing after it was read" in (items[1].problem or "")

    def test_a_bad_first_line_before_good_lines_is_a_line_file(self) -> None:
        items = read(f"oops\n{BODY}\n{BODY}\n".encode())
        assert shown(items) == [
            (1, None, None, True),
            (2, None, BODY, False),
            (3, None, BODY, False),
        ]

    def test_a_document_too_large_is_refused_before_anything_is_taken(self) -> None:
        data = json.dumps({"Messages": [sqs_message(BODY)] * 20}, indent=4).encode()
        with pytest.raises(InvalidInput, match="jq -c"):
            read(data, max_bytes=1000)


class TestEncodings:
    def test_a_utf8_bom_is_dropped(self) -> None:
        assert read(b"\xef\xbb\xbf" + BODY.encode()) == [FileMessage(1, body=BODY)]

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32-be"])
    def test_utf16_and_utf32_say_to_convert(self, encoding: str) -> None:
        data = BODY.encode(encoding)
        if encoding.endswith("-be"):
            data = "\ufeff".encode(encoding) + data
        with pytest.raises(InvalidInput, match="convert it to UTF-8"):
            read(data)

    def test_nothing_but_blank_lines(self) -> None:
        assert read(b"\n \r\n\t\n") == []
        assert read(b"") == []
