"""stored words checked

Reasons, sources, verdicts, actions, statuses, outcomes and types were bare strings whose
allowed values lived in comments: a typo in code, or a hand-run UPDATE, stored a word no
reader knows. Each column now carries a CHECK constraint admitting exactly the values of
its app.vocabulary enum. The columns stay VARCHAR of the same width (no native ENUM type:
a new word is then a CHECK swap on both databases, with no ALTER TYPE on PostgreSQL).

Every value bouncer has ever written is in these lists, so an existing database upgrades
without touching a row. The lists are spelled here, not imported: a migration must not
change when app code does. A word added to an enum later needs a migration that swaps
that column's CHECK (tests/test_migrations.py fails until it does).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REASONS = ("bounce", "soft_bounce", "complaint", "unsubscribe", "manual")

# table -> {column: allowed values}; each CHECK is named ck_<table>_<column>, the name
# app.models' columns give it through the naming convention.
_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "sns_message": {
        "type": ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"),
    },
    "subscription": {
        "status": ("pending", "confirmed", "unsubscribed", "failed"),
        "confirmed_via": ("api", "url"),
    },
    "event": {
        "type": (
            "Bounce",
            "Complaint",
            "Delivery",
            "Send",
            "Reject",
            "Open",
            "Click",
            "RenderingFailure",
            "DeliveryDelay",
            "Subscription",
            "SetupNotice",
            "Unknown",
        ),
        "verdict": (
            "hard_bounce",
            "soft_bounce",
            "complaint",
            "unsubscribe",
            "delivery",
            "record_only",
        ),
    },
    "suppression": {
        "reason": _REASONS,
        "source": ("sns", "api", "cli", "import", "sync"),
    },
    "suppression_change": {
        "action": ("added", "updated", "removed"),
        # NULL (a removal) passes: a CHECK fails only when its condition is false.
        "reason": _REASONS,
    },
    "send": {
        "outcome": ("sent", "all_suppressed", "ses_error"),
    },
}


def upgrade() -> None:
    for table, columns in _WORDS.items():
        # Batch mode: SQLite rebuilds the table with the constraints (copying every row
        # through them); PostgreSQL runs ALTER TABLE … ADD CONSTRAINT, which checks the
        # rows already there.
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), sa.column(column).in_(values)
                )


def downgrade() -> None:
    for table, columns in _WORDS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
