"""What a list file holds: the formats, the columns, the names a header may give them,
and the formula guard on CSV cells."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

from app.models import SES_MESSAGE_ID_LENGTH

Format = Literal["csv", "ndjson"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson")
MEDIA_TYPES: Mapping[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
}
# The columns of a list file, in the order export writes them and a CSV without a header is
# read. A contract with every file already exported (SPEC §4: export -> import changes
# nothing), so it is declared here, once, rather than read off the table: a column added
# to the table does not move these. Each is a column of the suppression table (a test
# holds them so); the address's display and domain forms are not exported.
COLUMNS = (
    "email",
    "reason",
    "subtype",
    "source",
    "note",
    "created_at",
    "updated_at",
    "expires_at",
    "diagnostic_code",
    "ses_message_id",
    "feedback_id",
)
Record = tuple[int, Sequence[object] | str]
"""What a format's reader makes of one line: (its number, its values in COLUMNS order,
or why it is unreadable)."""
FREE_TEXT = frozenset({"note", "diagnostic_code"})
"""Kept exactly as written (spaces included), so export -> import changes nothing."""
# Column widths in app/models: PostgreSQL refuses longer values and would fail the batch.
# subtype and feedback_id are TEXT (migration 0004): whatever an export wrote imports.
MAX_LENGTH = {"ses_message_id": SES_MESSAGE_ID_LENGTH}

# The address column as the usual tools name it (Mailchimp "Email Address", Outlook
# "E-mail Address", Sendy and most CRMs "Email"), after header_key. "address" last: a
# Mailchimp export also has a postal "Address" column next to "Email Address".
ADDRESS_NAMES = ("email", "email address", "e mail", "e mail address", "address")
ADDRESS_NAMES_SHOWN = "email, Email Address, E-mail, E-mail Address, email_address, Address"


def header_key(name: str) -> str:
    """A header cell compared without case, surrounding spaces, or ``_``/``-``/space choices."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower()).strip()


_COLUMN_KEYS = {header_key(name): name for name in COLUMNS}


def column_names(cells: list[str]) -> tuple[str | None, ...]:
    """Each header cell's column (None: a column bouncer ignores), or ValueError."""
    keys = [header_key(cell) for cell in cells]
    address = next((keys.index(n) for n in ADDRESS_NAMES if n in keys), None)
    if address is None:
        raise ValueError(
            "the first CSV line is neither an address nor a header naming an email column; "
            f"name the address column one of: {ADDRESS_NAMES_SHOWN} (any case)"
        )
    names = [None if i != address and key in ADDRESS_NAMES else _COLUMN_KEYS.get(key)
             for i, key in enumerate(keys)]  # fmt: skip
    names[address] = "email"
    known = [name for name in names if name is not None]
    if len(set(known)) != len(known):
        raise ValueError("the CSV header names a column twice")
    return tuple(names)


# SPEC §4: a spreadsheet runs a cell starting with one of these (OWASP "CSV injection").
# Export puts a ' before such a cell, and before one that is already quotes and then one
# of these, so that import, which takes exactly one ' off the same cells, gives back the
# text as it was: "'=x" exports as "''=x" and imports as "'=x"; "'ann@x" is left alone.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def guarded(text: str) -> str:
    return "'" + text if _FORMULA.match(text) else text


def unguarded(text: str) -> str:
    return text[1:] if text[:1] == "'" and _FORMULA.match(text, 1) else text
