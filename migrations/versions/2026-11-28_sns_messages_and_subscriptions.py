"""sns messages and subscriptions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sns_message",
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("topic_arn", sa.String(length=256), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("signature_version", sa.String(length=4), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_sns_message")),
    )
    with op.batch_alter_table("sns_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sns_message_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "subscription",
        sa.Column("topic_arn", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("subscribe_url", sa.Text(), nullable=True),
        sa.Column("confirmed_via", sa.String(length=8), nullable=True),
        sa.Column("last_message_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic_arn", name=op.f("pk_subscription")),
    )


def downgrade() -> None:
    op.drop_table("subscription")
    with op.batch_alter_table("sns_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sns_message_received_at"))

    op.drop_table("sns_message")
