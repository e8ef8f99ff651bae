"""The stored words in the ops API: answers declare their allowed values; requests keep
the domain's own check and message."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import httpx
import pytest

from app.vocabulary import (
    ChangeAction,
    ConfirmedVia,
    EventType,
    Reason,
    Source,
    SubscriptionStatus,
    Verdict,
)
from tests.conftest import READ, WRITE

# (response schema, property, the enum its values come from)
ANSWERS = [
    ("SuppressionOut", "reason", Reason),
    ("SuppressionOut", "source", Source),
    ("SuppressionDetail", "reason", Reason),
    ("ChangeOut", "action", ChangeAction),
    ("ChangeOut", "reason", Reason),
    ("ChangeOut", "source", Source),
    ("EventOut", "type", EventType),
    ("EventOut", "verdict", Verdict),
    ("SubscriptionOut", "status", SubscriptionStatus),
    ("SubscriptionOut", "confirmed_via", ConfirmedVia),
]


def allowed(document: dict[str, Any], schema: dict[str, Any]) -> list[str] | None:
    """The values a property schema allows (null aside), following $ref and anyOf."""
    components = document["components"]["schemas"]
    if "$ref" in schema:
        return allowed(document, components[schema["$ref"].rsplit("/", 1)[1]])
    for option in schema.get("anyOf", ()):
        if option.get("type") != "null":
            return allowed(document, option)
    enum = schema.get("enum")
    return list(enum) if enum is not None else None


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


class TestTheDocumentListsTheWords:
    @pytest.mark.parametrize(("name", "field", "words"), ANSWERS)
    def test_answer_fields_list_their_values(
        self, document: dict[str, Any], name: str, field: str, words: type[StrEnum]
    ) -> None:
        schema = document["components"]["schemas"][name]["properties"][field]
        assert allowed(document, schema) == [str(w) for w in words]

    def test_a_checked_address_shows_its_reason_from_the_list(
        self, document: dict[str, Any]
    ) -> None:
        suppressed = document["components"]["schemas"]["CheckOut"]["properties"]["suppressed"]
        assert allowed(document, suppressed["additionalProperties"]) == [str(r) for r in Reason]

    def test_the_request_reason_stays_text_checked_by_the_domain(
        self, document: dict[str, Any]
    ) -> None:
        # Declared as a string so that an unknown reason reaches entries.entry_problem, which
        # answers it as the import and the CLI do (see the next test), not with pydantic's
        # enum message.
        reason = document["components"]["schemas"]["SuppressionIn"]["properties"]["reason"]
        assert reason["type"] == "string"
        assert "enum" not in reason


class TestRequests:
    async def test_an_unknown_reason_gets_the_domains_message(
        self, client: httpx.AsyncClient
    ) -> None:
        answer = await client.put(
            "/v1/suppressions/ann@example.com", json={"reason": "spam"}, headers=WRITE
        )
        assert answer.status_code == 422
        body = answer.json()
        assert body["field"] == "reason"
        assert body["error"].startswith("unknown reason 'spam': use one of bounce, ")

    async def test_an_answer_holds_the_plain_words(self, client: httpx.AsyncClient) -> None:
        put = await client.put(
            "/v1/suppressions/ann@example.com", json={"reason": "complaint"}, headers=WRITE
        )
        assert put.status_code == 201
        assert (put.json()["reason"], put.json()["source"]) == ("complaint", "api")
        got = (await client.get("/v1/suppressions/ann@example.com", headers=READ)).json()
        assert (got["reason"], got["source"]) == ("complaint", "api")
        assert [(c["action"], c["reason"]) for c in got["history"]] == [("added", "complaint")]
