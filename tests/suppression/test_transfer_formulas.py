"""CSV export neutralises formulas (SPEC §4) and import undoes it: the round trip is exact."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select

from app.db import Database
from app.models import Suppression, SuppressionChange
from app.suppression import transfer

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

# Values a stranger's mail server or a hostile sender can put in a cell.
HOSTILE_ADDRESSES = [
    "=cmd|'/ccalc'!a0@evil.example",
    "+1555@evil.example",
    "-2+3@evil.example",
    "'=already@evil.example",
    "''+twice@evil.example",
    "'plain@example.com",
    "ann@example.com",
]
HOSTILE_TEXT = [
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-10+20",
    "@SUM(A1:A2)",
    "\t=tab first",
    "\r=cr first",
    "'=quoted already",
    "''=quoted twice",
    "'just a quote",
    "plain, with comma",
    'say "hi"\nsecond line',
    "=",
    "'",
]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


async def once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def run_import(database: Database, data: bytes, fmt: transfer.Format) -> Any:
    return await transfer.import_(database, once(data), fmt, actor="tester", now=NOW)


async def run_export(database: Database, fmt: transfer.Format = "csv") -> str:
    return "".join([chunk async for chunk in await transfer.export(database, fmt, now=NOW)])


async def entries(database: Database) -> list[tuple[Any, ...]]:
    async with database.session() as session:
        rows = await session.scalars(select(Suppression).order_by(Suppression.email))
        return [
            (r.email, r.reason, r.note, r.diagnostic_code, r.created_at, r.expires_at) for r in rows
        ]


async def wipe(database: Database) -> None:
    async with database.session() as session:
        await session.execute(delete(SuppressionChange))
        await session.execute(delete(Suppression))


def hostile_ndjson() -> bytes:
    lines = [
        {"email": address, "reason": "bounce", "note": HOSTILE_TEXT[i % len(HOSTILE_TEXT)],
         "diagnostic_code": HOSTILE_TEXT[-1 - i % len(HOSTILE_TEXT)]}
        for i, address in enumerate(HOSTILE_ADDRESSES)
    ]  # fmt: skip
    lines += [
        {"email": f"n{i}@example.com", "note": text, "diagnostic_code": text}
        for i, text in enumerate(HOSTILE_TEXT)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


class TestFormulaCells:
    async def test_no_exported_cell_starts_a_formula(self, database: Database) -> None:
        result = await run_import(database, hostile_ndjson(), "ndjson")
        assert result.rejected == []
        exported = await run_export(database)
        for row in csv.reader(io.StringIO(exported, newline="")):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        assert "'=cmd|'/ccalc'!a0@evil.example" in exported

    async def test_export_wipe_import_export_is_exact(self, database: Database) -> None:
        await run_import(database, hostile_ndjson(), "ndjson")
        before = await entries(database)
        exported = await run_export(database)
        await wipe(database)
        result = await run_import(database, exported.encode(), "csv")
        assert (result.inserted, result.rejected) == (len(before), [])
        assert await entries(database) == before
        assert await run_export(database) == exported

    async def test_a_leading_quote_is_kept_unless_it_guards_a_formula(
        self, database: Database
    ) -> None:
        data = b"email,note\n'ann@example.com,'=x\n'=bob@example.com,'hello\n"
        result = await run_import(database, data, "csv")
        assert result.rejected == []
        notes = {e[0]: e[2] for e in await entries(database)}
        assert notes == {"'ann@example.com": "=x", "=bob@example.com": "'hello"}
