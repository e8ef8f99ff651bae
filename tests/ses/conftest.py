"""Fixtures for sending: SES in moto or behind a botocore Stubber, suppressions, the send log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from sqlalchemy import select

from app.addresses import parse_address
from app.db import Database
from app.models import Send
from app.ses.request import SendRequest
from app.suppression import entry_store

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client

REGION = "us-east-1"
SENDER = "shop@example.com"


def use_fake_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials from the environment only: never a profile, a file or the metadata service."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@dataclass
class MotoSes:
    """SES v2 in moto, with every SendEmail request body as moto received it."""

    client: SESV2Client
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sent(self) -> list[Any]:
        """moto's record of accepted messages (SES v2 sends land in its v1 backend)."""
        return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)

    def record(self, request: Any, **_: Any) -> None:
        self.requests.append(json.loads(request.body))


@dataclass
class StubbedSes:
    """A real sesv2 client whose answers are scripted; calls counts every SendEmail."""

    client: SESV2Client
    stubber: Stubber
    calls: int = 0

    def count(self, **_: Any) -> None:
        self.calls += 1


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_fake_aws_credentials(monkeypatch, tmp_path)


@contextmanager
def running_moto_ses() -> Iterator[MotoSes]:
    """moto's SES, with example.com verified (tests/api uses it too)."""
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        client.create_email_identity(EmailIdentity="example.com")
        moto = MotoSes(client)
        # First, so it sees the request before moto's own before-send handler answers it.
        client.meta.events.register_first("before-send.sesv2.SendEmail", moto.record)
        yield moto


@contextmanager
def stubbed_ses_client() -> Iterator[StubbedSes]:
    """A Stubber-driven client; every scripted answer must have been used by the end."""
    client = boto3.client("sesv2", region_name=REGION)
    stubbed = StubbedSes(client, Stubber(client))
    client.meta.events.register_first("provide-client-params.sesv2.SendEmail", stubbed.count)
    with stubbed.stubber:
        yield stubbed
    stubbed.stubber.assert_no_pending_responses()


@pytest.fixture
def moto_ses(aws_env: None) -> Iterator[MotoSes]:
    with running_moto_ses() as moto:
        yield moto


@pytest.fixture
def stubbed_ses(aws_env: None) -> Iterator[StubbedSes]:
    with stubbed_ses_client() as stubbed:
        yield stubbed


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


class RecordedSleep:
    """Stands in for asyncio.sleep: keeps the delays, waits for none."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


async def suppress(
    database: Database,
    email: str,
    *,
    reason: str = "bounce",
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> None:
    address = parse_address(email)
    entry = entry_store.Entry(
        email=address.normalized,
        display=address.display,
        reason=reason,
        source="api",
        expires_at=expires_at,
    )
    async with database.session() as session:
        await entry_store.put(
            session, entry, actor="test", now=now or datetime.now(UTC), replace_active=True
        )


async def send_rows(database: Database) -> list[Send]:
    async with database.session() as session:
        return list((await session.scalars(select(Send).order_by(Send.id))).all())


def make_request(**fields: Any) -> SendRequest:
    """A simple send from SENDER to ann@example.org; keyword arguments replace fields."""
    values: dict[str, Any] = {
        "from": SENDER,
        "to": ["ann@example.org"],
        "subject": "Your order has shipped",
        "text": "It is on its way.",
    }
    return SendRequest.model_validate(values | fields)
