"""The column values of a suppression entry and of a change-history line, as written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.db import storable
from app.models import SES_MESSAGE_ID_LENGTH
from app.suppression.effects import ChangeLine, Entry


def entry_texts(entry: Entry) -> dict[str, Any]:
    # Text from SES may hold what a database refuses (db.storable); clipped where written.
    return {
        "subtype": storable(entry.subtype),
        "diagnostic_code": storable(entry.diagnostic_code),
        "ses_message_id": storable(entry.ses_message_id, limit=SES_MESSAGE_ID_LENGTH),
        "feedback_id": storable(entry.feedback_id),
    }


def entry_values(entry: Entry, *, now: datetime) -> dict[str, Any]:
    return {
        "email": entry.email,
        "display": entry.display,
        "domain": entry.domain,
        "reason": entry.reason,
        "source": entry.source,
        "note": entry.note,
        "created_at": now,
        "updated_at": now,
        "expires_at": entry.expires_at,
        **entry_texts(entry),
    }


def change_values(line: ChangeLine, *, now: datetime) -> dict[str, Any]:
    return {
        "email": line.email,
        "action": line.action.value,
        "actor": line.actor,
        "reason": line.reason,
        "expires_at": line.expires_at,
        "note": line.note,
        "at": now,
    }
