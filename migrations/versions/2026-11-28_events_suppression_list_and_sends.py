"""events, suppression list and sends

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("sns_message_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("subtype", sa.String(length=64), nullable=True),
        sa.Column("bounce_type", sa.String(length=32), nullable=True),
        sa.Column("ses_message_id", sa.String(length=256), nullable=True),
        sa.Column("feedback_id", sa.String(length=256), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_display", sa.String(length=320), nullable=True),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("diagnostic_code", sa.Text(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_event_dedupe_key")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_email"), ["email", "occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_event_ses_message_id"), ["ses_message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_event_verdict"), ["verdict", "occurred_at"], unique=False
        )

    op.create_table(
        "recipient_state",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("soft_bounce_count", sa.Integer(), nullable=False),
        sa.Column("last_soft_bounce_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("soft_reset_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_recipient_state")),
    )
    op.create_table(
        "send",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ses_message_id", sa.String(length=256), nullable=True),
        sa.Column("sender", sa.String(length=998), nullable=False),
        sa.Column("sent_to", sa.JSON(), nullable=False),
        sa.Column("suppressed", sa.JSON(), nullable=False),
        sa.Column("recipient_count", sa.Integer(), nullable=False),
        sa.Column("configuration_set", sa.String(length=256), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("ses_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send")),
    )
    with op.batch_alter_table("send", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_send_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_send_ses_message_id"), ["ses_message_id"], unique=False
        )

    op.create_table(
        "suppression",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display", sa.String(length=320), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("subtype", sa.String(length=64), nullable=True),
        sa.Column("diagnostic_code", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("ses_message_id", sa.String(length=256), nullable=True),
        sa.Column("feedback_id", sa.String(length=256), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_suppression")),
    )
    with op.batch_alter_table("suppression", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suppression_created_at"), ["created_at", "email"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_suppression_domain"), ["domain"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_suppression_reason"), ["reason", "created_at"], unique=False
        )

    op.create_table(
        "suppression_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_change")),
    )
    with op.batch_alter_table("suppression_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suppression_change_email"), ["email", "at"], unique=False
        )



def downgrade() -> None:
    with op.batch_alter_table("suppression_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppression_change_email"))

    op.drop_table("suppression_change")
    with op.batch_alter_table("suppression", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppression_reason"))
        batch_op.drop_index(batch_op.f("ix_suppression_domain"))
        batch_op.drop_index(batch_op.f("ix_suppression_created_at"))

    op.drop_table("suppression")
    with op.batch_alter_table("send", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_send_ses_message_id"))
        batch_op.drop_index(batch_op.f("ix_send_created_at"))

    op.drop_table("send")
    op.drop_table("recipient_state")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_verdict"))
        batch_op.drop_index(batch_op.f("ix_event_ses_message_id"))
        batch_op.drop_index(batch_op.f("ix_event_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_event_email"))

    op.drop_table("event")
