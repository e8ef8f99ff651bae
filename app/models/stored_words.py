"""The column type of a stored word: one of app.vocabulary's StrEnums, as the tables of
app.models hold it."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


def _values(words: type[StrEnum]) -> list[str]:
    # Stored as the value ("soft_bounce"), not the member's name (SOFT_BOUNCE).
    return [word.value for word in words]


def stored_word(words: type[StrEnum], column: str, length: int) -> Enum:
    """A column of one of app.vocabulary's words: VARCHAR(length) holding the value, and a
    CHECK constraint named ck_<table>_<column> (migration 0006) admitting only the values.

    sqlalchemy's Enum rather than String plus a CheckConstraint: one declaration gives the
    CHECK and hands the enum member back on reads, so Mapped[Reason] is what a row holds.
    Not a native ENUM type: a new word is then a CHECK swap on both databases, with no
    ALTER TYPE on PostgreSQL. The type compiles to the VARCHAR it replaced, so Alembic's
    type comparison sees no change (and it does not compare CHECK constraints:
    tests/test_migrations.py does). Strings outside the enum are not refused here
    (validate_strings=False): a filter on an unknown value finds nothing, as before, and a
    write of one is refused by the database's CHECK.
    """
    return Enum(
        words,
        name=column,
        length=length,
        native_enum=False,
        create_constraint=True,
        validate_strings=False,
        values_callable=_values,
    )
