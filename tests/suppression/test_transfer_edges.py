"""Import edges (SPEC §4): every line is imported or rejected alone with its number."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.db import Database
from app.errors import InvalidInput
from app.models import Suppression, SuppressionChange
from app.suppression import transfer

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def run_import(
    database: Database, data: bytes, fmt: transfer.Format = "csv", *, size: int = 5
) -> transfer.ImportResult:
    return await transfer.import_(database, chunked(data, size), fmt, actor="tester", now=NOW)


async def emails(database: Database) -> set[str]:
    async with database.session() as session:
        return set(await session.scalars(select(Suppression.email)))


def lines_of(result: transfer.ImportResult) -> list[int]:
    return [r["line"] for r in result.rejected]


class TestUnclosedQuote:
    async def test_an_unclosed_quote_on_line_41_of_100_loses_nothing(
        self, database: Database
    ) -> None:
        rows = [f"u{i}@example.com,bounce,note {i}" for i in range(1, 101)]
        rows[40] = 'u41@example.com,bounce,"never closed'
        data = ("email,reason,note\n" + "\n".join(rows) + "\n").encode()
        result = await run_import(database, data)
        # Line 1 is the header: u41 is on line 42.
        assert lines_of(result) == [42]
        assert "quote" in result.rejected[0]["error"]
        assert result.inserted == 99
        assert len(await emails(database)) == 99

    async def test_an_unclosed_quote_on_the_last_line_is_that_line(
        self, database: Database
    ) -> None:
        data = b'email,note\na@example.com,x\nb@example.com,"open'
        result = await run_import(database, data)
        assert (result.inserted, lines_of(result)) == (1, [3])

    async def test_a_quoted_note_may_span_lines_when_it_closes(self, database: Database) -> None:
        data = b'email,note\na@example.com,"one\r\ntwo\nthree"\nb@example.com,x\n'
        result = await run_import(database, data)
        assert (result.inserted, result.rejected) == (2, [])
        async with database.session() as session:
            a = await session.get(Suppression, "a@example.com")
        assert a is not None
        assert a.note == "one\r\ntwo\nthree"

    async def test_text_after_a_closing_quote_is_that_line_only(self, database: Database) -> None:
        data = b'email,note\na@example.com,"x" y\nb@example.com,z\n'
        result = await run_import(database, data)
        assert (result.inserted, lines_of(result)) == (1, [2])


class TestLineEndingsAndBytes:
    @pytest.mark.parametrize(
        "data",
        [
            b"email\ra@example.com\rb@example.com\r",
            b"email\r\na@example.com\nb@example.com\r\n",
            b"\xef\xbb\xbfemail\r\na@example.com\r\nb@example.com",
        ],
        ids=["bare-cr", "mixed", "bom-no-final-newline"],
    )
    async def test_line_endings(self, database: Database, data: bytes) -> None:
        result = await run_import(database, data, size=1)
        assert (result.inserted, result.rejected) == (2, [])

    async def test_non_utf8_bytes_reject_their_line_alone(self, database: Database) -> None:
        data = b"email,note\na@example.com,caf\xe9\nb@example.com,ok\n"
        result = await run_import(database, data)
        assert (result.inserted, lines_of(result)) == (1, [2])
        assert "UTF-8" in result.rejected[0]["error"]

    async def test_a_nul_rejects_its_line_alone(self, database: Database) -> None:
        data = b"email,note\na@example.com,x\x00y\nb@example.com,ok\n"
        result = await run_import(database, data)
        assert (result.inserted, lines_of(result)) == (1, [2])

    @pytest.mark.parametrize("data", [b"", b"email,reason\r\n", b"\xef\xbb\xbf", b"\n\n"])
    async def test_nothing_to_import(self, database: Database, data: bytes) -> None:
        result = await run_import(database, data)
        assert (result.inserted, result.updated, result.rejected_total) == (0, 0, 0)

    @pytest.mark.parametrize("fmt", ["csv", "ndjson"])
    async def test_a_utf16_file_is_refused_saying_so(
        self, database: Database, fmt: transfer.Format
    ) -> None:
        data = "email\nann@example.com\n".encode("utf-16")
        with pytest.raises(InvalidInput, match="UTF-16"):
            await run_import(database, data, fmt, size=1)

    async def test_an_endless_line_is_rejected_alone(self, database: Database) -> None:
        data = b"email,note\na@example.com," + b"x" * (transfer.MAX_LINE + 10) + b"\nb@x.com,y\n"
        result = await run_import(database, data, size=65536)
        assert (result.inserted, lines_of(result)) == (1, [2])


class TestNdjsonHostile:
    async def test_each_hostile_line_is_rejected_alone(self, database: Database) -> None:
        hostile = [
            "[" * 100_000,
            '{"email": "a@example.com", "reason": 1e999999}',
            '{"email": "a@example.com", "n": ' + "9" * 5000 + "}",
            '{"email": "a@example.com", "note": "\\ud800"}',
            '{"email": "\\udfff@example.com"}',
            "42",
            '"a@example.com"',
            "null",
            '{"email": "a@example.com", "email": "b@example.com"}',
            '{"email": ["a@example.com"]}',
            '{"email": "a@example.com", "note": {"deep": ' * 50 + "1" + "}" * 100,
        ]
        good = [json.dumps({"email": f"ok{i}@example.com"}) for i in range(3)]
        data = "\n".join([good[0], *hostile, good[1], "", good[2]]).encode("utf-8", "surrogatepass")
        result = await run_import(database, data, "ndjson", size=4096)
        assert lines_of(result) == list(range(2, 2 + len(hostile)))
        assert result.inserted == 3
        assert await emails(database) == {"ok0@example.com", "ok1@example.com", "ok2@example.com"}


class TestHeaders:
    @pytest.mark.parametrize(
        "header",
        [
            "Email Address",
            "E-mail",
            "Email",
            " e-mail address ",
            "email_address",
            "Address",
            "EMAIL",
        ],
    )
    async def test_the_usual_address_columns(self, database: Database, header: str) -> None:
        data = f"First Name,{header},Extra\nAnn,ann@example.com,x\n".encode()
        result = await run_import(database, "\ufeff".encode() + data)
        assert (result.inserted, result.rejected) == (1, [])

    @pytest.mark.parametrize("sep", [";", "\t"])
    async def test_semicolon_and_tab_separated(self, database: Database, sep: str) -> None:
        data = sep.join(["Email Address", "reason", "note"]) + "\n"
        data += sep.join(["ann@example.com", "complaint", "a, b"]) + "\n"
        result = await run_import(database, data.encode())
        assert (result.inserted, result.rejected) == (1, [])
        async with database.session() as session:
            ann = await session.get(Suppression, "ann@example.com")
        assert ann is not None
        assert (ann.reason, ann.note) == ("complaint", "a, b")

    async def test_a_tab_separated_header_with_commas_in_a_name(self, database: Database) -> None:
        data = b"Email Address\tNotes, free\nann@example.com\tx, y\n"
        result = await run_import(database, data)
        assert (result.inserted, result.rejected) == (1, [])

    async def test_mailchimp_keeps_the_email_column_over_a_postal_address(
        self, database: Database
    ) -> None:
        data = b"Email Address,First Name,Address\nann@example.com,Ann,1 Main St\n"
        result = await run_import(database, data)
        assert (result.inserted, result.rejected) == (1, [])

    async def test_no_address_column_names_the_accepted_ones(self, database: Database) -> None:
        with pytest.raises(InvalidInput, match="Email Address") as caught:
            await run_import(database, b"name,reason\nAnn,bounce\n")
        assert "email" in str(caught.value)
        assert await emails(database) == set()


class TestDuplicates:
    async def test_one_address_twice_in_a_file_counts_once(self, database: Database) -> None:
        data = b"email,reason\nAnn@x.com,bounce\nann@x.com,complaint\nbob@x.com,bounce\n"
        first = await run_import(database, data)
        assert (first.inserted, first.updated, first.unchanged) == (2, 0, 1)
        assert first.duplicates == 1
        again = await run_import(database, data)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
        async with database.session() as session:
            ann = await session.get(Suppression, "ann@x.com")
            changes = await session.scalar(select(func.count()).select_from(SuppressionChange))
        assert ann is not None
        assert ann.reason == "bounce"  # the first line for an address wins
        assert changes == 2


class TestDatesAndValues:
    async def test_bad_values_reject_their_line_and_naive_dates_are_utc(
        self, database: Database
    ) -> None:
        rows = [
            "email,reason,created_at,expires_at,note",
            "a@example.com,soft_bounce,,2025-06-09T00:00:00,",  # naive: UTC
            "b@example.com,manual,,9999-12-31T23:00:00-05:00,",  # past 9999 in UTC
            "c@example.com,manual,0000-00-00,,",
            "d@example.com,manual,,garbage,",
            "e@example.com,manual,0001-01-01T00:00:00+01:00,,",  # before year 1 in UTC
            "f@example.com,manual,,2020-01-01,",  # in the past
            "g@example.com,nope,,,",
            "h@example.com,manual,,," + "n" * 300,
            '"Hal <hal@example.com>",manual,,,',
            "ida@bücher.de,manual,,,",
            "j" * 64 + "@" + "k" * 250 + ".com,manual,,,",
        ]
        result = await run_import(database, ("\n".join(rows) + "\n").encode())
        assert lines_of(result) == [3, 4, 5, 6, 7, 8, 12]
        assert result.inserted == 4
        async with database.session() as session:
            a = await session.get(Suppression, "a@example.com")
        assert a is not None
        assert a.expires_at == datetime(2025, 6, 9, tzinfo=UTC)
        assert await emails(database) == {
            "a@example.com",
            "h@example.com",
            "hal@example.com",
            "ida@xn--bcher-kva.de",
        }


class TestWideColumns:
    async def test_a_subtype_and_feedback_id_as_long_as_the_list_stores_are_imported(
        self, database: Database
    ) -> None:
        # The list stores SES's subtypes and feedback ids whole (migration 0004 made them
        # TEXT): an import that refused them over the old 64/256 widths lost the lines an
        # export of that same list wrote.
        subtype, feedback_id = "s" * 100, "f" * 300
        data = (
            "email,reason,subtype,feedback_id\n"
            f"ann@example.com,bounce,{subtype},{feedback_id}\nbob@example.com,bounce,,\n"
        ).encode()
        result = await run_import(database, data, size=4096)
        assert result.rejected == []
        assert result.inserted == 2
        async with database.session() as session:
            ann = await session.get(Suppression, "ann@example.com")
        assert ann is not None
        assert (ann.subtype, ann.feedback_id) == (subtype, feedback_id)
