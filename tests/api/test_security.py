"""Security checks: /v1 closed to anyone without a bearer token, no secret in any log line, and
the body limits holding on a live server (uvicorn, real sockets).

tests/api/test_v1.py::TestAccess holds the route-table matrix (401 without or with a wrong
token, 403 for a read token that writes); this adds the tokens in the wrong place and the
bodies that must never be looked at. A foreign SubscribeURL is never requested:
tests/sns/test_subscriptions.py and tests/api/test_sns.py cover it.
"""

from __future__ import annotations

import base64
import re
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from app.main import create_app
from app.settings import load_settings
from tests.api.test_v1 import v1_routes
from tests.conftest import TOPIC, WRITE_TOKEN
from tests.databases import DatabaseFactory
from tests.live import LiveServer, free_port

pytestmark = pytest.mark.reliability

KiB = 1024
MiB = 1024 * KiB


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class TestTokensOnlyInTheBearerHeader:
    """Every /v1 route, from the route table: a token anywhere but ``Authorization: Bearer`` is
    no token, and without one the body is never parsed (FastAPI would parse it first)."""

    ELSEWHERE: tuple[tuple[str, dict[str, str], dict[str, str]], ...] = (
        ("no credentials", {}, {}),
        ("an empty bearer", {"Authorization": "Bearer "}, {}),
        ("the token in the query", {}, {"token": WRITE_TOKEN, "access_token": WRITE_TOKEN}),
        ("the token as a basic password", {"Authorization": basic("ops", WRITE_TOKEN)}, {}),
        ("the token under another scheme", {"Authorization": f"Token {WRITE_TOKEN}"}, {}),
        ("the token with no scheme", {"Authorization": WRITE_TOKEN}, {}),
        ("the token in a cookie", {"Cookie": f"token={WRITE_TOKEN}"}, {}),
        ("the token in X-API-Key", {"X-API-Key": WRITE_TOKEN}, {}),
    )
    BODIES = (b"{not json", b"\xff\xfe not utf-8", b'{"emails": 42, "topic_arn": []}')

    @pytest.mark.parametrize(("method", "path"), v1_routes())
    async def test_401_whatever_the_body(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        for name, headers, params in self.ELSEWHERE:
            for body in self.BODIES:
                response = await client.request(
                    method,
                    path,
                    params=params,
                    content=body,
                    headers={**headers, "Content-Type": "application/json"},
                )
                assert response.status_code == 401, (name, body, response.text)
                assert response.headers["www-authenticate"].startswith("Bearer")

    @pytest.mark.parametrize("path", ["/v1", "/v1/", "/v1/nope", "/v1/nope/deeper"])
    async def test_paths_without_a_route_are_401_too(
        self, client: httpx.AsyncClient, path: str
    ) -> None:
        # Without a token nothing under /v1 is told apart, not even a route from no route.
        response = await client.get(path)
        assert response.status_code == 401


# --- live servers -------------------------------------------------------------------------


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "SNS_TOPIC_ARNS": TOPIC,
        "API_TOKENS": f"ops={WRITE_TOKEN}",
        "LOG_FORMAT": "json",
        # No instance-metadata lookup for AWS credentials: the tests stay on loopback.
        "AWS_EC2_METADATA_DISABLED": "true",
        **extra,
    }


@pytest.fixture(scope="module")
def module_database(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh()
    yield url
    databases.release(url)


IMPATIENT_SECONDS = 1.0


def impatient_app() -> FastAPI:
    """The served app, giving up on a stalled body after 1 s, not 30 (``uvicorn --factory``)."""
    return create_app(load_settings(), body_idle_timeout=IMPATIENT_SECONDS)


@pytest.fixture(scope="module")
def live(module_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """uvicorn as `bouncer serve` runs it (same options), on the impatient app."""
    folder = tmp_path_factory.mktemp("live")
    server = LiveServer(
        server_env(module_database, folder),
        folder / "server.log",
        command=(
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"{__name__}:impatient_app",
            "--port",
            "{port}",
            "--proxy-headers",
            "--no-server-header",
        ),
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


class Ending:
    EOF = "closed"
    RESET = "reset"
    OPEN = "still open"


def connect(server: LiveServer, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def head(method: str, path: str, *lines: str) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: bouncer.test", *lines, "", ""]).encode()


def read_until_end(sock: socket.socket, wait: float) -> tuple[bytes, str]:
    """Everything the server sends, and how the connection ended within ``wait`` seconds."""
    sock.settimeout(wait)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
        return received, Ending.EOF
    except TimeoutError:
        return received, Ending.OPEN
    except ConnectionResetError:
        return received, Ending.RESET


def read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length, read to its end."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    header, _, body = raw.partition(b"\r\n\r\n")
    length = int(re.findall(rb"content-length: (\d+)", header.lower())[0])
    while len(body) < length:
        body += sock.recv(65536)
    return header + b"\r\n\r\n" + body


def statuses(raw: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"^HTTP/1\.1 (\d{3}) ", raw, re.MULTILINE)]


def assert_healthy(server: LiveServer) -> None:
    assert server.process.poll() is None, server.output()[-2000:]
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KiB
    raise AssertionError("no VmRSS")


class TestBodyLimitsOnALiveServer:
    def test_chunked_body_past_512_kib_is_413_and_the_connection_closed(
        self, live: LiveServer
    ) -> None:
        before = rss_bytes(live.process.pid)
        frame = b"%x\r\n" % (64 * KiB) + b"x" * (64 * KiB) + b"\r\n"
        offered = 64 * MiB
        sent = 0
        with connect(live) as sock:
            sock.sendall(head("POST", "/sns", "Transfer-Encoding: chunked"))
            try:
                while sent < offered:
                    sock.sendall(frame)
                    sent += 64 * KiB
            except (BrokenPipeError, ConnectionResetError):
                pass
            raw, ending = read_until_end(sock, 5)
        assert statuses(raw) == [413], raw[:300]
        assert b"512 KiB" in raw
        # The server stopped reading and hung up: it did not take the 64 MiB and discard it.
        assert ending != Ending.OPEN
        assert sent < offered / 4, sent
        assert rss_bytes(live.process.pid) - before < 32 * MiB
        assert_healthy(live)

    def test_declared_10_mib_sending_10_bytes_is_answered_at_once(self, live: LiveServer) -> None:
        with connect(live) as sock:
            started = time.monotonic()
            sock.sendall(head("POST", "/sns", f"Content-Length: {10 * MiB}") + b"0123456789")
            raw, ending = read_until_end(sock, 10)
        assert statuses(raw) == [413]
        assert ending == Ending.EOF
        assert time.monotonic() - started < 3
        assert_healthy(live)

    def test_declared_100_bytes_sending_1_mib(self, live: LiveServer) -> None:
        # 100 bytes are the body; the rest is read as a next request, which is garbage.
        with connect(live) as sock:
            body = b"x" * MiB
            sock.sendall(head("POST", "/sns", "Content-Length: 100") + body)
            raw, ending = read_until_end(sock, 10)
        assert statuses(raw), raw[:300]
        assert all(400 <= status < 500 for status in statuses(raw)), raw[:300]
        assert ending != Ending.OPEN
        assert_healthy(live)

    @pytest.mark.parametrize(
        "lines",
        [
            ("Content-Length: 5", "Transfer-Encoding: chunked"),
            ("Content-Length: -1",),
            ("Content-Length: abc",),
            ("Content-Length: 1e3",),
            ("Content-Length: 5, 6",),
            ("Content-Length: 99999999999999999999999",),
        ],
        ids=["both", "negative", "letters", "exponent", "two-values", "overflow"],
    )
    def test_malformed_framing_is_400_from_the_server(
        self, live: LiveServer, lines: tuple[str, ...]
    ) -> None:
        with connect(live) as sock:
            sock.sendall(head("POST", "/sns", *lines) + b"5\r\nhello\r\n0\r\n\r\n")
            raw, ending = read_until_end(sock, 10)
        assert statuses(raw) == [400], raw[:300]
        assert ending != Ending.OPEN
        assert_healthy(live)

    def test_an_anonymous_huge_import_is_refused_unread(self, live: LiveServer) -> None:
        with connect(live) as sock:
            started = time.monotonic()
            sock.sendall(
                head("POST", "/v1/suppressions/import", f"Content-Length: {1024 * MiB}") + b"e"
            )
            raw, ending = read_until_end(sock, 10)
        assert statuses(raw) == [401]
        assert ending == Ending.EOF
        assert time.monotonic() - started < 3
        assert_healthy(live)

    def test_a_body_read_in_full_keeps_the_connection_open(self, live: LiveServer) -> None:
        body = b'{"note": "kept alive"}'
        request = head(
            "PUT",
            "/v1/suppressions/keep@example.com",
            f"Authorization: Bearer {WRITE_TOKEN}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        )
        with connect(live) as sock:
            answers = []
            for _ in range(2):
                sock.sendall(request + body)
                answers.append(read_response(sock))
            _, ending = read_until_end(sock, 1)
        assert [statuses(answer) for answer in answers] == [[201], [200]]
        assert all(b"connection: close" not in answer.lower() for answer in answers)
        assert ending == Ending.OPEN

    def test_the_import_takes_a_body_past_every_limit(self, live: LiveServer) -> None:
        # 60 MiB of blank padding (past the 50 MiB default limit) around three real rows.
        padding = (b" " * 1023 + b"\n") * (60 * KiB)
        rows = b"ann@example.com,manual\nbob@example.com,manual\ncy@example.com,manual\n"
        body = b"email,reason\n" + padding + rows
        response = httpx.post(
            f"{live.url}/v1/suppressions/import",
            content=body,
            headers={"Authorization": f"Bearer {WRITE_TOKEN}", "Content-Type": "text/csv"},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        assert response.json()["rejected_total"] == 0
        assert response.json()["inserted"] + response.json()["updated"] == 3
        assert_healthy(live)


class TestAStalledBodyTimesOut:
    """uvicorn itself waits for ever for a body that stops coming; the app gives up."""

    @pytest.mark.parametrize(
        ("path", "lines", "start"),
        [
            ("/sns", ("Content-Length: 1000",), b"0123456789"),
            ("/sns", ("Transfer-Encoding: chunked",), b"a\r\n0123456789\r\n"),
            (
                "/v1/suppressions/import",  # no size limit, still a time limit
                ("Transfer-Encoding: chunked", f"Authorization: Bearer {WRITE_TOKEN}"),
                b"d\r\nemail,reason\n\r\n",
            ),
        ],
        ids=["declared", "chunked", "import"],
    )
    def test_408_and_closed(
        self, live: LiveServer, path: str, lines: tuple[str, ...], start: bytes
    ) -> None:
        with connect(live) as sock:
            started = time.monotonic()
            sock.sendall(head("POST", path, *lines) + start)
            raw, ending = read_until_end(sock, 10)
        waited = time.monotonic() - started
        assert statuses(raw) == [408], raw[:300]
        assert ending == Ending.EOF
        assert IMPATIENT_SECONDS <= waited < IMPATIENT_SECONDS + 3
        assert_healthy(live)
        # A client that gives up first is no error: nothing logged as one, no 500.
        with connect(live) as sock:
            sock.sendall(head("POST", path, *lines) + start)
        time.sleep(IMPATIENT_SECONDS + 0.5)
        assert '"level": "error"' not in live.output()


# --- secrets --------------------------------------------------------------------------------


class Secrets:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex
        self.write = f"wtok{tag}"
        self.read = f"rtok{tag}"
        self.basic = f"bpw{tag}"
        self.database = f"dbpw{tag}"

    def forms(self) -> dict[str, str]:
        """Each secret and the encodings it could be logged in."""
        found = {
            "write token": self.write,
            "read token": self.read,
            "basic-auth password": self.basic,
            "database password": self.database,
        }
        for user, password in (("sns", self.basic), ("ops", self.write)):
            found[f"{user}:… base64"] = basic(user, password).removeprefix("Basic ")
        found["basic-auth password base64"] = base64.b64encode(self.basic.encode()).decode()
        return found


def with_password(url: str, password: str) -> str:
    """The URL with a password (PostgreSQL here trusts loopback, so any password connects)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


class TestNoSecretInTheLogs:
    def test_tokens_and_passwords_never_reach_a_log_line(
        self, database_url: str, tmp_path: Path
    ) -> None:
        secrets = Secrets()
        env = server_env(
            with_password(database_url, secrets.database),
            tmp_path,
            API_TOKENS=f"ops={secrets.write}",
            API_READ_TOKENS=f"viewer={secrets.read}",
            SNS_BASIC_AUTH=f"sns:{secrets.basic}",
            LOG_LEVEL="DEBUG",
            # The libraries at DEBUG too: what they log must not carry a secret either.
            LOG_LEVEL_LIBRARIES="DEBUG",
        )
        server = LiveServer(env, tmp_path / "server.log")
        try:
            server.wait_ready()
            exercise(server.url, secrets)
            assert_healthy(server)
        finally:
            server.stop()
        # The same, failing at start on an unreachable database whose URL has a password.
        port = free_port()
        broken = LiveServer(
            {
                **env,
                "DATABASE_URL": f"postgresql://bouncer:{secrets.database}@127.0.0.1:{port}/x",
            },
            tmp_path / "broken.log",
        )
        try:
            assert broken.process.wait(timeout=60) != 0
        finally:
            broken.stop()

        logged = server.output() + broken.output()
        assert "cannot reach the database" in broken.output()
        assert '"level": "debug"' in logged or "DEBUG" in logged
        leaked = {name: form for name, form in secrets.forms().items() if form in logged}
        assert leaked == {}


def exercise(url: str, secrets: Secrets) -> None:
    """Requests that succeed, fail and are refused, with the secrets in every place."""
    write = {"Authorization": f"Bearer {secrets.write}"}
    read = {"Authorization": f"Bearer {secrets.read}"}
    expected: list[tuple[str, str, dict[str, str], dict[str, str], bytes, int]] = [
        ("PUT", "/v1/suppressions/ann@example.com", write, {}, b"{}", 201),
        ("GET", "/v1/suppressions", read, {}, b"", 200),
        ("GET", "/v1/suppressions", read, {"token": secrets.write}, b"", 200),
        ("GET", "/v1/suppressions", {}, {"access_token": secrets.write}, b"", 401),
        ("GET", "/v1/suppressions", {"Authorization": f"Bearer {secrets.write}x"}, {}, b"", 401),
        ("GET", "/v1/suppressions", {"Authorization": basic("ops", secrets.write)}, {}, b"", 401),
        ("PUT", "/v1/suppressions/bob@example.com", read, {}, b"{}", 403),
        ("GET", "/v1/events", read, {"email": secrets.write}, b"", 422),
        ("GET", f"/v1/suppressions/{secrets.write}", read, {}, b"", 422),
        ("GET", f"/nowhere/{secrets.write}", {}, {"token": secrets.read}, b"", 404),
        ("POST", "/sns", {}, {}, b"{}", 401),
        ("POST", "/sns", {"Authorization": basic("sns", secrets.basic + "x")}, {}, b"{}", 401),
        ("POST", "/sns", {"Authorization": basic("sns", secrets.write)}, {}, b"{}", 401),
        ("POST", "/sns", {"Authorization": f"Basic {secrets.basic}"}, {}, b"{}", 401),
        ("POST", "/sns", write, {}, b"{}", 401),
        ("POST", "/sns", {"Authorization": basic("sns", secrets.basic)}, {}, b"not json", 400),
        ("POST", "/sns", {"Authorization": basic("sns", secrets.basic)}, {}, b"x" * MiB, 413),
        ("GET", "/readyz", {}, {}, b"", 200),
    ]
    with httpx.Client(base_url=url, timeout=30) as client:
        for method, path, headers, params, body, status in expected:
            headers = {**headers, "Content-Type": "application/json"}
            response = client.request(method, path, headers=headers, params=params, content=body)
            assert response.status_code == status, (method, path, response.text)
        # Credentials in the URL, as SNS is given them (https://user:password@host/sns).
        with httpx.Client(auth=("sns", secrets.basic + "y"), timeout=30) as sns:
            assert sns.post(f"{url}/sns", content=b"{}").status_code == 401
