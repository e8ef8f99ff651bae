"""The ``bouncer`` suppression, events, stats and subscriptions commands on a temp database."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli import cli
from app.settings import get_settings

Run = Callable[..., Result]


@pytest.fixture
def bouncer(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Run ``bouncer ARGS`` against the test database; returns the click Result."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    yield run
    get_settings.cache_clear()


def test_add_check_list_remove(bouncer: Run) -> None:
    added = bouncer(
        "suppressions", "add", "Ann@Example.com", "--reason", "complaint", "--note", "asked"
    )
    assert added.exit_code == 0, added.output
    assert "complaint" in added.output  # a rich table (wrapped to the runner width)

    checked = bouncer(
        "suppressions", "check", "ann@example.com", "bob@example.com", "--format", "json"
    )
    assert checked.exit_code == 1
    assert json.loads(checked.stdout)[0] == {
        "email": "ann@example.com",
        "suppressed": True,
        "reason": "complaint",
    }
    assert bouncer("suppressions", "check", "bob@example.com").exit_code == 0

    listed = bouncer("suppressions", "list", "--format", "csv", "--reason", "complaint")
    assert listed.stdout.splitlines()[1].startswith("ann@example.com,complaint,")

    assert bouncer("suppressions", "remove", "ann@example.com", "--note", "fixed").exit_code == 0
    assert bouncer("suppressions", "remove", "ann@example.com").exit_code == 1
    assert json.loads(bouncer("suppressions", "list", "--format", "json").stdout) == []


def test_check_answers_the_valid_addresses_beside_an_invalid_one(bouncer: Run) -> None:
    """As POST /v1/suppressions/check does (SPEC §4 Edges): one bad address does not hide
    the answer for the others; it is named on stderr, and exit 2 unless one is suppressed."""
    assert bouncer("suppressions", "add", "ann@example.com").exit_code == 0
    mixed = ("ann@example.com", "not-an-address", "bob@example.com", "--format", "json")
    checked = bouncer("suppressions", "check", *mixed)
    assert checked.exit_code == 1  # ann is suppressed: that answer comes first
    assert json.loads(checked.stdout) == [
        {"email": "ann@example.com", "suppressed": True, "reason": "manual"},
        {"email": "bob@example.com", "suppressed": False, "reason": None},
    ]
    assert "not-an-address" in checked.stderr
    allowed = bouncer("suppressions", "check", "bob@example.com", "not-an-address")
    assert allowed.exit_code == 2
    assert "bob@example.com" in allowed.stdout
    assert "not-an-address" in allowed.stderr


def test_bad_input_exits_2(bouncer: Run) -> None:
    assert bouncer("suppressions", "add", "not-an-address").exit_code == 2
    assert bouncer("suppressions", "add", "a@example.com", "--reason", "spam").exit_code == 2
    assert bouncer("suppressions", "add", "a@example.com", "--expires-at", "soon").exit_code == 2
    assert bouncer("stats", "--window", "1y").exit_code == 2


def test_import_then_export(bouncer: Run, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("email,reason\na@example.com,bounce\nb@example.com,manual\n")
    imported = bouncer("suppressions", "import", str(source))
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout) == {
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "duplicates": 0,
        "rejected": [],
        "rejected_total": 0,
    }

    target = tmp_path / "out.ndjson"
    assert bouncer("suppressions", "export", str(target), "--format", "ndjson").exit_code == 0
    assert [json.loads(x)["email"] for x in target.read_text().splitlines()] == [
        "a@example.com",
        "b@example.com",
    ]
    to_stdout = bouncer("suppressions", "export")
    assert to_stdout.stdout.splitlines()[0].startswith("email,reason,")

    again = bouncer("suppressions", "import", str(target))
    assert json.loads(again.stdout)["unchanged"] == 2

    bad = tmp_path / "bad.csv"
    bad.write_text("email\nnope\nc@example.com\n")
    result = bouncer("suppressions", "import", str(bad))
    assert result.exit_code == 2
    assert "line 2:" in result.stderr
    answer = json.loads(result.stdout)
    assert (answer["inserted"], answer["rejected_total"]) == (1, 1)
    assert [r["line"] for r in answer["rejected"]] == [2]


def test_events_stats_subscriptions(bouncer: Run) -> None:
    assert bouncer("events", "ann@example.com", "--format", "json").stdout.strip() == "[]"
    stats = json.loads(bouncer("stats", "--window", "7d", "--format", "json").stdout)
    assert stats[0]["window"] == "7d"
    assert bouncer("stats").exit_code == 0
    assert bouncer("subscriptions", "--format", "json").stdout.strip() == "[]"


def test_unreachable_database_exits_3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["suppressions", "check", "a@example.com"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 3


def test_add_records_source_cli(bouncer: Run) -> None:
    assert bouncer("suppressions", "add", "ann@example.com").exit_code == 0
    listed = json.loads(bouncer("suppressions", "list", "--format", "json").stdout)
    assert [(e["email"], e["source"]) for e in listed] == [("ann@example.com", "cli")]


def test_dates_without_an_offset_are_utc(bouncer: Run) -> None:
    added = bouncer(
        "suppressions", "add", "ann@example.com", "--expires-at", "2099-12-01T10:00",
        "--format", "json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)[0]["expires_at"] == "2099-12-01T10:00:00+00:00"
    listed = bouncer("suppressions", "list", "--since", "2026-01-01", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert [e["email"] for e in json.loads(listed.stdout)] == ["ann@example.com"]
    later = bouncer("suppressions", "list", "--since", "2999-01-01", "--format", "json")
    assert json.loads(later.stdout) == []


@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:00:00-05:00", "10000-01-01", "soon", "2026-13-01", "", "2026-12-01T25:00"],
)
def test_a_bad_date_is_one_line_exit_2(bouncer: Run, value: str) -> None:
    for args in (
        ("suppressions", "add", "ann@example.com", "--expires-at", value),
        ("suppressions", "list", "--since", value),
    ):
        result = bouncer(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.output
    assert json.loads(bouncer("suppressions", "list", "--format", "json").stdout) == []
