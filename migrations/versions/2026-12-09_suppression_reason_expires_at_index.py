"""suppression reason expires_at index

The overview's "Entries by reason" and the /metrics gauges count the active entries of
each reason. With only the (reason, created_at) index that count read every row of the
table: 0.4 s on PostgreSQL and 4 s on SQLite at 1,000,000 entries (issue #18,
bench/console_bench.py). On (reason, expires_at) each reason's entries that never
expire, and those that expire later, are two ranges of the index, counted without the
table. Cheap to keep: most entries share a few keys (a reason, no expiry), which
PostgreSQL deduplicates and both databases append in insertion order.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_suppression_reason_expires_at", "suppression", ["reason", "expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_suppression_reason_expires_at", table_name="suppression")
