"""Hostile settings: tokens, topic patterns, log levels, DATA_DIR and token-file states.

Each case is read from the environment as the service reads it and has one outcome:
- ``starts``: the lifespan runs, /healthz and /readyz answer 200, the bearer tokens
  listed as working get 200 and those listed as not get 401, and any expected
  start-up warning is logged;
- ``refused``: one line naming the setting (or the file), no traceback, no secret.
  A bad value is refused by the settings themselves, so both the service and the CLI
  (``bouncer suppressions check``) stop on it; a bad file stops the start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.errors import StartupError
from app.main import create_app
from app.services import Edges
from app.settings import Settings, get_settings, load_settings
from tests.figures import record

B64 = "q3Zk1mX9pV2rT8sW0yB4nA=="  # `openssl rand -base64 16`
GOOD = "good-token-0123456789"
ACCOUNT = "123456789012"
LONG_TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:" + "t" * 251 + "-_x9z.fifo"
FILE_TOKEN = "file-token-0123456789abcdef"

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    id: str
    env: dict[str, str]
    outcome: str  # "starts" or "refused"
    names: str = ""  # refused: what the one line must name
    works: tuple[str, ...] = ()  # starts: bearer values answered 200
    not_tokens: tuple[str, ...] = ()  # starts: bearer values answered 401
    warning: str = ""  # starts: a start-up warning containing this
    secrets: tuple[str, ...] = ()  # refused: never in the line
    setup: Setup | None = None  # prepares DATA_DIR (given the directory path)
    sqlite_under_data_dir: bool = False  # leave DATABASE_URL unset
    read_only: tuple[str, ...] = field(default=())  # starts: bearer values answered 403 on PUT


def token_file(content: str, mode: int = 0o600) -> Setup:
    def setup(data_dir: Path) -> None:
        data_dir.mkdir(mode=0o700)
        path = data_dir / "api-token"
        path.write_text(content)
        path.chmod(mode)

    return setup


def token_symlink(dangling: bool) -> Setup:
    def setup(data_dir: Path) -> None:
        data_dir.mkdir(mode=0o700)
        target = data_dir.parent / "elsewhere"
        if not dangling:
            target.write_text(FILE_TOKEN + "\n")
            target.chmod(0o600)
        (data_dir / "api-token").symlink_to(target)

    return setup


def token_directory(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700)
    (data_dir / "api-token").mkdir()


def token_fifo(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700)
    os.mkfifo(data_dir / "api-token", 0o600)


def token_of_another_user(data_dir: Path) -> None:
    token_file(FILE_TOKEN + "\n")(data_dir)
    os.chown(data_dir / "api-token", os.getuid() + 1000, os.getgid())


def data_dir_is_a_file(data_dir: Path) -> None:
    data_dir.write_text("not a directory\n")


def data_dir_parent_is_a_file(data_dir: Path) -> None:
    data_dir.parent.write_text("")


def data_dir_is_a_symlink(data_dir: Path) -> None:
    real = data_dir.parent / "real-data"
    real.mkdir(mode=0o700)
    data_dir.symlink_to(real)


def tokens(value: str, *, read: str = "") -> dict[str, str]:
    return {"API_TOKENS": value, "API_READ_TOKENS": read}


def refused(id: str, env: dict[str, str], names: str, *secrets: str, **kw: object) -> Case:
    return Case(id, env, "refused", names=names, secrets=secrets, **kw)  # type: ignore[arg-type]


def starts(id: str, env: dict[str, str], **kw: object) -> Case:
    return Case(id, env, "starts", **kw)  # type: ignore[arg-type]


CASES = [
    # --- API_TOKENS / API_READ_TOKENS (SPEC §4 Edges) ---------------------------------------
    refused("token short", tokens("s3cr3t"), "API_TOKENS", "s3cr3t"),
    refused("token =", tokens("="), "API_TOKENS"),
    refused("token ==", tokens("=="), "API_TOKENS"),
    refused("name= (no token)", tokens("ops="), "API_TOKENS"),
    refused("name=short", tokens("ops=pw9x"), "API_TOKENS", "pw9x"),
    refused("15 characters", tokens("x" * 14 + "Q"), "API_TOKENS", "x" * 14 + "Q"),
    refused("good then short", tokens(f"{GOOD},tiny9"), "API_TOKENS", GOOD, "tiny9"),
    refused("short then good", tokens(f"tiny9,{GOOD}"), "API_TOKENS", GOOD, "tiny9"),
    refused("read token short", tokens(GOOD, read="viewer=rd7z"), "API_READ_TOKENS", "rd7z"),
    refused("read token =", tokens(GOOD, read="="), "API_READ_TOKENS"),
    refused("base64 of 8 bytes", tokens("c2VjcmV0MQ=="), "API_TOKENS", "c2VjcmV0MQ=="),
    refused(
        "same token write and read",
        tokens(f"ops={B64}", read=B64),
        "API_TOKENS and API_READ_TOKENS",
        B64,
    ),
    refused(
        "same token, both named",
        tokens(f"ops={GOOD}", read=f"viewer={GOOD}"),
        "API_TOKENS and API_READ_TOKENS",
        GOOD,
    ),
    starts("base64 padded", tokens(B64), works=(B64,), not_tokens=("=", "==", B64[:-2])),
    starts("named base64", tokens(f"ops={B64}"), works=(B64,), not_tokens=(f"ops={B64}", "=")),
    starts(
        "base64 with / and +",
        tokens("Zm9v/YmFy+YmF6cXV4==AA"),
        works=("Zm9v/YmFy+YmF6cXV4==AA",),
        not_tokens=("AA", "YmF6cXV4==AA"),
    ),
    starts("exactly 16", tokens("p" * 15 + "Z"), works=("p" * 15 + "Z",)),
    starts(
        "name=15 is one token as written",
        tokens("ops=abcdefghijklmno"),
        works=("ops=abcdefghijklmno",),
        not_tokens=("abcdefghijklmno",),
    ),
    starts(
        "name with a space",
        tokens("my bot=" + GOOD),
        works=("my bot=" + GOOD,),
        not_tokens=(GOOD,),
    ),
    starts("name with !", tokens("ops!=" + GOOD), works=("ops!=" + GOOD,), not_tokens=(GOOD,)),
    starts(
        "65-character name",
        tokens("n" * 65 + "=" + GOOD),
        works=("n" * 65 + "=" + GOOD,),
        not_tokens=(GOOD,),
    ),
    starts("64-character name", tokens("n" * 64 + "=" + GOOD), works=(GOOD,)),
    starts(
        "empty name",
        tokens("=abcdefghijklmnop"),
        works=("=abcdefghijklmnop",),
        not_tokens=("abcdefghijklmnop",),
    ),
    starts(
        "= inside the token",
        tokens("ops=token=with=equals"),
        works=("token=with=equals",),
        not_tokens=("with=equals",),
    ),
    starts("empty entries", tokens(",,, ,"), warning="generated an API token"),
    starts("whitespace around", tokens(f"  ,  ops={GOOD}  , "), works=(GOOD,)),
    starts("tab around", tokens(f"\t{GOOD}\t"), works=(GOOD,)),
    starts("duplicate write token", tokens(f"{GOOD},{GOOD}"), works=(GOOD,)),
    starts(
        "read-only base64",
        tokens(GOOD, read=B64),
        works=(GOOD, B64),
        read_only=(B64,),
        not_tokens=("=",),
    ),
    # --- SNS_TOPIC_ARNS ----------------------------------------------------------------------
    starts("topics *", {"SNS_TOPIC_ARNS": "*"}, warning="any AWS account"),
    starts("topics every field *", {"SNS_TOPIC_ARNS": "arn:aws:sns:*:*:*"}, warning="any AWS"),
    starts(
        "topics account *",
        {"SNS_TOPIC_ARNS": "arn:aws:sns:us-east-1:*:ses"},
        warning="any AWS account",
    ),
    starts("topics arn:*:*:*:*:*", {"SNS_TOPIC_ARNS": "arn:*:*:*:*:*"}, warning="any AWS"),
    starts("topics account **", {"SNS_TOPIC_ARNS": "arn:aws:sns:*:**:*"}, warning="any AWS"),
    starts(
        "topics one exact and *",
        {"SNS_TOPIC_ARNS": f"arn:aws:sns:us-east-1:{ACCOUNT}:ses, *"},
        warning="any AWS account",
    ),
    starts("topics one account", {"SNS_TOPIC_ARNS": f"arn:aws:sns:*:{ACCOUNT}:*"}),
    starts("topics 256-character fifo name", {"SNS_TOPIC_ARNS": LONG_TOPIC}),
    starts("topics empty", {"SNS_TOPIC_ARNS": ",, ,"}, warning="SNS_TOPIC_ARNS is empty"),
    refused("topics *account*", {"SNS_TOPIC_ARNS": f"*{ACCOUNT}*"}, "SNS_TOPIC_ARNS"),
    refused("topics no name", {"SNS_TOPIC_ARNS": f"arn:aws:sns:us-east-1:{ACCOUNT}"}, "SNS"),
    refused("topics a bare name", {"SNS_TOPIC_ARNS": "ses-bounces"}, "SNS_TOPIC_ARNS"),
    refused("topics empty field", {"SNS_TOPIC_ARNS": f"arn:aws:sns::{ACCOUNT}:x"}, "SNS_TOPIC"),
    refused(
        "topics seven fields", {"SNS_TOPIC_ARNS": f"arn:aws:sns:us-east-1:{ACCOUNT}:a:b"}, "SNS"
    ),
    refused("topics **", {"SNS_TOPIC_ARNS": "**"}, "SNS_TOPIC_ARNS"),
    # --- LOG_LEVEL, LOG_LEVEL_LIBRARIES, LOG_FORMAT -------------------------------------------
    starts("log level lower case", {"LOG_LEVEL": "debug"}),
    starts("libraries debug", {"LOG_LEVEL_LIBRARIES": "debug"}),
    starts("libraries error", {"LOG_LEVEL": "ERROR", "LOG_LEVEL_LIBRARIES": "ERROR"}),
    refused("log level typo", {"LOG_LEVEL": "DEBGU"}, "LOG_LEVEL"),
    refused("log level verbose", {"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
    refused("log level number", {"LOG_LEVEL": "10"}, "LOG_LEVEL"),
    refused("log level empty", {"LOG_LEVEL": ""}, "LOG_LEVEL"),
    refused("log level trailing space", {"LOG_LEVEL": "INFO "}, "LOG_LEVEL"),
    refused("log level WARN", {"LOG_LEVEL": "WARN"}, "LOG_LEVEL"),
    refused("libraries typo", {"LOG_LEVEL_LIBRARIES": "loud"}, "LOG_LEVEL_LIBRARIES"),
    refused("log format yaml", {"LOG_FORMAT": "yaml"}, "LOG_FORMAT"),
    # --- other values ----------------------------------------------------------------------
    refused("basic auth without :", {"SNS_BASIC_AUTH": "sns"}, "SNS_BASIC_AUTH"),
    refused("basic auth empty password", {"SNS_BASIC_AUTH": "sns:"}, "SNS_BASIC_AUTH"),
    refused("max age negative", {"SNS_MAX_AGE_SECONDS": "-5"}, "SNS_MAX_AGE_SECONDS"),
    refused("soft bounce limit word", {"SOFT_BOUNCE_LIMIT": "abc"}, "SOFT_BOUNCE_LIMIT"),
    # --- DATA_DIR ----------------------------------------------------------------------------
    refused(
        "DATA_DIR is a file",
        tokens(""),
        "DATA_DIR",
        setup=data_dir_is_a_file,
        sqlite_under_data_dir=True,
    ),
    refused(
        "DATA_DIR is a file, SQLite there",
        tokens(GOOD),
        "DATA_DIR",
        setup=data_dir_is_a_file,
        sqlite_under_data_dir=True,
    ),
    starts("DATA_DIR is a file, unused", tokens(GOOD), setup=data_dir_is_a_file),
    refused(
        "DATA_DIR under a file",
        {**tokens(""), "DATA_DIR": "plain-file/data"},
        "DATA_DIR",
        setup=data_dir_parent_is_a_file,
    ),
    starts("DATA_DIR new and nested", {**tokens(""), "DATA_DIR": "a/b/c"}, warning="generated"),
    starts("DATA_DIR a symlink to a directory", tokens(""), setup=data_dir_is_a_symlink),
    # --- the token file (no API_TOKENS) -----------------------------------------------------
    starts("token file absent", tokens(""), warning="generated an API token"),
    starts(
        "token file own 0600", tokens(""), setup=token_file(FILE_TOKEN + "\n"), works=(FILE_TOKEN,)
    ),
    refused(
        "token file 0644", tokens(""), "mode 0644", FILE_TOKEN, setup=token_file(FILE_TOKEN, 0o644)
    ),
    refused(
        "token file 0640", tokens(""), "mode 0640", FILE_TOKEN, setup=token_file(FILE_TOKEN, 0o640)
    ),
    refused(
        "token file 0604", tokens(""), "mode 0604", FILE_TOKEN, setup=token_file(FILE_TOKEN, 0o604)
    ),
    refused(
        "token file 0666", tokens(""), "mode 0666", FILE_TOKEN, setup=token_file(FILE_TOKEN, 0o666)
    ),
    refused(
        "token file symlink", tokens(""), "symbolic link", FILE_TOKEN, setup=token_symlink(False)
    ),
    refused("token file dangling symlink", tokens(""), "symbolic link", setup=token_symlink(True)),
    refused("token file a directory", tokens(""), "not a regular file", setup=token_directory),
    refused("token file a FIFO", tokens(""), "not a regular file", setup=token_fifo),
    refused("token file empty", tokens(""), "is empty", setup=token_file("")),
    refused("token file blank", tokens(""), "is empty", setup=token_file(" \n\t\n")),
    refused("token file short", tokens(""), "a token of 5", "abcde", setup=token_file("abcde\n")),
]
if os.getuid() == 0:  # only root can give a file to another user
    CASES.append(
        refused(
            "token file of another user", tokens(""), "owned by uid", setup=token_of_another_user
        )
    )


@dataclass
class Tally:
    cases: int = 0
    refused: int = 0
    five_xx: int = 0
    tracebacks: int = 0


TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    record(
        "operator corpus: settings",
        cases=TALLY.cases,
        refused=TALLY.refused,
        five_xx=TALLY.five_xx,
        lines_lost=0,
        tracebacks=TALLY.tracebacks,
    )


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No bouncer setting of the machine's leaks in; the settings cache starts empty."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_setting(
    case: Case,
    environment: pytest.MonkeyPatch,
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data_dir = tmp_path / case.env.get("DATA_DIR", "data")
    env = {"API_TOKENS": GOOD, "LOG_FORMAT": "text", **case.env, "DATA_DIR": str(data_dir)}
    if not case.sqlite_under_data_dir:
        env["DATABASE_URL"] = database_url
    for name, value in env.items():
        environment.setenv(name, value)
    if case.setup is not None:
        case.setup(data_dir)
    TALLY.cases += 1
    if case.outcome == "refused":
        TALLY.refused += 1
    refusal: str | None = None
    try:
        settings = load_settings()
    except SystemExit as stop:
        refusal = str(stop.code)
    if refusal is not None:
        assert case.outcome == "refused", f"refused at settings: {refusal}"
        check_line(refusal, case)
        check_cli(case)
        return
    app = create_app(
        settings, edges=Edges(http_transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    )
    try:
        async with app.router.lifespan_context(app):
            assert case.outcome == "starts", f"{case.id} started; expected refused"
            await check_running(app, case, caplog)
    except StartupError as err:
        refusal = str(err)
    if case.outcome == "refused":
        assert refusal is not None
        check_line(refusal, case)


def check_line(line: str, case: Case) -> None:
    if "Traceback" in line:
        TALLY.tracebacks += 1
    assert "\n" not in line.strip()
    assert "Traceback" not in line
    assert case.names in line, line
    for secret in case.secrets:
        assert secret not in line, line


def check_cli(case: Case) -> None:
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["suppressions", "check", "ann@example.com"])
    get_settings.cache_clear()
    # 2, bad input: 1 would tell a script that the address is suppressed.
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    check_line(result.output.strip(), case)


async def check_running(app: object, case: Case, caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ("/healthz", "/readyz"):
            answer = await client.get(path)
            TALLY.five_xx += answer.status_code >= 500
            assert answer.status_code == 200, path
        for bearer in case.works:
            answer = await client.get("/v1/suppressions", headers=auth(bearer))
            assert answer.status_code == 200, bearer
        for bearer in case.not_tokens:
            answer = await client.get("/v1/suppressions", headers=auth(bearer))
            assert answer.status_code == 401, bearer
        for bearer in case.read_only:
            answer = await client.put(
                "/v1/suppressions/ann@example.com", json={}, headers=auth(bearer)
            )
            assert answer.status_code == 403, bearer
    if case.warning:
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any(case.warning in w for w in warnings), warnings


def auth(bearer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer}"}
