"""Running the ``bouncer`` CLI for tests: in-process (typer's CliRunner) or as a process."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from typer.testing import CliRunner, Result

from app.cli import cli
from app.settings import get_settings

Run = Callable[..., Result]
BOUNCER = Path(sys.executable).with_name("bouncer")
# The settings a test's environment must not inherit from the machine running it.
_SETTINGS = ("DATABASE_URL", "DATA_DIR", "AUTO_MIGRATE", "LOG_FORMAT", "LOG_LEVEL")


def invoke(env: Mapping[str, str | None], *args: str, obj: object = None) -> Result:
    """``bouncer ARGS`` in this process with exactly ``env``'s settings (None: unset);
    ``obj`` is the commands' context object (``bouncer aws`` takes AWS clients there)."""
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
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, obj=obj)
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


def with_terminal_stderr(
    env: Mapping[str, str], *args: str, timeout: float = 120
) -> tuple[int, bytes, bytes]:
    """``.venv/bin/bouncer ARGS`` with stderr on a pseudo-terminal and stdout a pipe (as
    `bouncer … | jq` typed in a terminal): exit code, stdout, what the terminal showed."""
    master, terminal = pty.openpty()
    shown: list[bytes] = []
    # Read while the process writes: a full terminal buffer would block it.
    reader = threading.Thread(target=_drain, args=(master, shown))
    try:
        with subprocess.Popen(  # noqa: S603  (our own console script)
            [str(BOUNCER), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
            env=os.environ | dict(env),
        ) as process:
            os.close(terminal)
            reader.start()
            out, _ = process.communicate(timeout=timeout)
        reader.join(timeout=10)
    finally:
        os.close(master)
    return process.returncode, out, b"".join(shown)


def _drain(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the process and its terminal are gone
            return
        if not chunk:
            return
        into.append(chunk)
