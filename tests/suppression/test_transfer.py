"""CSV and NDJSON import and export of the whole list, through the service functions."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.db import Database
from app.errors import InvalidInput
from app.models import Suppression, SuppressionChange
from app.outages import is_database_outage
from app.suppression import bulk_store, pg_bulk, transfer
from app.suppression.transfer import importing

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


async def chunked(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    """The body in small pieces, so lines and UTF-8 sequences straddle chunks."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def run_import(
    database: Database, data: bytes, fmt: transfer.Format = "csv", *, size: int = 7
) -> transfer.ImportResult:
    return await transfer.import_(database, chunked(data, size), fmt, actor="tester", now=NOW)


async def run_export(database: Database, fmt: transfer.Format = "csv") -> str:
    return "".join([chunk async for chunk in await transfer.export(database, fmt, now=NOW)])


async def count(database: Database, model: type[Suppression] | type[SuppressionChange]) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def make_csv(lines: Iterable[str]) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode()


class TestRoundTrip:
    async def test_100k_rows_out_and_back_in(self, database: Database, database_url: str) -> None:
        n = 100_000
        lines = ["email,reason,note,expires_at"]
        later = (NOW + timedelta(days=3)).isoformat()
        for i in range(n):
            reason = ("bounce", "complaint", "manual", "soft_bounce")[i % 4]
            expires = later if reason == "soft_bounce" else ""
            note = '"two\nlines, ""quoted"""' if i % 1000 == 0 else ""
            lines.append(f"user{i}@example{i % 97}.com,{reason},{note},{expires}")
        data = make_csv(lines)

        started = time.perf_counter()
        first = await run_import(database, data, size=64 * 1024)
        imported = time.perf_counter() - started
        assert (first.inserted, first.updated, first.rejected) == (n, 0, [])

        started = time.perf_counter()
        exported = await run_export(database)
        exported_in = time.perf_counter() - started
        elapsed = imported + exported_in
        print(f"import {imported:.1f} s, export {exported_in:.1f} s")  # noqa: T201
        print(f"\n100k round trip on {database_url.split(':')[0]}: {elapsed:.1f} s")  # noqa: T201
        assert exported.count("\n") == n + 1 + n // 1000  # header, rows, notes' newlines

        # Importing a list's own export changes nothing.
        again = await run_import(database, exported.encode(), size=64 * 1024)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, n)
        assert again.rejected_total == 0
        assert await count(database, SuppressionChange) == n


class TestCsvImport:
    async def test_bad_lines_are_reported_and_the_rest_goes_in(self, database: Database) -> None:
        data = "\ufeff".encode() + make_csv(
            [
                "Email,Reason,Note,Expires_At,Extra",
                "ann@example.com,bounce,first,,x",
                "not-an-address,bounce,,,x",
                "bob@example.com,spam,,,x",
                "cy@example.com,manual,,tomorrow,x",
                "dee@example.com,manual",
                "eve@example.com,,,,x",
                '"Fay <Fay@Example.com>",complaint,"multi',
                'line note",,x',
                "gus@example.com,manual,,2020-01-01T00:00:00Z,x",
                "",
                "hal@example.com,soft_bounce,,2025-06-09T00:00:00,x",
            ]
        )
        result = await run_import(database, data)
        assert result.rejected == [
            {"line": 3, "error": result.rejected[0]["error"]},
            {"line": 4, "error": result.rejected[1]["error"]},
            {"line": 5, "error": result.rejected[2]["error"]},
            {"line": 6, "error": "wrong column count: expected 5, found 2"},
            {"line": 10, "error": "expires_at is in the past"},
        ]
        assert result.rejected[0]["error"].startswith("bad address:")
        assert result.rejected[1]["error"].startswith("unknown reason 'spam'")
        assert result.rejected[2]["error"].startswith("bad date in expires_at")
        assert (result.inserted, result.updated, result.rejected_total) == (4, 0, 5)

        async with database.session() as session:
            rows = {r.email: r for r in await session.scalars(select(Suppression))}
        assert set(rows) == {
            "ann@example.com",
            "eve@example.com",
            "fay@example.com",
            "hal@example.com",
        }
        assert rows["eve@example.com"].reason == "manual"
        # The line break inside the quotes is kept as the file has it (CRLF here): a note
        # written with one exports exactly so, and export -> import changes nothing.
        assert rows["fay@example.com"].note == "multi\r\nline note"
        assert rows["fay@example.com"].display == "Fay@Example.com"
        assert rows["hal@example.com"].expires_at == datetime(2025, 6, 9, tzinfo=UTC)
        assert all(r.source == "import" for r in rows.values())

    async def test_reimport_is_idempotent(self, database: Database) -> None:
        data = make_csv(["ann@example.com,bounce", "bob@example.com,"])
        await run_import(database, data)
        again = await run_import(database, data)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
        assert await count(database, SuppressionChange) == 2

    async def test_a_changed_line_updates_its_entry(self, database: Database) -> None:
        await run_import(database, make_csv(["ann@example.com,bounce", "bob@example.com"]))
        result = await run_import(database, make_csv(["email,reason", "ann@example.com,complaint"]))
        assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)

    async def test_headerless_address_list(self, database: Database) -> None:
        result = await run_import(database, b"ann@example.com\nbob@example.com")
        assert (result.inserted, result.rejected) == (2, [])

    async def test_repeated_address_in_one_file_is_written_once(self, database: Database) -> None:
        data = make_csv(["ann@example.com,bounce", "ANN@example.com,complaint"])
        result = await run_import(database, data)
        assert (result.inserted, result.updated, result.unchanged) == (1, 0, 1)
        assert await count(database, Suppression) == 1

    async def test_a_header_without_an_email_column_is_refused(self, database: Database) -> None:
        with pytest.raises(InvalidInput, match="email column"):
            await run_import(database, make_csv(["name,reason", "ann@example.com,bounce"]))

    async def test_rejections_are_capped_but_counted(self, database: Database) -> None:
        n = transfer.MAX_REJECTED + 5
        result = await run_import(
            database, make_csv(["email", *(f"bad{i}" for i in range(n))]), size=4096
        )
        assert len(result.rejected) == transfer.MAX_REJECTED
        assert result.rejected_total == n


class TestNdjson:
    async def test_bad_json_line_is_reported(self, database: Database) -> None:
        lines = [
            json.dumps({"email": "ann@example.com", "reason": "complaint", "note": "n"}),
            "{not json",
            "[1, 2]",
            json.dumps({"email": "bob@example.com", "reason": 5}),
            "",
            json.dumps({"email": "cy@example.com", "ses_message_id": "x" * 257}),
        ]
        result = await run_import(database, "\n".join(lines).encode(), "ndjson")
        assert [r["line"] for r in result.rejected] == [2, 3, 4, 6]
        assert result.rejected[0]["error"].startswith("invalid JSON")
        assert result.rejected[1]["error"] == "expected a JSON object"
        assert result.inserted == 1

    async def test_export_then_import_elsewhere(
        self, database: Database, databases: object
    ) -> None:
        await run_import(database, make_csv(["email,reason,note", 'ann@example.com,bounce,"a\nb"']))
        text = await run_export(database, "ndjson")
        [line] = text.splitlines()
        assert json.loads(line)["note"] == "a\nb"
        assert set(json.loads(line)) == set(transfer.COLUMNS)
        again = await run_import(database, text.encode(), "ndjson")
        assert again.unchanged == 1


class TestExport:
    async def test_expired_entries_are_left_out(self, database: Database) -> None:
        await run_import(
            database,
            make_csv(
                ["email,expires_at", f"ann@example.com,{(NOW + timedelta(hours=1)).isoformat()}"]
            ),
        )
        later = NOW + timedelta(hours=2)
        chunks = await transfer.export(database, "csv", now=later)
        assert "".join([c async for c in chunks]).splitlines() == [",".join(transfer.COLUMNS)]

    async def test_an_empty_list_is_a_header(self, database: Database) -> None:
        assert await run_export(database, "ndjson") == ""
        assert (await run_export(database)).strip() == ",".join(transfer.COLUMNS)


class TestExportDates:
    async def test_dates_are_written_as_python_writes_them(self, database: Database) -> None:
        # The database formats the dates (app/suppression/transfer/exporting.iso_text): the text
        # must be what datetime.isoformat() gives, microseconds or none, any year.
        await run_import(
            database,
            make_csv(
                [
                    "email,reason,created_at,expires_at",
                    "a@example.com,manual,2020-01-02T03:04:05+00:00,",
                    "b@example.com,manual,2020-01-02T03:04:05.000123Z,",
                    "c@example.com,soft_bounce,0999-12-31T23:59:59.999999+00:00,"
                    "2025-06-02T00:00:00.5+02:00",
                ]
            ),
        )
        async with database.session() as session:
            stored = {r.email: r for r in await session.scalars(select(Suppression))}
        expected = {
            email: {
                "created_at": row.created_at.isoformat(),
                "updated_at": row.updated_at.isoformat(),
                "expires_at": row.expires_at.isoformat() if row.expires_at else "",
            }
            for email, row in stored.items()
        }
        assert expected["b@example.com"]["created_at"] == "2020-01-02T03:04:05.000123+00:00"
        assert expected["c@example.com"]["created_at"] == "0999-12-31T23:59:59.999999+00:00"
        rows = csv.DictReader(io.StringIO(await run_export(database)))
        assert {r["email"]: {k: r[k] for k in expected[r["email"]]} for r in rows} == expected
        lines = [json.loads(line) for line in (await run_export(database, "ndjson")).splitlines()]
        assert {
            line["email"]: {k: line[k] or "" for k in expected[line["email"]]} for line in lines
        } == expected


class TestExportText:
    async def test_ndjson_lines_are_what_json_dumps_writes(self, database: Database) -> None:
        notes = [
            'say "no"',
            "back\\slash",
            "two\nlines",
            "tab\there",
            "é 中文 🎉",
            "a\u2028b",
            "100 %s",
            "bell\x07",
        ]
        lines = [json.dumps({"email": f"n{i}@example.com", "note": n}) for i, n in enumerate(notes)]
        await run_import(database, "\n".join(lines).encode(), "ndjson")
        # Split at \n only: str.splitlines() would also split at the U+2028 in a note.
        exported = (await run_export(database, "ndjson")).split("\n")
        assert exported.pop() == ""
        assert [json.loads(line)["note"] for line in exported] == notes
        for line in exported:
            assert line == json.dumps(json.loads(line), ensure_ascii=False)


class TestBatches:
    async def test_an_address_again_in_a_later_batch_is_written_once(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A batch is written while the next is read; the file's first line for an
        # address wins, whichever batch the later ones fall in.
        monkeypatch.setattr(importing, "IMPORT_BATCH", 2)
        lines = ["ann@example.com,bounce", "bob@example.com,", "cy@example.com,"]
        data = make_csv([*lines, "ANN@example.com,complaint", "dee@example.com,"])
        result = await run_import(database, data)
        assert (result.inserted, result.updated, result.unchanged) == (4, 0, 1)
        async with database.session() as session:
            ann = await session.get(Suppression, "ann@example.com")
        assert ann is not None
        assert ann.reason == "bounce"
        assert await count(database, SuppressionChange) == 4

    async def test_a_failed_batch_stops_the_import_and_the_ones_before_stay(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(importing, "IMPORT_BATCH", 2)
        insert_new = bulk_store.insert_entries
        calls = 0

        async def fail_second(*args: object, **kwargs: object) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise RuntimeError("the disk is full")
            await insert_new(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(bulk_store, "insert_entries", fail_second)
        with pytest.raises(RuntimeError, match="disk is full"):
            await run_import(database, make_csv(f"u{i}@example.com" for i in range(7)))
        assert await count(database, Suppression) == 2

    @pytest.mark.postgres
    async def test_a_large_import_refreshes_the_planner_statistics(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(importing, "ANALYZE_AFTER", 3)
        await run_import(database, make_csv(f"u{i}@example.com" for i in range(3)))
        async with database.session() as session:
            tuples = await session.scalar(
                text("SELECT reltuples FROM pg_class WHERE relname = 'suppression'")
            )
        assert tuples == 3  # -1 (never analysed) until ANALYZE


class TestDriverErrors:
    """COPY and the export's reads use asyncpg directly; its errors read as SQLAlchemy's."""

    def test_a_lost_connection_is_an_outage(self) -> None:
        lost = asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle of operation")
        with pytest.raises(DBAPIError) as caught, pg_bulk.driver_errors("COPY suppression"):
            raise lost
        assert caught.value.orig is lost
        assert is_database_outage(caught.value)

    def test_a_failed_statement_is_not(self) -> None:
        failed = asyncpg.exceptions.UniqueViolationError("duplicate key value")
        with pytest.raises(DBAPIError) as caught, pg_bulk.driver_errors("COPY suppression"):
            raise failed
        assert not is_database_outage(caught.value)

    @pytest.mark.parametrize("error", [ConnectionResetError("reset by peer"), ValueError("bug")])
    def test_other_errors_go_through_as_they_are(self, error: Exception) -> None:
        with pytest.raises(type(error)), pg_bulk.driver_errors("COPY suppression"):
            raise error
