"""/v1/suppressions/export, /import and /check are theirs whatever order the routers are in.

An address path segment must hold an "@" (app.api.suppressions' convertor), so no
``/{email}`` route can take a fixed path. app.main includes the transfer router first;
these tests also include it last, the order in which GET …/export would reach the address
lookup if an address could be any segment.
"""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match

from app.api import suppressions, transfer
from tests.conftest import READ, WRITE

FIXED = ("/v1/suppressions/export", "/v1/suppressions/import", "/v1/suppressions/check")


def transfer_router_last(app: FastAPI) -> None:
    """Include the transfer router after the suppressions router: move its entry, in place
    (the app's router reads its route list on every request)."""
    routes = app.router.routes
    (moved,) = [r for r in routes if getattr(r, "original_router", None) is transfer.router]
    routes.remove(moved)
    (after,) = [r for r in routes if getattr(r, "original_router", None) is suppressions.router]
    routes.insert(routes.index(after) + 1, moved)


def full_matches(method: str, path: str) -> list[str]:
    """The templates of the /v1/suppressions routes that take ``method path`` whole."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return [
        route.path
        for router in (suppressions.router, transfer.router)
        for route in router.routes
        if isinstance(route, APIRoute) and route.matches(scope)[0] is Match.FULL
    ]


class TestFixedPathsWhateverTheOrder:
    @pytest.mark.parametrize("path", FIXED)
    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST"])
    def test_no_address_route_takes_a_fixed_path(self, method: str, path: str) -> None:
        # At most the fixed path's own route takes it: the order of the routes cannot matter.
        assert set(full_matches(method, path)) <= {path}

    def test_an_address_that_looks_like_a_fixed_path_is_an_address(self) -> None:
        assert full_matches("GET", "/v1/suppressions/export@example.com") == [
            "/v1/suppressions/{email:address}"
        ]

    async def test_export_is_the_export_with_its_router_last(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        transfer_router_last(app)
        put = await client.put(
            "/v1/suppressions/ann@example.com", json={"reason": "bounce"}, headers=WRITE
        )
        assert put.status_code == 201, put.text
        exported = await client.get("/v1/suppressions/export", headers=READ)
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(r["email"], r["reason"]) for r in rows] == [("ann@example.com", "bounce")]
        ndjson = await client.get(
            "/v1/suppressions/export", params={"format": "ndjson"}, headers=READ
        )
        assert [json.loads(line)["email"] for line in ndjson.text.splitlines()] == [
            "ann@example.com"
        ]

    async def test_import_is_the_import_with_its_router_last(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        transfer_router_last(app)
        imported = await client.post(
            "/v1/suppressions/import",
            content=b"email,reason\r\nbob@example.com,complaint\r\n",
            params={"format": "csv"},
            headers=WRITE,
        )
        assert imported.status_code == 200, imported.text
        found = await client.get("/v1/suppressions/bob@example.com", headers=READ)
        assert found.status_code == 200
        assert found.json()["reason"] == "complaint"
