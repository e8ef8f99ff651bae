"""Fixtures for the SNS package: a session-wide signer, genuine messages, recording hosts."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

SIGNED = Path(__file__).resolve().parent.parent / "data" / "signed"
GENUINE = sorted(path.stem for path in SIGNED.glob("*.json"))

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class RecordingHost:
    """An httpx.MockTransport handler that records every request before answering it."""

    answer: Handler
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


def refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request was expected, got {request.method} {request.url}")


@dataclass(frozen=True)
class Genuine:
    """One Amazon-signed envelope from tests/data/signed and the certificate that signed it."""

    name: str

    @property
    def body(self) -> bytes:
        return (SIGNED / f"{self.name}.json").read_bytes()

    @property
    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    @property
    def cert_url(self) -> str:
        data = self.data
        url: str = data.get("SigningCertURL") or data["SigningCertUrl"]
        return url

    def provision(self, directory: Path) -> Path:
        """Copies the PEM into ``directory`` under the file name its SigningCertURL names."""
        target = directory / self.cert_url.rsplit("/", 1)[-1]
        shutil.copyfile(SIGNED / f"{self.name}.pem", target)
        return target


@pytest.fixture
def host() -> RecordingHost:
    """A host that must not be asked; tests that expect requests set ``host.answer``."""
    return RecordingHost(refuse)


@pytest.fixture
async def http(host: RecordingHost) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(host)) as client:
        yield client
