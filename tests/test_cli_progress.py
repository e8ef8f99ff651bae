"""Progress bars go to stderr, and only on a terminal: stdout stays the data a script reads.

`bouncer suppressions import … | jq` on a terminal: stderr is the terminal, stdout a pipe.
A bar drawn on stdout would land in the JSON the pipe carries.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import threading
from pathlib import Path

from tests.cli_runs import BOUNCER


def _drain(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the process and its terminal are gone
            return
        if not chunk:
            return
        into.append(chunk)


def run_with_terminal_stderr(env: dict[str, str], *args: str) -> tuple[int, bytes, bytes]:
    master, terminal = pty.openpty()
    shown: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(master, shown))
    try:
        with subprocess.Popen(  # noqa: S603  (our own console script)
            [str(BOUNCER), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
            env=os.environ | env,
        ) as process:
            os.close(terminal)
            reader.start()
            out, _ = process.communicate(timeout=120)
        reader.join(timeout=10)
    finally:
        os.close(master)
    return process.returncode, out, b"".join(shown)


def test_import_keeps_stdout_json_when_stderr_is_a_terminal(
    database_url: str, tmp_path: Path
) -> None:
    rows = "".join(f"user{i}@example.com,bounce\n" for i in range(20_000))
    listing = tmp_path / "list.csv"
    listing.write_text("email,reason\n" + rows)
    env = {"DATABASE_URL": database_url, "LOG_FORMAT": "text"}
    code, out, _ = run_with_terminal_stderr(env, "suppressions", "import", str(listing))
    assert code == 0, out
    assert json.loads(out)["inserted"] == 20_000
    assert out.startswith(b"{")  # nothing of a bar before it


def test_export_to_a_file_draws_nothing_on_stdout(database_url: str, tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text(
        "email,reason\n" + "".join(f"u{i}@example.com,bounce\n" for i in range(5000))
    )
    env = {"DATABASE_URL": database_url, "LOG_FORMAT": "text"}
    assert run_with_terminal_stderr(env, "suppressions", "import", str(listing))[0] == 0
    code, out, _ = run_with_terminal_stderr(
        env, "suppressions", "export", str(tmp_path / "out.csv")
    )
    assert code == 0
    assert out == b""
    assert (tmp_path / "out.csv").read_text().count("\n") == 5001
