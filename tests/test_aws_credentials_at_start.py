"""Looking up AWS credentials at start may fail (a proxy in the way of the instance
metadata service): SPEC §4 Edges makes that a warning and the SubscribeURL fallback of
§2, never a service that does not start. Everything here stays on loopback."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.services import Edges
from app.settings import Settings
from app.sns.confirmation import make_sns_client_factory
from tests.conftest import TOPIC, Edge, make_settings
from tests.live import LiveServer
from tests.signing import SnsSigner, post_args

_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    # A bypass for 169.254.169.254 would send botocore past the proxy, off loopback.
    "NO_PROXY",
    "no_proxy",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "ALL_PROXY",
)


@contextmanager
def loopback_proxy(mode: str) -> Iterator[str]:
    """``refuse``: accepts each connection and closes it at once (a proxy that refuses);
    ``silent``: accepts and never answers; ``closed``: a port nothing listens on."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    if mode == "closed":
        server.close()
        yield f"http://127.0.0.1:{port}"
        return
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if mode == "refuse":
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(5)
        server.close()
        for conn in held:
            conn.close()


@pytest.fixture
def no_credentials_behind_a_proxy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> pytest.MonkeyPatch:
    for name in _CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    empty_config = tmp_path / "aws-config"
    empty_credentials = tmp_path / "aws-credentials"
    empty_config.write_text("")
    empty_credentials.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty_config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty_credentials))
    return monkeypatch


@pytest.mark.parametrize("mode", ["refuse", "closed", "silent"])
async def test_starts_with_a_warning_and_confirms_by_url(
    mode: str,
    no_credentials_behind_a_proxy: pytest.MonkeyPatch,
    settings: Settings,
    edge: Edge,
    signer: SnsSigner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with loopback_proxy(mode) as proxy:
        # The metadata service is plain HTTP, so HTTP_PROXY is the one botocore uses for it.
        no_credentials_behind_a_proxy.setenv("HTTPS_PROXY", proxy)
        no_credentials_behind_a_proxy.setenv("HTTP_PROXY", proxy)
        # No sns_client_factory: the app looks credentials up itself, as in production.
        app = create_app(
            make_settings(**settings.model_dump(exclude_unset=True)),
            edges=Edges(http_transport=httpx.MockTransport(edge.handler)),
        )
        started = time.monotonic()
        async with app.router.lifespan_context(app):
            took = time.monotonic() - started
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/healthz")).status_code == 200
                envelope = signer.make_subscription_confirmation(topic_arn=TOPIC)
                body, headers = post_args(envelope)
                answer = await client.post("/sns", content=body, headers=headers)
    assert answer.json() == {"status": "confirmed"}
    assert [str(r.url) for r in edge.requests] == [envelope["SubscribeURL"]]
    # Bounded: botocore's metadata timeout (1 s, one attempt), not a TCP timeout.
    assert took < 15
    if mode != "silent":  # a silent proxy is a timeout: botocore reports no credentials
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("AWS credentials" in w and "SubscribeURL" in w for w in warnings), warnings


def test_a_failure_that_is_not_botocores_is_a_warning_too(
    no_credentials_behind_a_proxy: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A credential_process that cannot run raises FileNotFoundError from subprocess,
    # not a BotoCoreError.
    (tmp_path / "aws-config").write_text(
        f"[default]\ncredential_process = {tmp_path / 'no-such-program'}\n"
    )
    no_credentials_behind_a_proxy.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert make_sns_client_factory() is None
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("could not look up AWS credentials (")
    assert "SubscribeURL" in warning


def test_serve_starts_behind_a_refusing_proxy(database_url: str, tmp_path: Path) -> None:
    """The whole process: `python -m app serve` with no credentials anywhere and both
    proxy variables naming a loopback port that hangs up on every connection."""
    for name in ("aws-config", "aws-credentials"):
        (tmp_path / name).write_text("")
    with loopback_proxy("refuse") as proxy:
        env = {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(tmp_path / "data"),
            "API_TOKENS": "ops=live-token-0123456789",
            "LOG_FORMAT": "json",
            "HTTPS_PROXY": proxy,
            "HTTP_PROXY": proxy,
            "NO_PROXY": "",
            "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        }
        # LiveServer passes the rest of this process's environment on: it must hold no
        # credentials of its own, or the lookup would never reach the proxy.
        assert not [n for n in _CREDENTIAL_VARIABLES if n.startswith("AWS") and n in os.environ]
        server = LiveServer(env, tmp_path / "server.log")
        try:
            server.wait_ready(timeout=60, path="/healthz")
        finally:
            server.stop()
    output = server.output()
    assert "could not look up AWS credentials (ProxyConnectionError" in output
    assert "Traceback" not in output
