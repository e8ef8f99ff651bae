"""One import line's values checked and made into the entry to write (bulk_store.NewEntry)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from app import moments
from app.addresses import InvalidAddress, parse_address
from app.suppression import entries
from app.suppression.bulk_store import NewEntry
from app.suppression.transfer.columns import COLUMNS, FREE_TEXT, MAX_LENGTH
from app.vocabulary import Reason, Source


class BadLine(ValueError):
    """Why one line is rejected; the import goes on."""


_IMPORT = Source.IMPORT  # an enum member's lookup costs ~0.2 µs a line

# Each column with the longest value it takes (where PostgreSQL would refuse more) and
# whether it is free text, kept exactly as written.
_FIELDS = tuple((name, MAX_LENGTH.get(name), name in FREE_TEXT) for name in COLUMNS)


def row_from(fields: Sequence[object], *, now: datetime) -> NewEntry:
    """One line's values (in COLUMNS order, text or None) as the row to write, or BadLine."""
    values: list[str | None] = []
    for (name, limit, free), value in zip(_FIELDS, fields, strict=True):
        if value is None or value == "":
            values.append(None)
            continue
        if not isinstance(value, str):
            raise BadLine(f"{name} must be text, not {type(value).__name__}")
        _check_text(name, value)
        text = value if free else value.strip()
        if limit is not None and len(text) > limit:
            raise BadLine(f"{name} is longer than {limit} characters")
        values.append(text or None)
    (raw, reason, subtype, _source, note, created, updated, expires, code, message, feedback) = (
        values
    )
    if raw is None:
        raise BadLine("email is missing")
    email, display, domain = _address(raw)
    reason = reason or Reason.MANUAL
    created_at = _date("created_at", created)
    _date("updated_at", updated)  # checked, not kept: the row is updated now
    expires_at = _date("expires_at", expires)
    if problem := entries.entry_problem(reason, expires_at, now=now):
        raise BadLine(problem[1])
    created_at = now if created_at is None or created_at > now else created_at
    return NewEntry(
        email, display, domain, reason, subtype, code, _IMPORT, message, feedback, note,
        created_at, now, expires_at,
    )  # fmt: skip


_MESSAGE_LIMIT = MAX_LENGTH["ses_message_id"]
# No date is longer (2026-12-01T10:00:00.000001+02:00 is 32): longer text goes to
# parse_moment, which refuses what is past its own, larger, limit.
_MAX_DATE = 40
_UTC = UTC


def text_row_from(fields: Sequence[str | None], *, now: datetime) -> NewEntry:
    """row_from for values that are all text or None (a CSV line's): the same entry or
    the same BadLine, at a third of the cost when the values are ASCII, as nearly every
    list's are (row_from's checks, one value at a time, then find nothing to refuse)."""
    joined = "".join(filter(None, fields))
    if not joined.isascii() or "\x00" in joined or len(fields) != len(COLUMNS):
        return row_from(fields, now=now)
    # Every value passes _check_text: what is left is row_from's, laid out flat.
    raw, reason, subtype, _source, note, created, updated, expires, code, message, feedback = fields
    if message and len(message := message.strip()) > _MESSAGE_LIMIT:
        raise BadLine(f"ses_message_id is longer than {_MESSAGE_LIMIT} characters")
    if not raw or not (raw := raw.strip()):
        raise BadLine("email is missing")
    email, display, domain = _address(raw)
    reason = (reason and reason.strip()) or Reason.MANUAL
    created_at = _text_date("created_at", created)
    _text_date("updated_at", updated)  # checked, not kept: the row is updated now
    expires_at = _text_date("expires_at", expires)
    if problem := entries.entry_problem(reason, expires_at, now=now):
        raise BadLine(problem[1])
    created_at = now if created_at is None or created_at > now else created_at
    return NewEntry(
        email, display, domain, reason, (subtype and subtype.strip()) or None, code or None,
        _IMPORT, message or None, (feedback and feedback.strip()) or None, note or None,
        created_at, now, expires_at,
    )  # fmt: skip


def _text_date(name: str, text: str | None) -> datetime | None:
    """_date for ASCII text not yet stripped: parse_moment's answer, datetime's own
    parser called directly on the common date and parse_moment left the rest."""
    if not text or not (text := text.strip()):
        return None
    if len(text) <= _MAX_DATE:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                return moment.replace(tzinfo=_UTC)
            if moment.tzinfo is _UTC:
                return moment
    return _date(name, text)


def _check_text(name: str, value: str) -> None:
    """Refuse what neither database stores as written (so that the line, not the whole
    batch, fails): NUL (PostgreSQL text), and lone surrogates, which come from bytes
    that are not UTF-8 (lines.py) or from a JSON ``\\ud800`` escape."""
    if value.isascii():
        if "\x00" in value:
            raise BadLine(f"{name} holds a NUL character")
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        bad = value[err.start]
        what = (
            f"byte 0x{ord(bad) - 0xDC00:02x} is not UTF-8"
            if "\udc80" <= bad <= "\udcff"
            else f"\\u{ord(bad):04x} is a lone surrogate"
        )
        raise BadLine(f"{name} is not valid UTF-8 text ({what}): save the file as UTF-8") from err
    if "\x00" in value:
        raise BadLine(f"{name} holds a NUL character")


def _address(text: str) -> tuple[str, str, str]:
    """(key, display, domain) as parse_address gives them, or BadLine."""
    try:
        address = parse_address(text)
    except InvalidAddress as err:
        raise BadLine(f"bad address: {err}") from err
    return address.normalized, address.display, address.normalized.rpartition("@")[2]


def _date(name: str, text: str | None) -> datetime | None:
    """An ISO 8601 date; without an offset it is UTC (SPEC §4), as bouncer writes every date."""
    if text is None:
        return None
    try:
        return moments.parse_moment(text)
    except ValueError as err:
        raise BadLine(f"bad date in {name}: {err}") from err
