"""suppression email prefix index

The list's "Address starts with" (q=, GET /v1/suppressions and the console) is a
``LIKE 'prefix%'`` on the address. PostgreSQL answers that from a B-tree only in the C
locale or with a pattern operator class
(https://www.postgresql.org/docs/current/indexes-opclass.html); in any other it walked the
list newest first, testing every address: 0.65 s at 1,000,000 entries for a prefix
matching a few (issue #18, bench/console_bench.py). SQLite's LIKE is another matter
(its own rules, and the walk costs a tenth as much there): PostgreSQL only.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_suppression_email_prefix",
        "suppression",
        ["email"],
        unique=False,
        postgresql_ops={"email": "varchar_pattern_ops"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_suppression_email_prefix", table_name="suppression")
