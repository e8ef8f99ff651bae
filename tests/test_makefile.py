"""`make run` installs what serving needs, not the dev tools `make test` installs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def planned(target: str, tmp_path: Path, *variables: str) -> str:
    """The commands `make TARGET` would run on a clone with no virtualenv yet."""
    uv = tmp_path / "uv"  # only named: `make -n` runs nothing
    uv.touch()
    # `make -n` still runs a recipe line that calls $(MAKE): `test`'s PostgreSQL probe
    # would run the (absent) virtualenv's python, and under CI's REQUIRE_POSTGRES fail.
    # A TEST_DATABASE_URL skips the probe; the outer make's flags stay out.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env["TEST_DATABASE_URL"] = "postgresql://planned@127.0.0.1:5432/none"
    done = subprocess.run(  # noqa: S603
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}", f"UV={uv}", *variables],  # noqa: S607
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout


def test_run_syncs_runtime_dependencies_only(tmp_path: Path) -> None:
    commands = planned("run", tmp_path)
    assert "/uv sync --frozen --inexact\n" in commands
    assert "--extra dev" not in commands
    assert "bouncer serve" in commands


def test_test_and_install_keep_the_dev_tools(tmp_path: Path) -> None:
    for target in ("install", "test"):
        assert "uv sync --frozen --extra dev --inexact" in planned(target, tmp_path)


def pytest_lines(commands: str) -> list[str]:
    return [line for line in commands.splitlines() if "/bin/pytest" in line]


def test_test_draws_the_same_hypothesis_examples_on_both_databases(tmp_path: Path) -> None:
    lines = pytest_lines(planned("test", tmp_path))
    assert len(lines) == 2  # SQLite, then PostgreSQL
    assert all(" --hypothesis-seed=0 " in f"{line} " for line in lines), lines


def test_a_developer_can_draw_at_random_or_another_seed(tmp_path: Path) -> None:
    unseeded = pytest_lines(planned("test", tmp_path, "HYPOTHESIS_SEED="))
    assert len(unseeded) == 2
    assert not any("--hypothesis-seed" in line for line in unseeded), unseeded
    other = pytest_lines(planned("test", tmp_path, "HYPOTHESIS_SEED=7"))
    assert all(" --hypothesis-seed=7 " in f"{line} " for line in other), other


def test_test_spreads_both_runs_over_two_workers_unless_told(tmp_path: Path) -> None:
    """CI's machine has 2 cores: each run takes both; PYTEST_WORKERS=0 runs one process."""
    lines = pytest_lines(planned("test", tmp_path))
    assert len(lines) == 2
    assert all(" -n 2 --dist worksteal " in f"{line} " for line in lines), lines
    # Compiled modules are kept even where the machine says not to write them.
    assert all("env -u PYTHONDONTWRITEBYTECODE " in line for line in lines), lines
    serial = pytest_lines(planned("test", tmp_path, "PYTEST_WORKERS=0"))
    assert all(" -n 0 " in f"{line} " for line in serial), serial
