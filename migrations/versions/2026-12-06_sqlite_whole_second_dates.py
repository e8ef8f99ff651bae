"""sqlite whole second dates

On SQLite a date is text, compared as text. Imports and the SES list sync wrote a moment
that falls on a whole second as ``2026-12-01 12:00:00`` (sqlite3's own adapter) where
every other write stores ``2026-12-01 12:00:00.000000``; the short form sorts before its
own second, so ``since=`` that second missed the entry and a list cursor resting on it
never moved past it. The writer is fixed; this pads the rows already written. PostgreSQL
stores timestamps, not text: nothing to do there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns the bulk writer (app/suppression/bulk_store.py) filled; spelled here, not
# imported: a migration must not change when app code does.
_WRITTEN = {
    "suppression": ("created_at", "updated_at", "expires_at"),
    "suppression_change": ("expires_at", "at"),
}
# "YYYY-MM-DD HH:MM:SS": a whole second without its fraction.
_SHORT = 19


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in _WRITTEN.items():
        for column in columns:
            op.execute(
                f"UPDATE {table} SET {column} = {column} || '.000000' "  # noqa: S608  (fixed names)
                f"WHERE length({column}) = {_SHORT}"
            )


def downgrade() -> None:
    # The padded form is what every other write stores: nothing to undo.
    pass
