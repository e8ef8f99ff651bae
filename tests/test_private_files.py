"""What bouncer writes to disk is its user's alone: DATA_DIR (0700), the generated API
token (0600) and the SQLite database with its -wal and -shm (0600), even under umask 000;
and a token file someone else planted (a symlink, a FIFO, another user's, a readable
one) stops the start with one line instead of becoming the API's password."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.errors import StartupError
from app.main import create_app
from app.services import Edges
from tests.conftest import make_settings
from tests.live import LiveServer

PLANTED = "planted-secret-0123456789abcdef"


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@asynccontextmanager
async def started(data_dir: Path, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on ``data_dir`` with no API_TOKENS (so it keeps its token file there)."""
    app: FastAPI = create_app(
        make_settings(DATA_DIR=data_dir, LOG_FORMAT="text", **settings),
        edges=Edges(
            http_transport=httpx.MockTransport(lambda _: httpx.Response(200)),
            sns_client_factory=None,
        ),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


class TestCreatedPrivateUnderUmask000:
    async def test_data_dir_token_and_sqlite_files(self, open_umask: None, tmp_path: Path) -> None:
        data_dir = tmp_path / "new" / "data"
        async with started(data_dir) as client:
            token = (data_dir / "api-token").read_text().strip()
            added = await client.put(
                "/v1/suppressions/ann@example.com",
                json={"reason": "manual"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert added.status_code == 201
            # Checked while the connections are open: -wal and -shm exist only then.
            files = {p.name: mode(p) for p in data_dir.iterdir() if p.name.startswith("bouncer")}
            assert {"bouncer.db", "bouncer.db-wal", "bouncer.db-shm"} <= set(files)
        assert mode(data_dir) == 0o700
        assert mode(tmp_path / "new") == 0o700
        assert mode(data_dir / "api-token") == 0o600
        assert files == dict.fromkeys(files, 0o600), {k: oct(v) for k, v in files.items()}

    async def test_sqlite_file_named_by_database_url(
        self, open_umask: None, tmp_path: Path
    ) -> None:
        db = tmp_path / "elsewhere" / "mail.db"
        async with started(tmp_path / "data", DATABASE_URL=f"sqlite:///{db}") as client:
            assert (await client.get("/readyz")).status_code == 200
            assert mode(db) == 0o600
        assert mode(db.parent) == 0o700

    async def test_a_symlink_at_the_temporary_name_is_not_written_through(
        self, tmp_path: Path
    ) -> None:
        data_dir = tmp_path / "data"
        data_dir.mkdir(mode=0o700)
        victim = tmp_path / "victim"
        victim.write_text("untouched\n")
        # The generated token is written to .api-token.<pid> and renamed into place.
        (data_dir / f".api-token.{os.getpid()}").symlink_to(victim)
        async with started(data_dir):
            pass
        assert victim.read_text() == "untouched\n"
        token_file = data_dir / "api-token"
        assert stat.S_ISREG(token_file.lstat().st_mode)
        assert mode(token_file) == 0o600


def plant_symlink(data_dir: Path) -> None:
    target = data_dir.parent / "attacker-token"
    target.write_text(PLANTED + "\n")
    target.chmod(0o600)
    (data_dir / "api-token").symlink_to(target)


def plant_dangling_symlink(data_dir: Path) -> None:
    (data_dir / "api-token").symlink_to(data_dir.parent / "not-there")


def plant_with_mode(file_mode: int) -> Any:
    def plant(data_dir: Path) -> None:
        path = data_dir / "api-token"
        path.write_text(PLANTED + "\n")
        path.chmod(file_mode)

    return plant


def plant_short_token(data_dir: Path) -> None:
    path = data_dir / "api-token"
    path.write_text("abc123\n")
    path.chmod(0o600)


def plant_directory(data_dir: Path) -> None:
    (data_dir / "api-token").mkdir()


def plant_fifo(data_dir: Path) -> None:
    os.mkfifo(data_dir / "api-token", 0o600)


def plant_foreign_owner(data_dir: Path) -> None:
    path = data_dir / "api-token"
    path.write_text(PLANTED + "\n")
    path.chmod(0o600)
    os.chown(path, os.getuid() + 1000, os.getgid())


TOKEN_FILE_CASES = [
    ("a symlink", plant_symlink, "is a symbolic link"),
    ("a dangling symlink", plant_dangling_symlink, "is a symbolic link"),
    ("readable by all (0644)", plant_with_mode(0o644), "mode 0644"),
    ("readable by the group (0640)", plant_with_mode(0o640), "mode 0640"),
    ("writable by others (0602)", plant_with_mode(0o602), "mode 0602"),
    ("a directory", plant_directory, "is not a regular file"),
    ("a token of 6 characters", plant_short_token, "a token of 6 characters"),
    ("a FIFO", plant_fifo, "is not a regular file"),
]
if os.getuid() == 0:  # only root can give a file away
    TOKEN_FILE_CASES.append(("owned by another user", plant_foreign_owner, "owned by uid"))


class TestPlantedTokenFile:
    @pytest.mark.parametrize(
        ("plant", "problem"),
        [(plant, problem) for _, plant, problem in TOKEN_FILE_CASES],
        ids=[case for case, _, _ in TOKEN_FILE_CASES],
    )
    async def test_refused_with_one_line(self, plant: Any, problem: str, tmp_path: Path) -> None:
        data_dir = tmp_path / "data"
        data_dir.mkdir(mode=0o700)
        plant(data_dir)
        with pytest.raises(StartupError) as caught:
            async with started(data_dir):
                pass
        line = str(caught.value)
        assert "\n" not in line
        assert str(data_dir / "api-token") in line
        assert problem in line
        assert PLANTED not in line

    async def test_an_own_private_file_is_used(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "data"
        data_dir.mkdir(mode=0o700)
        plant_with_mode(0o600)(data_dir)
        async with started(data_dir) as client:
            answer = await client.get(
                "/v1/suppressions", headers={"Authorization": f"Bearer {PLANTED}"}
            )
            assert answer.status_code == 200


class TestDataDirNotADirectory:
    async def test_refused_with_one_line_naming_data_dir(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "data"
        data_dir.write_text("")
        with pytest.raises(StartupError) as caught:
            async with started(data_dir):
                pass
        assert "DATA_DIR" in str(caught.value)
        assert "not a directory" in str(caught.value)


class TestServe:
    def test_a_readable_token_file_stops_serve_without_a_traceback(
        self, database_url: str, tmp_path: Path
    ) -> None:
        data_dir = tmp_path / "data"
        data_dir.mkdir(mode=0o700)
        plant_with_mode(0o644)(data_dir)
        env = {"DATABASE_URL": database_url, "DATA_DIR": str(data_dir), "LOG_FORMAT": "text"}
        server = LiveServer(env, tmp_path / "server.log")
        try:
            assert server.process.wait(timeout=60) != 0
        finally:
            server.stop()
        output = server.output()
        assert f"{data_dir / 'api-token'} has mode 0644" in output
        assert "Traceback" not in output
        assert PLANTED not in output
