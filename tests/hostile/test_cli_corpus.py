"""Hostile CLI invocations: each with its exit code, what it may print, the state it leaves.

Exit codes (README): 0 ok, 1 found/suppressed, 2 bad input, 3 database missing,
unreachable or not migrated, 141 stdout closed. No case may print a traceback; a
refused case leaves every row count as it was and creates no file.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url

from app.db import Database
from app.models import Event, Subscription, Suppression, SuppressionChange
from tests import figures
from tests.cli_runs import BOUNCER, invoke
from tests.databases import DatabaseFactory, execute, run_isolated, server_url

HOSTILE_NOTE = "[link=http://evil.example]click[/link] [/]"
DIAGNOSTIC = "smtp; 550 [/] [bold]no[/bold] [link=http://evil.example]x[/link]"
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"


@dataclass(frozen=True)
class Case:
    name: str
    where: str  # which database the command is pointed at (see Places)
    args: tuple[str, ...]
    code: int
    out: tuple[str, ...] = ()  # stdout must contain
    err: tuple[str, ...] = ()  # stderr must contain
    writes: bool = False  # a successful write: row counts may change
    postgres: bool = False  # needs a PostgreSQL server


COMMANDS: list[tuple[str, tuple[str, ...]]] = [
    ("check", ("suppressions", "check", "ann@example.com")),
    ("list", ("suppressions", "list")),
    ("add", ("suppressions", "add", "new@example.com")),
    ("remove", ("suppressions", "remove", "ann@example.com")),
    ("show", ("suppressions", "show", "ann@example.com")),
    ("export", ("suppressions", "export")),
    ("export-file", ("suppressions", "export", "{tmp}/out.ndjson")),
    ("import", ("suppressions", "import", "{tmp}/in.csv")),
    ("events", ("events", "ann@example.com")),
    ("stats", ("stats",)),
    ("subscriptions", ("subscriptions", "list")),
    ("confirm", ("subscriptions", "confirm", TOPIC)),
]
NO_DATABASE = {
    "empty-dir": "no database at sqlite+aiosqlite:///{cwd}/data/bouncer.db",
    "typo": "no database at sqlite+aiosqlite:///{tmp}/typo/bouncr.db",
    "relative-typo": "no database at sqlite+aiosqlite:///{cwd}/dta/bouncer.db",
    "directory": "is a directory, not a SQLite file",
    "unmigrated": "has no bouncer schema",
    "not-sqlite": "as a SQLite database (file is not a database)",
    "behind": "is at migration 0000_old, not ",
    "refused-port": "ConnectionRefusedError",
}
PG_ONLY = {
    "pg-no-such-db": 'database "bouncer_no_such_db" does not exist',
    "pg-wrong-role": 'role "nobody_here" does not exist',
}

CASES = [
    Case(f"{where}-{name}", where, args, 3, err=(says,))
    for where, says in NO_DATABASE.items()
    for name, args in COMMANDS
] + [
    Case(f"{where}-{name}", where, args, 3, err=(says,), postgres=True)
    for where, says in PG_ONLY.items()
    for name, args in COMMANDS
]

BAD_DATES = ["soon", "2026-02-30", "2026-12-01T25:00", "9999-12-31T23:00-05:00", "10000-01-01", ""]
CASES += [
    Case(f"bad-date-{option}-{n}", "migrated", (*command, option, value), 2, err=(option,))
    for option, command in (
        ("--since", ("suppressions", "list")),
        ("--until", ("suppressions", "list")),
        ("--expires-at", ("suppressions", "add", "new@example.com")),
    )
    for n, value in enumerate(BAD_DATES)
]
CASES += [
    Case("naive-since-is-utc", "migrated", ("suppressions", "list", "--since", "2026-01-01"), 0),
    Case("naive-until-is-utc", "migrated", ("suppressions", "list", "--until", "2999-01-01"), 0),
    Case(
        "naive-expiry-is-utc",
        "migrated",
        (
            "suppressions",
            "add",
            "exp@example.com",
            "--expires-at",
            "2999-01-01T10:00",
            "--format",
            "json",
        ),
        0,
        out=('"expires_at": "2999-01-01T10:00:00+00:00"',),
        writes=True,
    ),
    Case(
        "expiry-in-the-past",
        "migrated",
        ("suppressions", "add", "new@example.com", "--expires-at", "2001-01-01"),
        2,
        err=("expires_at is in the past",),
    ),
]

BAD_ADDRESSES = [
    "not-an-address",
    "a@b@example.com",
    "",
    " ",
    "[/]@[link=http://evil.example]",
    "ann@",
    "@example.com",
    "a@" + "d" * 250 + ".com",
    "ann@exa mple.com",
]
CASES += [
    Case(f"bad-address-{command}-{n}", "migrated", (*prefix, address), 2,
         err=(address.strip()[:40],))
    for command, prefix in (
        ("add", ("suppressions", "add")),
        ("check", ("suppressions", "check", "bob@example.com")),
        ("show", ("suppressions", "show")),
    )
    for n, address in enumerate(BAD_ADDRESSES)
    if address.strip()
] + [Case(f"bad-address-remove-{n}", "migrated", ("suppressions", "remove", a), 2)
     for n, a in enumerate(BAD_ADDRESSES[:3])]  # fmt: skip

CASES += [
    Case("unknown-reason", "migrated", ("suppressions", "add", "x@example.com", "--reason", "spam"),
         2, err=("unknown reason 'spam'",)),
    Case("list-unknown-reason", "migrated", ("suppressions", "list", "--reason", "spam"), 2),
    Case("list-bad-domain", "migrated", ("suppressions", "list", "--domain", "no domain!"), 2),
    Case("list-limit-0", "migrated", ("suppressions", "list", "--limit", "0"), 2),
    Case("list-limit-1001", "migrated", ("suppressions", "list", "--limit", "1001"), 2),
    Case("list-format-xml", "migrated", ("suppressions", "list", "--format", "xml"), 2),
    Case("export-format-xml", "migrated", ("suppressions", "export", "--format", "xml"), 2),
    Case("import-format-xml", "migrated",
         ("suppressions", "import", "{tmp}/in.csv", "--format", "xml"), 2),
    Case("export-into-a-file-path", "migrated",
         ("suppressions", "export", "{tmp}/in.csv/out.csv"), 2, err=("cannot write",)),
    Case("export-into-a-missing-dir", "migrated",
         ("suppressions", "export", "{tmp}/no/such/dir/out.csv"), 2, err=("cannot write",)),
    Case("export-into-a-directory", "migrated", ("suppressions", "export", "{tmp}"), 2),
    Case("import-missing-file", "migrated", ("suppressions", "import", "{tmp}/nope.csv"), 2),
    Case("import-a-directory", "migrated", ("suppressions", "import", "{tmp}"), 2),
    Case("import-bad-lines", "migrated", ("suppressions", "import", "{tmp}/bad.csv"), 2,
         err=("line 2:",), writes=True),
    Case("stats-window-1y", "migrated", ("stats", "--window", "1y"), 2),
    Case("stats-window-markup", "migrated", ("stats", "--window", "[/]"), 2),
    Case("confirm-unknown-topic", "migrated", ("subscriptions", "confirm", TOPIC + "-x"), 2,
         err=("no subscription for",)),
    Case("confirm-markup-topic", "migrated", ("subscriptions", "confirm", "[/][link=x]"), 2,
         err=("[/][link=x]",)),
    Case("unknown-command", "migrated", ("suppressions", "purge"), 2),
    Case("events-markup-diagnostic", "migrated", ("events", "ann@example.com"), 0,
         out=("[/]", "[bold]no[/bold]", "[link=http://evil.example]x[/link]")),
    Case("events-markup-json", "migrated", ("events", "ann@example.com", "--format", "json"), 0,
         out=("[link=http://evil.example]x[/link]",)),
    Case("show-markup-note", "migrated", ("suppressions", "show", "ann@example.com"), 1,
         out=(HOSTILE_NOTE,)),
    Case("add-markup-note", "migrated",
         ("suppressions", "add", "mk@example.com", "--note", HOSTILE_NOTE), 0,
         out=(HOSTILE_NOTE,), writes=True),
    Case("check-suppressed", "migrated", ("suppressions", "check", "ANN@example.com"), 1),
    Case("check-allowed", "migrated", ("suppressions", "check", "bob@example.com"), 0),
    Case("show-never-seen", "migrated", ("suppressions", "show", "bob@example.com"), 0,
         out=("no changes recorded",)),
    Case("remove-absent", "migrated", ("suppressions", "remove", "bob@example.com"), 1),
    Case("subscriptions-long-arn", "migrated", ("subscriptions",), 0, out=(TOPIC,)),
]  # fmt: skip


PARAMS = [
    pytest.param(case, id=case.name, marks=[pytest.mark.postgres] if case.postgres else [])
    for case in CASES
]


@dataclass
class Places:
    migrated: str
    unmigrated: str
    behind: str
    root: Path


async def _seed(url: str) -> None:
    database = Database(url)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        async with database.session() as session:
            session.add_all(
                [
                    Suppression(
                        email="ann@example.com", display="Ann@Example.com", domain="example.com",
                        reason="bounce", source="sns", note=HOSTILE_NOTE, created_at=now,
                        updated_at=now,
                    ),
                    SuppressionChange(
                        email="ann@example.com", action="added", actor="sns", reason="bounce",
                        note=HOSTILE_NOTE, at=now,
                    ),
                    Event(
                        dedupe_key="k1", sns_message_id="m1", type="Bounce", subtype="General",
                        bounce_type="Permanent", email="ann@example.com",
                        email_display="ann@example.com", status="5.1.1",
                        diagnostic_code=DIAGNOSTIC, verdict="hard_bounce", occurred_at=now,
                        received_at=now,
                    ),
                    Subscription(
                        topic_arn=TOPIC, status="pending", token="t", subscribe_url=None,
                        last_message_id="m", created_at=now, updated_at=now,
                    ),
                ]
            )  # fmt: skip
    finally:
        await database.dispose()


async def _state(url: str) -> tuple[int, ...]:
    database = Database(url)
    try:
        async with database.session() as session:
            return tuple(
                [
                    await session.scalar(select(func.count()).select_from(model)) or 0
                    for model in (Suppression, SuppressionChange, Event, Subscription)
                ]
            )
    finally:
        await database.dispose()


async def _tables(url: str) -> list[str]:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def places(
    databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Places]:
    root = tmp_path_factory.mktemp("cli-corpus")
    (root / "garbage.db").write_bytes(b"not a database\n" * 300)
    migrated, behind = databases.fresh(), databases.fresh()
    run_isolated(lambda: _seed(migrated))
    run_isolated(lambda: execute(behind, "UPDATE alembic_version SET version_num = '0000_old'"))
    if databases.server is None:
        unmigrated_path = root / "unmigrated.db"
        unmigrated_path.touch()
        unmigrated = f"sqlite+aiosqlite:///{unmigrated_path}"
    else:
        unmigrated = databases.fresh(migrated=False)
    yield Places(migrated, unmigrated, behind, root)
    for url in (migrated, behind, unmigrated):
        databases.release(url)


def _env(where: str, places: Places, tmp: Path) -> dict[str, str | None]:
    server = server_url() or "postgresql://postgres@127.0.0.1:5432/postgres"
    urls = {
        "empty-dir": None,
        "typo": f"sqlite:///{tmp}/typo/bouncr.db",
        "relative-typo": "sqlite:///dta/bouncer.db",
        "directory": f"sqlite:///{tmp}",
        "unmigrated": places.unmigrated,
        "not-sqlite": f"sqlite:///{places.root}/garbage.db",
        "behind": places.behind,
        "migrated": places.migrated,
        "refused-port": "postgresql://postgres:pw@127.0.0.1:1/bouncer",
        "pg-no-such-db": make_url(server).set(database="bouncer_no_such_db").render_as_string(
            hide_password=False
        ),
        "pg-wrong-role": make_url(server).set(username="nobody_here", password="pw")
        .render_as_string(hide_password=False),
    }  # fmt: skip
    return {"DATABASE_URL": urls[where]}


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("case", PARAMS)
def test_cli_case(
    case: Case, places: Places, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "cwd"  # the directory the operator runs bouncer from
    work.mkdir()
    monkeypatch.chdir(work)
    (tmp_path / "in.csv").write_text("email\nimp@example.com\n")
    (tmp_path / "bad.csv").write_text("email\nnope\nok@example.com\n")
    url = _env(case.where, places, tmp_path)["DATABASE_URL"]
    before_files = _files(tmp_path)
    before = run_isolated(lambda: _state(places.migrated))
    args = [a.format(tmp=tmp_path) for a in case.args]

    result = invoke({"DATABASE_URL": url}, *args)

    shown = result.stdout + result.stderr
    assert result.exit_code == case.code, shown[-3000:]
    assert "Traceback" not in shown
    for expected in case.out:
        assert expected in result.stdout, result.stdout
    for expected in case.err:
        assert expected.format(tmp=tmp_path, cwd=work) in result.stderr, result.stderr
    assert "pw@" not in shown  # a password is never shown
    if case.code == 3:
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1, result.stderr
    if not case.writes:
        assert _files(tmp_path) == before_files
        assert run_isolated(lambda: _state(places.migrated)) == before
    if case.where == "unmigrated" and not _sqlite():
        assert run_isolated(lambda: _tables(places.unmigrated)) == []
    # Files bouncer was pointed at are left byte for byte as they were.
    assert _files(places.root) == ["garbage.db", *(["unmigrated.db"] if _sqlite() else [])]
    assert (places.root / "garbage.db").read_bytes() == b"not a database\n" * 300
    if _sqlite():
        assert (places.root / "unmigrated.db").stat().st_size == 0


def _sqlite() -> bool:
    return server_url() is None


PIPES = [
    ("export", f"{BOUNCER} suppressions export | head -c 10"),
    ("list-csv", f"{BOUNCER} suppressions list --format csv --limit 1000 | head -c 1"),
]


@pytest.mark.parametrize(("name", "pipeline"), PIPES, ids=[p[0] for p in PIPES])
def test_closed_pipe(name: str, pipeline: str, places: Places, tmp_path: Path) -> None:
    source = tmp_path / "many.csv"
    source.write_text("email\n" + "".join(f"p{n}@example.com\n" for n in range(3000)))
    url = places.migrated
    assert invoke({"DATABASE_URL": url}, "suppressions", "import", str(source)).exit_code == 0
    done = subprocess.run(  # noqa: S603
        ["/bin/bash", "-c", f"set -o pipefail; {pipeline}"],
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr
    assert "unreachable" not in done.stderr


def test_corpus_figures() -> None:
    """The corpus is as large as issue #13 asks; its figures go to docs/reliability.md."""
    run = [c for c in CASES if server_url() is not None or not c.postgres]
    assert len(run) + len(PIPES) >= 80
    refused = [c for c in run if c.code in (2, 3)]
    figures.record(
        "operator corpus: cli",
        cases=len(run) + len(PIPES),
        refused=len(refused),
        five_xx=0,
        lines_lost=0,
    )
