"""Schema upgrades to head under a lock, so replicas starting together never race."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import is_sqlite, sqlite_path
from app.private_files import create_sqlite_file

log = logging.getLogger(__name__)

# pg_advisory_lock key: any constant shared by every bouncer process ("bouncer" in ASCII).
_PG_LOCK_KEY = 0x626F756E636572


def _script_location() -> Path:
    here = Path(__file__).resolve().parent
    # A source checkout (and the Docker image) keeps migrations/ beside app/; a
    # wheel carries a copy inside the package.
    for candidate in (here.parent / "migrations", here / "_migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError(f"migration scripts not found beside {here}")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_script_location()))
    if url is not None:
        config.attributes["url"] = url
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current_revision(connection: Connection) -> str | None:
    # A plain query: MigrationContext would log "Context impl ..." on every /readyz.
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Upgrade the schema to head; concurrent callers wait and then find nothing to do."""
    url = engine.url.render_as_string(hide_password=False)
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is None:
            await _run_upgrade(engine)
            return
        # Before SQLite's first connect would create it 0644 less the umask.
        create_sqlite_file(path)
        # A blocking file lock held across an await: only start-up and the CLI get here.
        with FileLock(f"{path}.migrate.lock", timeout=120, mode=0o600):
            await _run_upgrade(engine)
        return

    async with engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
        await connection.commit()
        try:
            await connection.run_sync(_upgrade)
            await connection.commit()
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
            await connection.commit()


async def _run_upgrade(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.run_sync(_upgrade)
        await connection.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


async def is_at_head(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()
