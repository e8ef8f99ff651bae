"""POST /v1/suppressions/check writes its answer itself (not through CheckOut) and reads
through Database.read: the same JSON, types and statuses as the declared model."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from app.api.schemas import CheckOut
from tests.conftest import READ, WRITE, replace_services
from tests.outages import unreachable_database

CHECK = "/v1/suppressions/check"


async def test_the_answer_is_a_check_out(client: httpx.AsyncClient) -> None:
    await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
    emails = ["Ann@Example.com", "zoë <bob@example.org>", "nope", "\x01@x", "cy@example.net"]
    response = await client.post(CHECK, json={"emails": emails}, headers=READ)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert CheckOut.model_validate(body).model_dump(mode="json") == body
    assert body["suppressed"] == {"Ann@Example.com": "manual"}
    assert body["allowed"] == ["zoë <bob@example.org>", "cy@example.net"]
    assert [item["email"] for item in body["invalid"]] == ["nope", "\x01@x"]


async def test_an_outage_is_503_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    healthy = app.state.services.database
    down = unreachable_database(healthy.url, tmp_path)
    before = replace_services(app, database=down)
    try:
        response = await client.post(CHECK, json={"emails": ["ann@example.com"]}, headers=READ)
    finally:
        await down.dispose()
        app.state.services = before
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"].startswith("the database is unreachable (")
