"""Fixtures for SES's suppression list: fake AWS credentials, the live HTTP fake, a client,
and sync passes against the fake on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.db import Database
from app.ses import suppressed
from app.ses.failures import Backoff
from app.ses.suppressed import Pacing
from app.ses_sync import SesSync
from tests.conftest import SettableClock
from tests.live import free_port
from tests.ses.conftest import use_fake_aws_credentials
from tests.ses_sync.fake_ses import REGION, FakeSes, running_fake_ses

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


# -- the sync pass ---------------------------------------------------------------------

T0 = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
SECOND_REGION = "eu-west-1"
# Back-off without waiting: each delay is kept in the list, none is slept.
NO_WAIT_BACKOFF = Backoff(retries=3, base=0.5, cap=4.0)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(T0)


@pytest.fixture
def delays() -> list[float]:
    """The back-off delays the sync's SES calls would have slept."""
    return []


MakeSync = Callable[..., SesSync]


@pytest.fixture
def make_sync(
    database: Database, clock: SettableClock, fake_ses: FakeSes, delays: list[float]
) -> MakeSync:
    """``make_sync(mode=, regions=, fakes={region: FakeSes}, database=)``: a SesSync whose
    clients talk to the fakes (``fake_ses`` for us-east-1 unless told); a region without a
    fake is an endpoint where nothing listens (SES unreachable)."""

    def make(
        *,
        mode: str = "pull",
        regions: Sequence[str] = (REGION,),
        fakes: dict[str, FakeSes] | None = None,
        on: Database | None = None,
    ) -> SesSync:
        chosen = {REGION: fake_ses} if fakes is None else fakes
        nowhere = f"http://127.0.0.1:{free_port()}"

        def client_for(region: str) -> SESV2Client:
            fake = chosen.get(region)
            return suppressed.make_client(region, endpoint_url=fake.url if fake else nowhere)

        return SesSync(
            database=on or database,
            regions=list(regions),
            mode=mode,  # type: ignore[arg-type]
            client_factory=client_for,
            clock=clock,
            pacing=Pacing(backoff=NO_WAIT_BACKOFF, sleep=delays.append),
            lock_poll_seconds=0.05,
        )

    return make
