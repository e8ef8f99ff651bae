"""change feed and webhooks

SPEC §10: every change to the list, and every send refused for suppression, is an event
of a feed (GET /v1/changes) that webhooks deliver.

- change_event: the feed. Its rows for the list's changes are written by a trigger on
  suppression_change, in the statement (so the transaction) that writes the history
  line: every writer (the SNS path, the API, imports, the SES sync, the bulk paths) gets
  its event without a second code path to forget. On PostgreSQL a statement trigger
  with a transition table, one INSERT … SELECT per statement however many lines a bulk
  import writes; SQLite has row triggers only. ``noted`` lines change no entry: no event.
  The entry's columns (source, subtype, the SES ids) are read from the row the same
  statement's writer has just written; a removal's row is gone, so its event has none.
- change_event.uid ("evt_" and 32 hex digits) is the database's default; position is
  given by the sequencer once the event's transaction committed (activity.change_feed).
- webhook, webhook_delivery: the endpoints and each event's delivery to each.
- change_sweep: how far the expiry sweep has looked, an (expires_at, email) pair it
  resumes after; suppression gets an (expires_at, email) index for that walk.
- suppression_change.action takes ``expired``, the sweep's history line.

Downgrading drops all of it and the ``expired`` lines.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled here, not imported: a migration must not change when app code does.
_ACTIONS_BEFORE = ("added", "updated", "removed", "noted")
_ACTIONS = (*_ACTIONS_BEFORE, "expired")
_TYPES = (
    "suppression.added",
    "suppression.updated",
    "suppression.removed",
    "suppression.expired",
    "send.suppressed",
)
_REASONS = ("bounce", "soft_bounce", "complaint", "unsubscribe", "manual")
_SOURCES = ("sns", "api", "cli", "import", "sync")
_STATUSES = ("pending", "delivered", "failed")

_FEED_COLUMNS = (
    "type, email, reason, subtype, source, actor, note, expires_at, ses_message_id,"
    " feedback_id, at"
)

_SQLITE_TRIGGER = f"""
CREATE TRIGGER suppression_change_feed AFTER INSERT ON suppression_change
FOR EACH ROW WHEN NEW.action <> 'noted'
BEGIN
    INSERT INTO change_event ({_FEED_COLUMNS})
    SELECT 'suppression.' || NEW.action, NEW.email, NEW.reason, s.subtype, s.source,
           NEW.actor, NEW.note, NEW.expires_at, s.ses_message_id, s.feedback_id, NEW.at
    FROM (SELECT NEW.email AS email) AS line
    LEFT JOIN suppression AS s ON s.email = line.email;
END
"""

_PG_FUNCTION = f"""
CREATE FUNCTION suppression_change_feed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_event ({_FEED_COLUMNS})
    SELECT 'suppression.' || line.action, line.email, line.reason, s.subtype, s.source,
           line.actor, line.note, line.expires_at, s.ses_message_id, s.feedback_id, line.at
    FROM new_lines AS line
    LEFT JOIN suppression AS s ON s.email = line.email
    WHERE line.action <> 'noted';
    RETURN NULL;
END
$$
"""

_PG_TRIGGER = """
CREATE TRIGGER suppression_change_feed AFTER INSERT ON suppression_change
REFERENCING NEW TABLE AS new_lines
FOR EACH STATEMENT EXECUTE FUNCTION suppression_change_feed()
"""


def _in(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    return sa.CheckConstraint(sa.column(column).in_(values), name=op.f(f"ck_change_event_{column}"))


def _swap_action_check(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("suppression_change", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_suppression_change_action"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_suppression_change_action"), sa.column("action").in_(values)
        )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        uid = sa.text("'evt_' || replace(gen_random_uuid()::text, '-', '')")
    else:
        uid = sa.text("('evt_' || lower(hex(randomblob(16))))")
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "change_event",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=36), server_default=uid, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("subtype", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ses_message_id", sa.String(length=256), nullable=True),
        sa.Column("feedback_id", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _in("type", _TYPES),
        _in("reason", _REASONS),
        _in("source", _SOURCES),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_event")),
    )
    with op.batch_alter_table("change_event", schema=None) as batch_op:
        batch_op.create_index("ix_change_event_position", ["position"], unique=True)
        batch_op.create_index(
            "ix_change_event_unplaced",
            ["id"],
            postgresql_where=sa.text("position IS NULL"),
            sqlite_where=sa.text("position IS NULL"),
        )

    op.create_table(
        "webhook",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("feed_position", sa.BigInteger(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            sa.column("status").in_(_STATUSES), name=op.f("ck_webhook_delivery_status")
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhook.id"],
            name=op.f("fk_webhook_delivery_webhook_id_webhook"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_delivery_status"), ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_delivery_webhook_id"), ["webhook_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_delivery_created_at"), ["created_at"], unique=False
        )
    op.create_table(
        "change_sweep",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("done_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_email", sa.String(length=320), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_sweep")),
    )
    with op.batch_alter_table("suppression", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suppression_expires_at"), ["expires_at", "email"]
        )
    _swap_action_check(_ACTIONS)
    # After the swap: SQLite's batch mode rebuilds suppression_change, dropping triggers.
    if postgres:
        op.execute(sa.text(_PG_FUNCTION))
        op.execute(sa.text(_PG_TRIGGER))
    else:
        op.execute(sa.text(_SQLITE_TRIGGER))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("DROP TRIGGER suppression_change_feed ON suppression_change"))
        op.execute(sa.text("DROP FUNCTION suppression_change_feed()"))
    else:
        op.execute(sa.text("DROP TRIGGER suppression_change_feed"))
    op.execute(sa.text("DELETE FROM suppression_change WHERE action = 'expired'"))
    _swap_action_check(_ACTIONS_BEFORE)
    with op.batch_alter_table("suppression", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppression_expires_at"))
    op.drop_table("change_sweep")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook")
    op.drop_table("change_event")
