"""The column lists: one declaration each, held to the tables (app/models.py)."""

from __future__ import annotations

from app.db import table_of
from app.models import Suppression, SuppressionChange
from app.suppression import bulk_store
from app.suppression.transfer import COLUMNS


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
