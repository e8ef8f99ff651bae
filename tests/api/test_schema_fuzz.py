"""Schema fuzzing of the ops API: schemathesis drives every /v1 operation from the app's OpenAPI.

Each operation gets SCHEMA_EXAMPLES valid and SCHEMA_EXAMPLES invalid generated requests, and
each request goes out four times: with the write token, the read token, no token and a wrong
token. They reach the app in process (schemathesis's ASGI transport runs the lifespan and
every request on one event loop) on a fresh migrated database. No answer may be a 5xx, and
each must match what the OpenAPI document declares: a documented status code, its content
type, its body schema and its headers.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import boto3
import httpx
import pytest
import schemathesis
from botocore.awsrequest import AWSResponse
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.services import Edges
from app.settings import Settings
from tests import figures
from tests.conftest import READ, TOPIC, WRITE, Edge, make_settings
from tests.ses_payloads import bounce, complaint, delivery
from tests.signing import SnsSigner, post_args

pytestmark = pytest.mark.reliability

EXAMPLES = int(os.environ.get("SCHEMA_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
CREDENTIALS: dict[str, dict[str, str]] = {
    "write": WRITE,
    "read": READ,
    "none": {},
    "wrong": {"Authorization": "Bearer not-a-token-we-issued"},
}
# Read tokens may call these with a write-capable method; any other non-GET operation writes.
READ_BY_POST = {"POST /v1/suppressions/check"}

# The import body is declared as CSV or NDJSON text (app/api/transfer.py): NDJSON goes as text.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")


@dataclass
class Tally:
    requests: int = 0
    five_xx: int = 0
    statuses: dict[str, Counter[int]] = field(
        default_factory=lambda: {who: Counter() for who in CREDENTIALS}
    )
    failures: list[str] = field(default_factory=list)


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.content


def make_ses_client() -> Any:
    """A real sesv2 client (its parameters checked against the API model), answered in process."""
    client = boto3.client(
        "sesv2",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def accept(request: Any, **_: Any) -> AWSResponse:
        body = json.dumps({"MessageId": f"fuzz-{uuid.uuid4()}"}).encode()
        headers: Any = {"Content-Type": "application/json"}
        return AWSResponse(request.url, 200, headers, _Body(body))

    # A before-send handler that returns a response stands in for the network (botocore).
    events: Any = client.meta.events
    events.register("before-send.sesv2.SendEmail", accept)
    return client


def make_ses_sync_client(region: str) -> Any:
    """SES's account-level list for GET /v1/ses/drift: a real sesv2 client whose
    ListSuppressedDestinations answers an empty list in process."""
    client = boto3.client(
        "sesv2", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )

    def empty(request: Any, **_: Any) -> AWSResponse:
        body = json.dumps({"SuppressedDestinationSummaries": []}).encode()
        headers: Any = {"Content-Type": "application/json"}
        return AWSResponse(request.url, 200, headers, _Body(body))

    events: Any = client.meta.events
    events.register("before-send.sesv2.ListSuppressedDestinations", empty)
    return client


@pytest.fixture
def fuzzed_app(settings: Settings, edge: Edge, signer: SnsSigner) -> Iterator[FastAPI]:
    values = {**settings.model_dump(exclude_unset=True), "SNS_AUTO_CONFIRM": False}
    app = create_app(
        make_settings(**values),
        edges=Edges(
            http_transport=httpx.MockTransport(edge.handler),
            sns_client_factory=None,
            ses_client=make_ses_client(),
            ses_sync_clients=make_ses_sync_client,
        ),
    )
    try:
        with asgi.get_client(cast(Any, app)) as client:
            seed(client, signer)
        yield app
    finally:
        # The lifespan runs on schemathesis's event-loop thread; end it there (the engine too).
        asgi.shutdown_lifespans()


def seed(client: Any, signer: SnsSigner) -> None:
    """Entries, events and a pending subscription, so lists and details have items to check."""
    for message in (
        bounce(["ann@example.com"]),
        complaint(["bob@example.org"]),
        delivery(["cy@example.net"]),
    ):
        body, headers = post_args(signer.make_notification(message, topic_arn=TOPIC))
        assert client.post("/sns", data=body, headers=headers).status_code == 200
    body, headers = post_args(signer.make_subscription_confirmation(topic_arn=TOPIC))
    assert client.post("/sns", data=body, headers=headers).json() == {"status": "pending"}
    put = client.put("/v1/suppressions/dee@example.com", json={"note": "seed"}, headers=WRITE)
    assert put.status_code == 201, put.text


def v1_route_table(app: FastAPI) -> set[str]:
    """``METHOD /path`` for every /v1 route, as the app routes them (included routers too)."""
    return {
        f"{method} {route.path_format}"
        for route in iter_route_contexts(app.routes)
        if route.path_format and route.path_format.startswith("/v1")
        for method in route.methods or ()
    }


def expected_refusal(who: str, label: str, status: int) -> str | None:
    """What is wrong with ``status`` for this caller, beyond the schema, or None."""
    if who in ("none", "wrong") and status != 401:
        return f"answered {status} without a valid token, not 401"
    writes = not label.startswith("GET ") and label not in READ_BY_POST
    # A read token's write is refused with 403; a malformed one may be refused first (422).
    if who == "read" and writes and status not in (403, 422):
        return f"answered {status} to a read token's write, not 403"
    return None


Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]


def fuzz(operation: Operation, mode: GenerationMode, tally: Tally) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        for who, headers in CREDENTIALS.items():
            send(case, who, headers, tally)

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid: a lone unconstrained string (GET /v1/suppressions/{email})
        # or no parameter at all accepts every request, so negative generation has no case.
        if mode is not GenerationMode.NEGATIVE:
            raise


def send(case: Case, who: str, headers: dict[str, str], tally: Tally) -> None:
    where = f"{case.operation.label} [{case.meta.generation.mode.value if case.meta else '?'}]"
    tally.requests += 1
    try:
        response = case.call(headers=headers)
    except Exception as err:
        # The app raised out of its error handlers: a server would have answered 500.
        tally.five_xx += 1
        tally.failures.append(f"{where} as {who}: raised {err!r}\n{case.as_curl_command()}")
        return
    tally.statuses[who][response.status_code] += 1
    if response.status_code >= 500:
        tally.five_xx += 1
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as err:
        tally.failures.append(f"{where} as {who}: {err}")
    if problem := expected_refusal(who, case.operation.label, response.status_code):
        tally.failures.append(f"{where} as {who}: {problem}\n{case.as_curl_command()}")


class TestEveryV1Operation:
    def test_no_5xx_and_every_answer_as_declared(self, fuzzed_app: FastAPI) -> None:
        schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app).include(
            path_regex=r"^/v1/"
        )
        # The document declares the bearer scheme (for /docs); the four credentials of
        # CREDENTIALS are the ones sent, never a token schemathesis makes up.
        schema.config.generation.update(with_security_parameters=False)
        operations: list[Operation] = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operations.append(result.ok())
        labels = {operation.label for operation in operations}
        # Every /v1 route of the route table is in the schema, so none escapes the fuzzing.
        assert v1_route_table(fuzzed_app) == labels
        assert len(labels) >= 12, labels

        tally = Tally()
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz(operation, mode, tally)

        figures.record(
            "schema fuzz /v1",
            operations=len(operations),
            examples_per_operation=EXAMPLES,
            credentials=len(CREDENTIALS),
            requests=tally.requests,
            five_xx=tally.five_xx,
            schema_failures=len(tally.failures),
        )
        assert tally.five_xx == 0, "\n".join(tally.failures)
        assert tally.failures == [], "\n".join(tally.failures[:20])
        # Each way of calling was exercised, and the valid token got past the door.
        assert tally.statuses["none"].keys() == tally.statuses["wrong"].keys() == {401}
        assert tally.statuses["write"][200] > 0
        assert tally.statuses["read"][200] > 0
        assert tally.statuses["read"][403] > 0


class TestWhatTheFuzzingFound:
    """Answers the fuzzing once got wrong, pinned here with the smallest request that showed it."""

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            (b"\xff\xfe\x00", "body: not UTF-8 text"),  # was 400 "error parsing the body"
            (b"{nope", "body: not valid JSON"),  # was field "1": the character offset
            (b"", "body: Field required"),  # was field null
        ],
    )
    async def test_an_unreadable_json_body_is_422_naming_the_body(
        self, client: httpx.AsyncClient, body: bytes, error: str
    ) -> None:
        response = await client.post(
            "/v1/suppressions/check",
            content=body,
            headers={**READ, "Content-Type": "application/json"},
        )
        assert response.status_code == 422
        assert response.json()["field"] == "body"
        assert response.json()["error"].startswith(error)

    @pytest.mark.parametrize("body", [b"{nope", b"\xff", b'{"emails": 1}'])
    async def test_without_a_token_the_body_is_never_looked_at(
        self, client: httpx.AsyncClient, body: bytes
    ) -> None:
        # FastAPI parses a JSON body before any dependency runs: this was 400 or 422.
        response = await client.post(
            "/v1/suppressions/check", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 401

    @pytest.mark.parametrize(
        ("method", "path", "params", "body", "field"),
        [
            ("PUT", "/v1/suppressions/ann@example.com", {}, {"note": "a\x00b"}, "note"),
            ("DELETE", "/v1/suppressions/dee@example.com", {"note": "a\x00"}, None, "note"),
            ("GET", "/v1/suppressions", {"q": "a\x00"}, None, "q"),
            ("GET", "/v1/events", {"type": "Bounce\x00"}, None, "type"),
            ("POST", "/v1/subscriptions/confirm", {}, {"topic_arn": "arn\x00"}, "topic_arn"),
        ],
    )
    async def test_a_nul_character_is_422_naming_the_field(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        params: dict[str, str],
        body: dict[str, str] | None,
        field: str,
    ) -> None:
        # PostgreSQL text cannot hold U+0000: these were 500s there (and stored on SQLite).
        await client.put("/v1/suppressions/dee@example.com", json={}, headers=WRITE)
        response = await client.request(method, path, params=params, json=body, headers=WRITE)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field

    async def test_a_bare_carriage_return_in_an_import_is_a_rejected_line(
        self, client: httpx.AsyncClient
    ) -> None:
        # csv.Error ("new-line character seen in unquoted field") escaped as a 500.
        body = b"email,note\nann@example.com,one\rtwo\nbob@example.com,fine\n"
        response = await client.post("/v1/suppressions/import", content=body, headers=WRITE)
        assert response.status_code == 200, response.text
        assert response.json()["inserted"] == 1
        assert response.json()["rejected"][0]["line"] == 2

    async def test_an_address_with_a_slash_can_be_added_read_and_removed(
        self, client: httpx.AsyncClient
    ) -> None:
        # a/b@example.com is a valid address; "{email}" refused its "/" with a bare 404.
        path = "/v1/suppressions/a%2Fb@example.com"
        assert (await client.put(path, json={}, headers=WRITE)).status_code == 201
        assert (await client.get(path, headers=READ)).json()["email"] == "a/b@example.com"
        assert (await client.delete(path, headers=WRITE)).status_code == 204

    async def test_a_newline_in_the_address_is_422_not_404(self, client: httpx.AsyncClient) -> None:
        response = await client.put("/v1/suppressions/a%0Ab@example.com", json={}, headers=WRITE)
        assert response.status_code == 422
        assert response.json()["field"] == "email"

    async def test_the_list_with_a_trailing_slash_is_still_the_list(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/suppressions/", headers=READ)
        assert response.status_code == 307
        assert response.headers["location"].endswith("/v1/suppressions")
