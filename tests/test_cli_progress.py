"""Progress bars go to stderr, and only on a terminal: stdout stays the data a script reads.

`bouncer suppressions import … | jq` on a terminal: stderr is the terminal, stdout a pipe.
A bar drawn on stdout would land in the JSON the pipe carries.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_runs import with_terminal_stderr


def test_import_keeps_stdout_json_when_stderr_is_a_terminal(
    database_url: str, tmp_path: Path
) -> None:
    rows = "".join(f"user{i}@example.com,bounce\n" for i in range(20_000))
    listing = tmp_path / "list.csv"
    listing.write_text("email,reason\n" + rows)
    env = {"DATABASE_URL": database_url, "LOG_FORMAT": "text"}
    code, out, _ = with_terminal_stderr(env, "suppressions", "import", str(listing))
    assert code == 0, out
    assert json.loads(out)["inserted"] == 20_000
    assert out.startswith(b"{")  # nothing of a bar before it


def test_export_to_a_file_draws_nothing_on_stdout(database_url: str, tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text(
        "email,reason\n" + "".join(f"u{i}@example.com,bounce\n" for i in range(5000))
    )
    env = {"DATABASE_URL": database_url, "LOG_FORMAT": "text"}
    assert with_terminal_stderr(env, "suppressions", "import", str(listing))[0] == 0
    code, out, _ = with_terminal_stderr(env, "suppressions", "export", str(tmp_path / "out.csv"))
    assert code == 0
    assert out == b""
    assert (tmp_path / "out.csv").read_text().count("\n") == 5001
