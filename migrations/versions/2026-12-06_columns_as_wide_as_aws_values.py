"""columns as wide as AWS values

A 256-character SNS topic name makes a topic ARN of up to 309 characters, over the
256 that topic_arn held: PostgreSQL refused the row and /sns answered 500, which SNS
retries for an hour and then drops. What SES copies from remote servers and ISPs
(subtypes, feedback ids, DSN status) has no documented bound: it is stored whole.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, old type, new type)
_CHANGES = (
    ("sns_message", "topic_arn", sa.String(length=256), sa.String(length=1024)),
    ("subscription", "topic_arn", sa.String(length=256), sa.String(length=1024)),
    ("event", "subtype", sa.String(length=64), sa.Text()),
    ("event", "bounce_type", sa.String(length=32), sa.Text()),
    ("event", "feedback_id", sa.String(length=256), sa.Text()),
    ("event", "status", sa.String(length=64), sa.Text()),
    ("suppression", "subtype", sa.String(length=64), sa.Text()),
    ("suppression", "feedback_id", sa.String(length=256), sa.Text()),
)


def _alter(*, widen: bool) -> None:
    tables = dict.fromkeys(table for table, *_ in _CHANGES)
    for table in tables:
        # Batch mode: SQLite rebuilds the table; PostgreSQL runs plain ALTER COLUMN.
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, old, new in _CHANGES:
                if name == table:
                    batch_op.alter_column(
                        column,
                        existing_type=old if widen else new,
                        type_=new if widen else old,
                    )


def upgrade() -> None:
    _alter(widen=True)


def downgrade() -> None:
    _alter(widen=False)
