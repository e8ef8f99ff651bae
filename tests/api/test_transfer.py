"""GET /v1/suppressions/export and POST /v1/suppressions/import over HTTP."""

from __future__ import annotations

import csv
import io
import json

import httpx

from tests.conftest import READ, WRITE


class TestExportImport:
    async def test_round_trip_between_two_bouncers(
        self, client: httpx.AsyncClient, make_client: object
    ) -> None:
        for email, reason in [("a@example.com", "bounce"), ("b@example.com", "complaint")]:
            await client.put(f"/v1/suppressions/{email}", json={"reason": reason}, headers=WRITE)
        exported = await client.get("/v1/suppressions/export", headers=READ)
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        assert "attachment" in exported.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert {(r["email"], r["reason"]) for r in rows} == {
            ("a@example.com", "bounce"),
            ("b@example.com", "complaint"),
        }
        ndjson = await client.get(
            "/v1/suppressions/export", params={"format": "ndjson"}, headers=READ
        )
        lines = [json.loads(line) for line in ndjson.text.splitlines()]
        assert {line["email"] for line in lines} == {"a@example.com", "b@example.com"}

        body = exported.text + "not-an-address,manual\r\n"
        imported = await client.post(
            "/v1/suppressions/import",
            content=body.encode(),
            params={"format": "csv"},
            headers=WRITE,
        )
        assert imported.status_code == 200, imported.text
        result = imported.json()
        assert result["inserted"] == 0
        assert result["rejected_total"] == 1
        assert result["rejected"][0]["line"] == 4

    async def test_import_adds_and_reports_bad_lines(self, client: httpx.AsyncClient) -> None:
        body = "email,reason\r\nnew@example.com,manual\r\nx@y@z,manual\r\nok@example.org,nope\r\n"
        response = await client.post(
            "/v1/suppressions/import", content=body.encode(), headers=WRITE
        )
        assert response.status_code == 200
        assert response.json()["inserted"] == 1
        assert [r["line"] for r in response.json()["rejected"]] == [3, 4]
        check = await client.post(
            "/v1/suppressions/check", json={"emails": ["NEW@example.com"]}, headers=READ
        )
        assert check.json()["suppressed"] == {"NEW@example.com": "manual"}


def make_csv(n: int) -> bytes:
    return ("email,reason\r\n" + "".join(f"u{i}@example.com,bounce\r\n" for i in range(n))).encode()


class TestAccessAndStreaming:
    async def test_import_needs_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/suppressions/import", content=make_csv(1))
        assert response.status_code == 401

    async def test_a_read_token_may_not_import(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/suppressions/import", content=make_csv(1), headers=READ)
        assert response.status_code == 403

    async def test_export_needs_a_token_and_a_known_format(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/v1/suppressions/export")).status_code == 401
        response = await client.get("/v1/suppressions/export?format=xml", headers=READ)
        assert response.status_code == 422

    async def test_a_header_without_email_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/suppressions/import", content=b"address\nx@example.com\n", headers=WRITE
        )
        assert response.status_code == 422

    async def test_10k_rows_round_trip(self, client: httpx.AsyncClient) -> None:
        n = 10_000
        imported = await client.post("/v1/suppressions/import", content=make_csv(n), headers=WRITE)
        assert imported.json()["inserted"] == n
        response = await client.get("/v1/suppressions/export?format=csv", headers=READ)
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == 'attachment; filename="suppressions.csv"'
        assert len(list(csv.DictReader(io.StringIO(response.text)))) == n
        again = await client.post(
            "/v1/suppressions/import", content=response.content, headers=WRITE
        )
        assert (again.json()["inserted"], again.json()["unchanged"]) == (0, n)
        ndjson = await client.get("/v1/suppressions/export?format=ndjson", headers=READ)
        assert ndjson.headers["content-type"] == "application/x-ndjson"
        assert len(ndjson.text.splitlines()) == n
