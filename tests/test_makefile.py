"""`make run` installs what serving needs, not the dev tools `make test` installs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def planned(target: str, tmp_path: Path) -> str:
    """The commands `make TARGET` would run on a clone with no virtualenv yet."""
    uv = tmp_path / "uv"  # only named: `make -n` runs nothing
    uv.touch()
    # `make -n` still runs a recipe line that calls $(MAKE): `test`'s PostgreSQL probe
    # would run the (absent) virtualenv's python, and under CI's REQUIRE_POSTGRES fail.
    # A TEST_DATABASE_URL skips the probe; the outer make's flags stay out.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env["TEST_DATABASE_URL"] = "postgresql://planned@127.0.0.1:5432/none"
    done = subprocess.run(  # noqa: S603
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}", f"UV={uv}"],  # noqa: S607
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
