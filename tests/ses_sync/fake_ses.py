"""A live HTTP fake of SES v2's four suppressed-destination operations, on loopback.

moto implements none of them, so this speaks their REST-JSON wire format as the AWS API
reference pages describe it, and a real boto3 ``sesv2`` client talks to it
(``endpoint_url=fake.url``): URIs, query members, JSON bodies, epoch timestamps and
errors (``x-amzn-ErrorType``) all go through botocore's serializers and parsers.

    with running_fake_ses() as fake:
        fake.hold("Ann@Example.com", "BOUNCE", at)       # SES's list (exact emails)
        fake.fail("DeleteSuppressedDestination", times=1)  # a scripted failure
        client = fake.client()                            # close it when done
        ...
        fake.calls                                        # what was asked, in order

Reusable by the CLI, API and periodic-pass tests: ``fake.entries`` is the state to check.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from app.ses import suppressed

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client

LIST_PATH = "/v2/email/suppression/addresses"
REGION = "us-east-1"


@dataclass
class FakeEntry:
    reason: str
    last_update: datetime


@dataclass(frozen=True)
class Call:
    """One request as the fake received it."""

    operation: str
    method: str
    path: str  # decoded
    raw_path: str  # as sent, percent-encoded
    query: dict[str, list[str]]
    body: dict[str, Any] | None
    email: str | None
    authorization: str


@dataclass
class Failure:
    """Answer ``operation`` (for ``email`` only, when set) with an error ``times`` times."""

    operation: str
    code: str
    status: int
    times: int
    email: str | None = None
    message: str = "scripted failure"


@dataclass
class FakeSes:
    """SES's list for one region (exact email -> entry), what was asked, what is scripted."""

    url: str = ""
    entries: dict[str, FakeEntry] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # SES's page when the request names none; the most a page holds whatever it asks.
    default_page_size: int = 1000
    max_page_size: int = 1000
    # Errors named in the x-amzn-ErrorType header (SES's way), or in the body's __type.
    error_in_body: bool = False
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, email: str, reason: str = "BOUNCE", at: datetime | None = None) -> None:
        self.entries[email] = FakeEntry(reason, at or self.clock())

    def fail(
        self,
        operation: str,
        *,
        code: str = "TooManyRequestsException",
        status: int = 429,
        times: int = 1,
        email: str | None = None,
    ) -> None:
        self.failures.append(Failure(operation, code, status, times, email))

    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def client(self, region: str = REGION) -> SESV2Client:
        """A real sesv2 client aimed at the fake (fake credentials must be in the env)."""
        return suppressed.make_client(region, endpoint_url=self.url)

    # -- the server side ---------------------------------------------------------------

    def answer(self, call: Call) -> tuple[int, dict[str, Any] | None, str | None]:
        """(status, JSON body, error code) for one request."""
        with self.lock:
            self.calls.append(call)
            for failure in self.failures:
                if failure.times > 0 and _matches(failure, call):
                    failure.times -= 1
                    return failure.status, {"message": failure.message}, failure.code
            return self._operate(call)

    def _operate(self, call: Call) -> tuple[int, dict[str, Any] | None, str | None]:
        if call.operation == "ListSuppressedDestinations":
            return 200, self._page(call.query), None
        if call.operation == "PutSuppressedDestination":
            body = call.body or {}
            if body.get("Reason") not in ("BOUNCE", "COMPLAINT") or not body.get("EmailAddress"):
                problem = {"message": "EmailAddress and Reason are required"}
                return 400, problem, "BadRequestException"
            self.entries[body["EmailAddress"]] = FakeEntry(body["Reason"], self.clock())
            return 200, {}, None
        assert call.email is not None
        entry = self.entries.get(call.email)
        if entry is None:
            message = f"Email address {call.email} does not exist on your suppression list."
            return 404, {"message": message}, "NotFoundException"
        if call.operation == "DeleteSuppressedDestination":
            del self.entries[call.email]
            return 200, {}, None
        return 200, {"SuppressedDestination": _summary(call.email, entry)}, None

    def _page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        size = min(int(query.get("PageSize", [self.default_page_size])[0]), self.max_page_size)
        start = int(query["NextToken"][0].removeprefix("page-")) if "NextToken" in query else 0
        after = query.get("StartDate")
        since = datetime.fromisoformat(after[0]) if after else None
        held = sorted(
            (email, entry)
            for email, entry in self.entries.items()
            if since is None or entry.last_update >= since
        )
        page: dict[str, Any] = {
            "SuppressedDestinationSummaries": [
                _summary(email, entry) for email, entry in held[start : start + size]
            ]
        }
        if start + size < len(held):
            page["NextToken"] = f"page-{start + size}"
        return page


def _matches(failure: Failure, call: Call) -> bool:
    return failure.operation == call.operation and failure.email in (None, call.email)


def _summary(email: str, entry: FakeEntry) -> dict[str, Any]:
    # rest-json timestamps in a body are epoch seconds (botocore's default for the protocol).
    return {
        "EmailAddress": email,
        "Reason": entry.reason,
        "LastUpdateTime": entry.last_update.timestamp(),
    }


def _operation(method: str, path: str) -> tuple[str, str | None]:
    if path == LIST_PATH:
        return {"GET": "ListSuppressedDestinations", "PUT": "PutSuppressedDestination"}.get(
            method, "Unknown"
        ), None
    if path.startswith(LIST_PATH + "/"):
        email = unquote(path[len(LIST_PATH) + 1 :])
        return {"GET": "GetSuppressedDestination", "DELETE": "DeleteSuppressedDestination"}.get(
            method, "Unknown"
        ), email
    return "Unknown", None


def _handler(fake: FakeSes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            operation, email = _operation(self.command, parts.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            call = Call(
                operation=operation,
                method=self.command,
                path=unquote(parts.path),
                raw_path=parts.path,
                query=parse_qs(parts.query),
                body=json.loads(raw) if raw else None,
                email=email,
                authorization=self.headers.get("Authorization", ""),
            )
            answer: tuple[int, dict[str, Any] | None, str | None] = (
                (404, {"message": "no such route"}, "UnknownOperation")
                if operation == "Unknown"
                else fake.answer(call)
            )
            status, body, code = answer
            if code is not None and fake.error_in_body:
                body = {"__type": code, **(body or {})}
            payload = json.dumps(body or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if code is not None and not fake.error_in_body:
                self.send_header("x-amzn-ErrorType", f"{code}:http://internal.amazon.com/")
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_fake_ses(fake: FakeSes | None = None) -> Iterator[FakeSes]:
    """The fake on a free loopback port (HTTP/1.0: one connection a request, all closed)."""
    fake = fake or FakeSes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-ses", daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
