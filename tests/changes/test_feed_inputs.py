"""GET /v1/changes against hostile input: every bad cursor or limit is a 422 naming it,
never a 500 nor a page; a read token may poll, no token may not."""

from __future__ import annotations

import httpx
import pytest

from tests.changes.sweeping import feed, put
from tests.conftest import READ, WRITE


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=-1", "cursor"),
        ("cursor=abc", "cursor"),
        ("cursor=1e3", "cursor"),
        ("cursor=1.0", "cursor"),
        ("cursor=+1", "cursor"),
        ("cursor=%201", "cursor"),
        ("cursor=0x10", "cursor"),
        ("cursor=%D9%A1", "cursor"),  # an Arabic-Indic one: a digit to str.isdigit
        ("cursor=" + "9" * 30, "cursor"),
        ("cursor=9223372036854775808", "cursor"),  # one past the largest position
        ("cursor=" + "1" * 40, "cursor"),
        ("cursor=%00", "cursor"),
        ("cursor=", "cursor"),
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("limit=", "limit"),
        ("limit=1e3", "limit"),
        ("limit=99999999999999999999999", "limit"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, query: str, field: str
) -> None:
    await put(client, "kept@example.com")
    response = await client.get(f"/v1/changes?{query}", headers=READ)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == field
    assert field in body["error"]
    items, _ = await feed(client)
    assert [item["type"] for item in items] == ["suppression.added"]  # nothing changed


@pytest.mark.parametrize("cursor", ["0", "1", "9223372036854775807"])
async def test_any_position_is_a_cursor(client: httpx.AsyncClient, cursor: str) -> None:
    await put(client, "one@example.com")
    response = await client.get("/v1/changes", params={"cursor": cursor}, headers=READ)
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["items"]) == (1 if cursor == "0" else 0)
    # After the one event from the start; a cursor past it stays where it was.
    assert body["next_cursor"] == ("1" if cursor == "0" else cursor)


async def test_who_may_poll(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/changes", headers=READ)).status_code == 200
    assert (await client.get("/v1/changes", headers=WRITE)).status_code == 200
    anonymous = await client.get("/v1/changes")
    assert anonymous.status_code == 401
    assert "error" in anonymous.json()
    wrong = await client.get("/v1/changes", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401
