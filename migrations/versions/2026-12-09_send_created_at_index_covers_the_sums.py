"""send created_at index covers the sums

The rates' denominator is the recipients of the sends SES accepted between two moments:
sum(recipient_count) where outcome is sent. On (created_at) alone each send in the range
was a table lookup: with 90,909 sends in 30 days the overview's sums took 180 ms on
SQLite (issue #18, bench/console_bench.py), and a sender writing one recipient a message
has ten times as many. On (created_at, outcome, recipient_count) the range is read from
the index alone (SQLite: a covering index; PostgreSQL: an index-only scan), and whatever
else orders sends by date still can. Still one index per send written.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_send_created_at", table_name="send")
    op.create_index(
        "ix_send_created_at", "send", ["created_at", "outcome", "recipient_count"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_send_created_at", table_name="send")
    op.create_index("ix_send_created_at", "send", ["created_at"], unique=False)
