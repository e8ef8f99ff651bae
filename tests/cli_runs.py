"""Running the ``bouncer`` CLI for tests: in-process (typer's CliRunner) or as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from typer.testing import CliRunner, Result

from app.cli import cli
from app.settings import get_settings

Run = Callable[..., Result]
BOUNCER = Path(sys.executable).with_name("bouncer")
# The settings a test's environment must not inherit from the machine running it.
_SETTINGS = ("DATABASE_URL", "DATA_DIR", "AUTO_MIGRATE", "LOG_FORMAT", "LOG_LEVEL")


def invoke(env: Mapping[str, str | None], *args: str) -> Result:
    """``bouncer ARGS`` in this process with exactly ``env``'s settings (None: unset)."""
    values: dict[str, str | None] = dict.fromkeys(_SETTINGS)
    values.update(env)
    get_settings.cache_clear()
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def spawn(
    cwd: Path, env: Mapping[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``.venv/bin/bouncer ARGS`` as its own process in ``cwd``, with only ``env`` set."""
    base = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    return subprocess.run(  # noqa: S603  (our own console script)
        [str(BOUNCER), *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
