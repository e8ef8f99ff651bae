"""Fixtures for SES's suppression list: fake AWS credentials, the live HTTP fake, a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.ses.conftest import use_fake_aws_credentials
from tests.ses_sync.fake_ses import FakeSes, running_fake_ses

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_fake_aws_credentials(monkeypatch, tmp_path)


@pytest.fixture
def fake_ses(aws_env: None) -> Iterator[FakeSes]:
    with running_fake_ses() as fake:
        yield fake


@pytest.fixture
def fake_client(fake_ses: FakeSes) -> Iterator[SESV2Client]:
    client = fake_ses.client()
    yield client
    client.close()
