"""The CLI works on an existing, migrated database only (SPEC §4 Edges).

A missing or unmigrated database is exit 3 with one line naming it, and nothing is
created: a new, empty list would answer "not suppressed" for every address.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from app.db import Database
from app.opening import DatabaseNotReady
from app.sending import Sender
from app.settings import Settings
from tests.cli_runs import invoke, spawn
from tests.conftest import AppMaker
from tests.databases import DatabaseFactory, execute, run_isolated


def test_from_another_directory_nothing_is_created(tmp_path: Path) -> None:
    done = spawn(tmp_path, {}, "suppressions", "check", "ann@example.com")
    assert done.returncode == 3, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"no database at sqlite+aiosqlite:///{tmp_path}/data/bouncer.db" in done.stderr
    assert "DATABASE_URL" in done.stderr
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [
        ("suppressions", "check", "ann@example.com"),
        ("suppressions", "list"),
        ("suppressions", "add", "ann@example.com"),
        ("suppressions", "remove", "ann@example.com"),
        ("suppressions", "export"),
        ("events", "ann@example.com"),
        ("stats",),
        ("subscriptions",),
    ],
)
def test_a_mistyped_sqlite_path_is_exit_3(tmp_path: Path, command: tuple[str, ...]) -> None:
    missing = tmp_path / "typo" / "bouncr.db"
    result = invoke({"DATABASE_URL": f"sqlite:///{missing}"}, *command)
    assert result.exit_code == 3, result.output
    assert result.stderr == f"error: no database at sqlite+aiosqlite:///{missing}: " + (
        "the file does not exist. Check DATABASE_URL, or create it with `bouncer db upgrade`\n"
    )
    assert not missing.parent.exists()


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    result = invoke({"DATABASE_URL": f"sqlite:///{tmp_path}"}, "suppressions", "list")
    assert result.exit_code == 3
    assert "is a directory, not a SQLite file" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unmigrated_database_is_exit_3_and_stays_empty(databases: DatabaseFactory) -> None:
    url = databases.fresh(migrated=False)
    if make_url(url).get_backend_name() == "sqlite":
        Path(make_url(url).database or "").touch()
    try:
        result = invoke({"DATABASE_URL": url}, "suppressions", "check", "ann@example.com")
        assert result.exit_code == 3, result.output
        assert "has no bouncer schema" in result.stderr
        assert "bouncer db upgrade" in result.stderr
        if make_url(url).get_backend_name() == "sqlite":
            # Read through a read-only connection: not even switched to WAL.
            assert Path(make_url(url).database or "").stat().st_size == 0
        assert tables(url) == []
    finally:
        databases.release(url)


def test_a_database_behind_head_is_exit_3(database_url: str) -> None:
    run_isolated(lambda: execute(database_url, "UPDATE alembic_version SET version_num = 'old'"))
    result = invoke({"DATABASE_URL": database_url}, "suppressions", "list")
    assert result.exit_code == 3
    assert "is at migration old, not " in result.stderr


def test_each_command_says_which_database_on_stderr(database_url: str) -> None:
    with_password = make_url(database_url).set(password="s3cret-pw")
    url = with_password.render_as_string(hide_password=False)
    result = invoke({"DATABASE_URL": url}, "suppressions", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stdout == "[]\n"
    assert result.stderr.startswith("database: ")
    assert str(make_url(database_url).database) in result.stderr
    assert "s3cret-pw" not in result.stderr


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"database": "bouncer_no_such_db"}, 'database "bouncer_no_such_db" does not exist'),
        ({"username": "nobody_here", "password": "pw"}, 'role "nobody_here" does not exist'),
        ({"port": 1}, "ConnectionRefusedError"),
    ],
)
def test_a_wrong_postgresql_setting_is_one_line_exit_3(
    database_url: str, tmp_path: Path, change: dict[str, Any], cause: str
) -> None:
    url = make_url(database_url).set(**change).render_as_string(hide_password=False)
    done = spawn(tmp_path, {"DATABASE_URL": url}, "suppressions", "check", "ann@example.com")
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert cause in done.stderr
    assert "DATABASE_URL" in done.stderr
    assert "pw" not in done.stderr.replace(cause, "")
    served = spawn(tmp_path, {"DATABASE_URL": url}, "serve", "--port", "1")
    assert served.returncode == 3, served.stderr[-2000:]
    assert "Traceback" not in served.stderr
    assert served.stderr.strip().splitlines()[-1].count(cause) == 1


def test_db_upgrade_creates_the_database_and_says_which(tmp_path: Path) -> None:
    target = tmp_path / "new" / "bouncer.db"
    result = invoke({"DATABASE_URL": f"sqlite:///{target}"}, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"database: sqlite+aiosqlite:///{target}\n")
    assert "Traceback" not in result.stderr
    listed = invoke({"DATABASE_URL": f"sqlite:///{target}"}, "suppressions", "list")
    assert listed.exit_code == 0, listed.output


def test_the_in_process_sender_refuses_a_missing_database(tmp_path: Path) -> None:
    async def open_sender() -> None:
        async with Sender.from_settings(Settings(DATA_DIR=tmp_path / "data")):
            pass

    with pytest.raises(DatabaseNotReady, match="no database at"):
        run_isolated(open_sender)
    assert list(tmp_path.iterdir()) == []


def tables(url: str) -> list[str]:
    async def names() -> list[str]:
        database = Database(url)
        try:
            async with database.engine.connect() as connection:
                return await connection.run_sync(lambda c: inspect(c).get_table_names())
        finally:
            await database.dispose()

    return run_isolated(names)


async def test_the_service_logs_which_database_it_uses(
    make_client: AppMaker, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = make_url(database_url).set(password="s3cret-pw").render_as_string(hide_password=False)
    await make_client(DATABASE_URL=url, LOG_FORMAT="json")
    logged = capsys.readouterr().err
    assert "database: " in logged
    assert str(make_url(database_url).database) in logged
    assert "s3cret-pw" not in logged
