"""The list's tables as Core, and their columns in table order: one spelling for every store."""

from __future__ import annotations

from app.db import table_of
from app.models import Suppression, SuppressionChange

SUPPRESSION = table_of(Suppression)
CHANGE = table_of(SuppressionChange)

# The columns as app/models declares them: an entry's, in table order, and its
# change-log line's without the id the database gives it.
ENTRY_COLUMNS = tuple(SUPPRESSION.c.keys())
LOG_COLUMNS = tuple(column.name for column in CHANGE.c if column.name != "id")
