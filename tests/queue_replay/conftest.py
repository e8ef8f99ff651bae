"""Fixtures for `bouncer replay`: the command run in-process with its settings in the
environment, Amazon's own signed messages, and the database read back whole."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from app.cli import cli
from app.db import Database
from app.models import Base, Suppression
from app.settings import get_settings
from tests.conftest import TOPIC
from tests.databases import run_isolated
from tests.signing import SnsSigner

SIGNED = Path(__file__).resolve().parent.parent / "data" / "signed"
GENUINE = sorted(path.stem for path in SIGNED.glob("*.json"))
# The settings a run sets or clears; anything else is the machine's.
_NAMES = (
    "DATABASE_URL", "DATA_DIR", "AUTO_MIGRATE", "LOG_FORMAT", "LOG_LEVEL", "SNS_TOPIC_ARNS",
    "SNS_CERT_DIR", "SNS_AUTO_CONFIRM", "SQS_ACCEPT_UNSIGNED", "SQS_MAX_AGE_SECONDS",
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
    "NO_PROXY", "no_proxy",
)  # fmt: skip


def genuine(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SIGNED / f"{name}.json").read_bytes())
    return loaded


def cert_name(envelope: dict[str, Any]) -> str:
    url: str = envelope.get("SigningCertURL") or envelope["SigningCertUrl"]
    return url.rsplit("/", 1)[-1]


def sqs_message(body: str, n: int = 0) -> dict[str, Any]:
    """One message as `aws sqs receive-message` prints it."""
    return {
        "MessageId": f"00000000-0000-4000-8000-{n:012d}",
        "ReceiptHandle": f"AQEB{n}receipt",
        "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "Body": body,
        "Attributes": {"SentTimestamp": "1733480000000", "ApproximateReceiveCount": "1"},
    }


def lines(*bodies: str) -> str:
    return "".join(body + "\n" for body in bodies)


@dataclass
class Replay:
    """``replay(*args, input=…, **settings)`` runs `bouncer replay ARGS` in this process."""

    env: dict[str, str]
    runs: list[Result] = field(default_factory=list)

    def __call__(self, *args: str, input: Any = None, **changes: str | None) -> Result:
        values: dict[str, str | None] = dict.fromkeys(_NAMES)
        values.update(self.env)
        values.update(changes)
        saved = {name: os.environ.get(name) for name in values}
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        get_settings.cache_clear()
        try:
            _set(values)
            result = CliRunner().invoke(cli, ["replay", *args], input=input, catch_exceptions=False)
        finally:
            _set(saved)
            get_settings.cache_clear()
            # configure_logging pointed a handler at the runner's stderr, closed by now.
            root.handlers, root.level = handlers, level
        self.runs.append(result)
        return result

    def json(self, *args: str, **kwargs: Any) -> tuple[Result, dict[str, Any]]:
        result = self(*args, "--format", "json", **kwargs)
        summary: dict[str, Any] = json.loads(result.stdout)
        return result, summary


def _set(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def replay_certs(cert_dir: Path) -> Path:
    """SNS_CERT_DIR with the test signer's certificate and every genuine one."""
    for name in GENUINE:
        shutil.copyfile(SIGNED / f"{name}.pem", cert_dir / cert_name(genuine(name)))
    return cert_dir


@pytest.fixture
def replay(
    database_url: str, tmp_path: Path, replay_certs: Path, monkeypatch: pytest.MonkeyPatch
) -> Replay:
    # No AWS credentials and no metadata service: subscriptions would be confirmed by
    # their SubscribeURL, and looking credentials up costs nothing.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    topics = [TOPIC, *(genuine(name)["TopicArn"] for name in GENUINE)]
    return Replay(
        {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(tmp_path),
            "SNS_TOPIC_ARNS": ",".join(dict.fromkeys(topics)),
            "SNS_CERT_DIR": str(replay_certs),
            "SNS_AUTO_CONFIRM": "false",
            # Amazon's own messages are years old; the signer's are fresh.
            "SQS_MAX_AGE_SECONDS": "0",
            "LOG_FORMAT": "text",
        }
    )


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., str]:
    """``write(text_or_bytes, name=…)`` -> the path of a new file holding it."""

    def make(content: str | bytes, name: str = "replay.jsonl") -> str:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)

    return make


async def _contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    database = Database(url)
    try:
        async with database.session() as session:
            return {
                table.name: sorted(
                    (tuple(row) for row in await session.execute(select(table))), key=repr
                )
                for table in Base.metadata.sorted_tables
            }
    finally:
        await database.dispose()


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare before and after."""
    return run_isolated(lambda: _contents(url))


async def _suppressed(url: str) -> dict[str, str]:
    database = Database(url)
    try:
        async with database.session() as session:
            return {row.email: row.reason for row in await session.scalars(select(Suppression))}
    finally:
        await database.dispose()


def suppressed(url: str) -> dict[str, str]:
    """The list: address -> reason."""
    return run_isolated(lambda: _suppressed(url))


def signed_bodies(signer: SnsSigner, *messages: str) -> list[str]:
    """Each SES body in an envelope the test signer signed, from the allowed topic."""
    return [json.dumps(signer.make_notification(m, topic_arn=TOPIC)) for m in messages]
