"""Reading the console's write forms: a field as text, and the rules a note must meet."""

from __future__ import annotations

from starlette.datastructures import FormData

# The API's limit on a note (PUT /v1/suppressions/{email} and DELETE …?note=).
MAX_NOTE = 2000


def text(form: FormData, name: str) -> str:
    """The field's value stripped, "" when it is missing (or is a file, which no console
    form sends)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def note_problem(note: str) -> str | None:
    """What is wrong with a note, or None. PostgreSQL text holds no U+0000 (SQLite does):
    refused on both, as the API refuses it."""
    if len(note) > MAX_NOTE:
        return f"at most {MAX_NOTE} characters (this one has {len(note)})"
    if "\x00" in note:
        return "it contains a NUL character (U+0000)"
    return None


def shown(value: str) -> str:
    """A value put back into a form: without the control characters (a NUL, say) that a
    page cannot carry, line breaks kept."""
    return "".join(c for c in value if c.isprintable() or c in "\n\t")
