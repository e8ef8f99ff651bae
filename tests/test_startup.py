"""Several processes starting on one database at once: all come up, one migrates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import DatabaseFactory
from tests.live import LiveServer


@pytest.fixture
def empty_url(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh(migrated=False)
    yield url
    databases.release(url)


class TestConcurrentStart:
    def test_two_servers_race_one_migrates(self, empty_url: str, tmp_path: Path) -> None:
        env = {"DATABASE_URL": empty_url, "DATA_DIR": str(tmp_path), "LOG_FORMAT": "json"}
        servers = [LiveServer(env, tmp_path / f"server{i}.log") for i in range(2)]
        try:
            for server in servers:
                server.wait_ready()
        finally:
            for server in servers:
                server.stop()
        upgrades = [server.output().count("Running upgrade") for server in servers]
        # Exactly one process applied the migrations; the other found the schema at head.
        assert sorted(upgrades)[0] == 0
        assert sorted(upgrades)[1] >= 1

    def test_bad_database_url_stops_with_one_line(self, tmp_path: Path) -> None:
        env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "DATA_DIR": str(tmp_path)}
        server = LiveServer(env, tmp_path / "server.log")
        try:
            assert server.process.wait(timeout=30) != 0
        finally:
            server.stop()
        output = server.output().strip()
        assert output.splitlines()[-1].startswith("error: cannot reach the database")
        assert "Traceback" not in output
