"""What the CLI prints: data as data (no Rich markup), never cut, and quiet on a closed pipe."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.db import Database
from app.models import Event, Subscription
from tests.cli_runs import BOUNCER, invoke
from tests.databases import run_isolated

# The longest an address may be (RFC 5321 §4.5.3.1: 64-octet local part, 254-octet path):
# a 64-character local part, and a 252-character domain (a 253-character one leaves no room).
LONG_ADDRESS = "l" * 64 + "@" + ".".join(["d" * 63, "e" * 63, "f" * 57, "com"])
LONG_DOMAIN_ADDRESS = "a@" + ".".join(["d" * 63, "e" * 63, "f" * 63, "g" * 56, "com"])
LONG_ARN = "arn:aws:sns:us-east-1:123456789012:" + "t" * (256 - 35)
HOSTILE = [
    "[/]",
    "[link=http://evil.example]click me[/link]",
    "[bold red]alarm[/bold red] [/nope]",
    "550 5.1.1 <x@example.com> \x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
]


async def _store(url: str, *diagnostics: str) -> None:
    database = Database(url)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        async with database.session() as session:
            for n, text in enumerate(diagnostics):
                session.add(
                    Event(
                        dedupe_key=f"k{n}", sns_message_id=f"m{n}", type="Bounce",
                        subtype="General", bounce_type="Permanent", email="ann@example.com",
                        email_display="ann@example.com", status="5.1.1", diagnostic_code=text,
                        verdict="hard_bounce", occurred_at=now, received_at=now,
                    )
                )  # fmt: skip
            session.add(
                Subscription(
                    topic_arn=LONG_ARN, status="pending", token="t", subscribe_url=None,
                    last_message_id="m", created_at=now, updated_at=now,
                )
            )  # fmt: skip
    finally:
        await database.dispose()


@pytest.fixture
def stored(database_url: str) -> str:
    run_isolated(lambda: _store(database_url, *HOSTILE))
    return database_url


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_stored_markup_is_printed_as_data(stored: str, fmt: str) -> None:
    result = invoke({"DATABASE_URL": stored}, "events", "ann@example.com", "--format", fmt)
    assert result.exit_code == 0, result.output
    for text in HOSTILE[:3]:
        assert text in result.stdout
    if fmt != "csv":  # CSV is the data as stored, for files
        assert "\x1b" not in result.stdout
    if fmt == "table":
        assert "\\x1b]8;;http://evil.example" in result.stdout


def test_user_input_in_errors_is_not_markup(database_url: str) -> None:
    result = invoke({"DATABASE_URL": database_url}, "suppressions", "add", "[/]@[link=x]")
    assert result.exit_code == 2
    assert "[/]@[link=x]" in result.stderr
    shown = invoke({"DATABASE_URL": database_url}, "stats", "--window", "[/]")
    assert shown.exit_code == 2
    assert "Traceback" not in shown.output


def test_tables_never_cut_long_addresses_or_arns(stored: str) -> None:
    env = {"DATABASE_URL": stored}
    assert len(LONG_ADDRESS) == len(LONG_DOMAIN_ADDRESS) == 254
    for address in (LONG_ADDRESS, LONG_DOMAIN_ADDRESS):
        added = invoke(env, "suppressions", "add", address, "--note", "n" * 300)
        assert added.exit_code == 0, added.output
        assert address in added.stdout
        for args in (("suppressions", "list"), ("suppressions", "check", address)):
            result = invoke(env, *args)
            assert address in result.stdout, result.stdout
    assert "n" * 300 in invoke(env, "suppressions", "list").stdout
    assert LONG_ARN in invoke(env, "subscriptions").stdout


def test_export_takes_the_format_from_the_extension(database_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url}
    assert invoke(env, "suppressions", "add", "ann@example.com").exit_code == 0
    for name in ("x.ndjson", "x.jsonl"):
        result = invoke(env, "suppressions", "export", str(tmp_path / name))
        assert result.exit_code == 0, result.output
        assert json.loads((tmp_path / name).read_text())["email"] == "ann@example.com"
        assert f"exported 1 entry as ndjson to {tmp_path / name}" in result.stderr
    result = invoke(env, "suppressions", "export", str(tmp_path / "x.csv"))
    assert (tmp_path / "x.csv").read_text().startswith("email,reason,")
    explicit = invoke(env, "suppressions", "export", str(tmp_path / "y.ndjson"), "--format", "csv")
    assert explicit.exit_code == 0
    assert (tmp_path / "y.ndjson").read_text().startswith("email,reason,")
    to_stdout = invoke(env, "suppressions", "export", "--format", "ndjson")
    assert json.loads(to_stdout.stdout)["email"] == "ann@example.com"
    assert "exported 1 entry as ndjson to stdout" in to_stdout.stderr


def test_csv_output_never_writes_a_cell_a_spreadsheet_would_run(database_url: str) -> None:
    # SPEC §4 Edges: `list --format csv > list.csv` is a CSV export as much as `export`, and
    # its cells (an address, a note, a remote server's diagnostic) are strangers' text.
    env = {"DATABASE_URL": database_url}
    added = invoke(env, "suppressions", "add", "=cmd@example.com", "--note", "@SUM(1+1)")
    assert added.exit_code == 0, added.output
    listed = invoke(env, "suppressions", "list", "--format", "csv")
    assert listed.exit_code == 0, listed.output
    [row] = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert (row["email"], row["note"]) == ("'=cmd@example.com", "'@SUM(1+1)")
    checked = invoke(env, "suppressions", "check", "=cmd@example.com", "--format", "csv")
    assert "'=cmd@example.com" in checked.stdout
    assert "\n=cmd" not in checked.stdout


def test_export_to_a_dash_writes_stdout_not_a_file(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `bouncer suppressions export - | gzip` is how most tools spell stdout; a file named
    # "-" in the working directory and an empty pipe would be the list silently elsewhere.
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": database_url}
    assert invoke(env, "suppressions", "add", "ann@example.com").exit_code == 0
    result = invoke(env, "suppressions", "export", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("email,reason,")
    assert "ann@example.com" in result.stdout
    assert "exported 1 entry as csv to stdout" in result.stderr
    assert not (tmp_path / "-").exists()


def test_export_into_a_closed_pipe_ends_quietly(database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "many.csv"
    source.write_text("email\n" + "".join(f"u{n}@example.com\n" for n in range(20000)))
    env = {"DATABASE_URL": database_url}
    assert invoke(env, "suppressions", "import", str(source)).exit_code == 0
    pipeline = f"set -o pipefail; {BOUNCER} suppressions export | head -1"
    done = subprocess.run(  # noqa: S603
        ["/bin/bash", "-c", pipeline],
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.startswith("email,reason,")
    assert done.stdout.count("\n") == 1
    assert done.returncode == 141, done.stderr
    assert "unreachable" not in done.stderr
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr


def test_a_closed_pipe_closes_the_export_before_the_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Left to asyncio.run's shutdown, the export's row stream closed after the database
    # was disposed, and asyncpg's cancel of the query still in flight found the loop closed:
    # a traceback on stderr under load (test_export_into_a_closed_pipe_ends_quietly).
    from app.commands import suppressions
    from app.suppression import transfer

    seen: list[str] = []

    async def rows(*_: object, **__: object) -> AsyncGenerator[str, None]:
        async def stream() -> AsyncGenerator[str, None]:
            try:
                for _ in range(3):
                    yield "row\n"
            finally:
                seen.append("stream closed")

        return stream()

    class ClosedStdout:
        def write(self, _: str) -> int:
            raise BrokenPipeError

        def flush(self) -> None:
            raise BrokenPipeError

    dispose = Database.dispose

    async def disposing(self: Database) -> None:
        seen.append("database disposed")
        await dispose(self)

    monkeypatch.setattr(transfer, "export", rows)
    monkeypatch.setattr(Database, "dispose", disposing)
    monkeypatch.setattr(
        suppressions, "sys", SimpleNamespace(stdout=ClosedStdout(), stderr=sys.stderr)
    )
    result = invoke({"DATABASE_URL": database_url}, "suppressions", "export")
    assert result.exit_code == 141
    assert seen == ["stream closed", "database disposed"]
