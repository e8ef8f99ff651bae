"""``bouncer --help`` builds without the web app or the database layer.

Structural, not timed (no timing in tests): a fresh interpreter imports app.cli and
renders every group's help, then lists which heavy modules got loaded. bench/cli_bench.py
measures the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import get_args

import pytest
import typer

from app.activity import stats
from app.commands import reports, suppressions
from app.commands.running import NO_DATABASE, with_database
from app.db import Database
from app.errors import RETRY_SHORTLY, DatabaseUnavailable, Unavailable
from app.settings import get_settings
from app.suppression import listing, transfer

HEAVY = ("fastapi", "starlette", "sqlalchemy", "boto3", "botocore", "httpx", "uvicorn")
APP = ("app.main", "app.api", "app.db", "app.settings", "app.suppression", "app.sending")

_BUILD_HELP = """
import json, sys
import typer.main
import app.cli

group = typer.main.get_command(app.cli.cli)
ctx = group.make_context("bouncer", [], resilient_parsing=True)
pages = [group.get_help(ctx)]
for name in group.list_commands(ctx):
    command = group.get_command(ctx, name)
    sub = command.make_context(name, [], parent=ctx, resilient_parsing=True)
    pages.append(command.get_help(sub))
    for inner in getattr(command, "list_commands", lambda _: [])(sub):
        leaf = command.get_command(sub, inner)
        leaf_ctx = leaf.make_context(inner, [], parent=sub, resilient_parsing=True)
        pages.append(leaf.get_help(leaf_ctx))
print(json.dumps({"modules": sorted(sys.modules), "help": "\\n".join(pages)}))
"""


@pytest.fixture(scope="module")
def built() -> dict[str, object]:
    done = subprocess.run(  # noqa: S603  (this interpreter, our own code)
        [sys.executable, "-c", _BUILD_HELP], capture_output=True, text=True, check=True
    )
    loaded: dict[str, object] = json.loads(done.stdout)
    return loaded


def test_help_loads_no_web_app_and_no_database_layer(built: dict[str, object]) -> None:
    modules = built["modules"]
    assert isinstance(modules, list)
    loaded = {m for m in modules if m.split(".")[0] in HEAVY} | {
        m for m in modules if any(m == p or m.startswith(p + ".") for p in APP)
    }
    assert loaded == set()


def test_help_still_lists_every_command_and_option(built: dict[str, object]) -> None:
    text = built["help"]
    assert isinstance(text, str)
    for word in (
        "serve", "db", "upgrade", "suppressions", "subscriptions", "events", "stats",
        "list", "check", "show", "add", "remove", "import", "export", "confirm",
        "--window", "--limit", "--reason", "--expires-at", "--workers", "--format",
        "csv|ndjson", "table|json|csv", "1<=x<=1000", "Exit codes",
        "aws", "setup", "--endpoint", "--configuration-set", "--topic-prefix",
    ):  # fmt: skip
        assert word in text, word


def test_the_commands_spell_the_services_values() -> None:
    assert tuple(stats.WINDOWS) == reports.WINDOWS
    assert suppressions.MAX_PAGE == listing.MAX_PAGE
    assert get_args(suppressions.TransferFormat) == get_args(transfer.Format)


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            DatabaseUnavailable("OperationalError", retry_hint=RETRY_SHORTLY),
            "(ConnectionResetError: reset by peer): check DATABASE_URL",
        ),
        (Unavailable("lines 1 to 4 are stored; import again"), "lines 1 to 4 are stored"),
    ],
)
def test_an_outage_mid_command_is_exit_3_in_one_line(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Unavailable,
    said: str,
) -> None:
    async def job(_: Database) -> None:
        raise error from ConnectionResetError("reset by peer")

    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        with pytest.raises(typer.Exit) as caught:
            with_database(job)
    finally:
        get_settings.cache_clear()
    assert caught.value.exit_code == NO_DATABASE
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("error: ")
    assert said in last
