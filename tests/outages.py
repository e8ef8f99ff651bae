"""Databases that cannot be reached, for the 503 paths."""

from __future__ import annotations

from pathlib import Path

from app.db import Database


def unreachable_database(like_url: str, tmp_path: Path) -> Database:
    """A Database of the same kind as ``like_url`` whose every connection fails."""
    if like_url.startswith("sqlite"):
        path = tmp_path / "gone" / "bouncer.db"
        database = Database(f"sqlite+aiosqlite:///{path}")
        # A directory where the file should be: SQLite answers "unable to open database file".
        path.mkdir()
        return database
    return Database("postgresql+asyncpg://postgres@127.0.0.1:1/unreachable")
