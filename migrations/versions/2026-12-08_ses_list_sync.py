"""ses list sync

SPEC §7: bouncer keeps SES's account-level suppression list in step with its own. Three
tables, and one new word:

- ses_mirror: SES's list as last read, per region and exact form (SES's management API
  matches case exactly), with the address's key beside it, and for an entry bouncer's
  own Put made, when that call ended (pushed_at);
- ses_sync_state: per region, when the list was last read whole, where the next
  incremental read starts (StartDate), the last pass and its error;
- ses_outbox: removals waiting to be deleted from SES, written in the same transaction
  as the removal so a failed call is retried by the next pass;
- ses_sync_lease: whose pass runs, renewed while it does (one pass at a time, even when
  a pass's PostgreSQL advisory lock goes with a dropped connection);
- suppression_change.action takes ``noted``: a history line saying SES holds the address
  too, which changes nothing in the entry.

Downgrading drops the four tables and the ``noted`` lines (the CHECK before this
revision refuses them): SES's list is read again whole on the next upgrade, and the
notes are written again once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled here, not imported: a migration must not change when app code does.
_ACTIONS_BEFORE = ("added", "updated", "removed")
_ACTIONS = (*_ACTIONS_BEFORE, "noted")


def _swap_action_check(values: tuple[str, ...]) -> None:
    # Batch mode: SQLite rebuilds the table with the new CHECK (copying every row through
    # it); PostgreSQL drops and adds the constraint, checking the rows already there.
    with op.batch_alter_table("suppression_change", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_suppression_change_action"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_suppression_change_action"), sa.column("action").in_(values)
        )


def upgrade() -> None:
    op.create_table(
        "ses_mirror",
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("last_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("region", "email", name=op.f("pk_ses_mirror")),
    )
    with op.batch_alter_table("ses_mirror", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ses_mirror_region"), ["region", "key"], unique=False)

    op.create_table(
        "ses_sync_state",
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("full_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pass_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("region", name=op.f("pk_ses_sync_state")),
    )
    op.create_table(
        "ses_outbox",
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("region", "key", name=op.f("pk_ses_outbox")),
    )
    op.create_table(
        "ses_sync_lease",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ses_sync_lease")),
    )
    _swap_action_check(_ACTIONS)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM suppression_change WHERE action = 'noted'"))
    _swap_action_check(_ACTIONS_BEFORE)
    op.drop_table("ses_sync_lease")
    op.drop_table("ses_outbox")
    op.drop_table("ses_sync_state")
    with op.batch_alter_table("ses_mirror", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ses_mirror_region"))
    op.drop_table("ses_mirror")
