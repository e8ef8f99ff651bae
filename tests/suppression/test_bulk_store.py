"""The column lists: one declaration each, held to the tables (app/models)."""

from __future__ import annotations

import json

import httpx

from app.db import table_of
from app.models import Suppression, SuppressionChange
from app.suppression import bulk_store
from app.suppression.transfer import COLUMNS
from tests.conftest import READ, WRITE


def test_a_new_entry_has_the_suppression_tables_columns_in_its_order() -> None:
    assert bulk_store.NewEntry._fields == tuple(table_of(Suppression).c.keys())
    assert bulk_store.NewEntry._fields == bulk_store.ENTRY_COLUMNS


def test_a_change_log_line_is_the_change_tables_columns_but_its_id() -> None:
    names = tuple(table_of(SuppressionChange).c.keys())
    assert tuple(n for n in names if n != "id") == bulk_store.LOG_COLUMNS
    # bulk_store._log writes its lines positionally, in this order.
    assert bulk_store.LOG_COLUMNS == (
        "email",
        "action",
        "actor",
        "reason",
        "expires_at",
        "note",
        "at",
    )


def test_the_export_columns_are_the_tables_but_the_address_forms() -> None:
    # The export's order is its own contract (transfer/columns.py); its names are columns.
    assert set(COLUMNS) == set(bulk_store.ENTRY_COLUMNS) - {"display", "domain"}
    assert len(COLUMNS) == len(set(COLUMNS))


class TestWholeSecondDates:
    """An imported date on a whole second is stored as Core stores it, so SQLite (which
    compares the text) filters and pages it like an entry added one at a time."""

    async def test_an_import_at_a_whole_second_pages_and_filters_like_a_put(
        self, client: httpx.AsyncClient
    ) -> None:
        lines = [
            {"email": f"u{n}@example.com", "reason": "bounce", "created_at": "2026-02-06T12:00Z"}
            for n in range(5)
        ]
        body = "".join(json.dumps(line) + "\n" for line in lines)
        imported = await client.post(
            "/v1/suppressions/import", content=body.encode(), params={"format": "ndjson"},
            headers=WRITE,
        )  # fmt: skip
        assert imported.json()["inserted"] == 5
        seen: list[str] = []
        cursor = None
        for _ in range(5):  # a cursor that never moves on would loop for ever
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/v1/suppressions", params=params, headers=READ)).json()
            seen += [item["email"] for item in page["items"]]
            if (cursor := page["next_cursor"]) is None:
                break
        assert seen == [f"u{n}@example.com" for n in reversed(range(5))]
        since = await client.get(
            "/v1/suppressions", params={"since": "2026-02-06T12:00:00Z"}, headers=READ
        )
        assert len(since.json()["items"]) == 5
