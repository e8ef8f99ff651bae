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
            "/v1/suppressions/import", content=b"name\nx@example.com\n", headers=WRITE
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


class TestImportEdgesOverHttp:
    async def test_an_unclosed_quote_loses_no_line(self, client: httpx.AsyncClient) -> None:
        rows = [f"u{i}@example.com,bounce" for i in range(1, 101)]
        rows[40] = 'u41@example.com,"bounce'
        body = "\n".join(rows).encode()  # no header: line 41 is u41
        response = await client.post("/v1/suppressions/import", content=body, headers=WRITE)
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["inserted"], [r["line"] for r in result["rejected"]]) == (99, [41])

    async def test_hostile_ndjson_lines_are_rejected_alone(self, client: httpx.AsyncClient) -> None:
        body = "\n".join(
            ['{"email": "a@example.com"}', "[" * 100_000, '{"email": "\\ud800@x.com"}',
             '{"n": ' + "1" * 5000 + "}", '{"email": "b@example.com"}']
        )  # fmt: skip
        response = await client.post(
            "/v1/suppressions/import?format=ndjson", content=body.encode(), headers=WRITE
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["inserted"], [r["line"] for r in result["rejected"]]) == (2, [2, 3, 4])

    async def test_formula_cells_are_neutralised_and_come_back_exact(
        self, client: httpx.AsyncClient
    ) -> None:
        address = "=cmd|'/Ccalc'!A0@evil.example"
        put = await client.put(
            f"/v1/suppressions/{address}",
            json={"reason": "manual", "note": "@SUM(1+1)"},
            headers=WRITE,
        )
        assert put.status_code in (200, 201), put.text
        exported = await client.get("/v1/suppressions/export", headers=READ)
        [row] = list(csv.DictReader(io.StringIO(exported.text)))
        assert (row["email"], row["note"]) == ("'=cmd|'/ccalc'!a0@evil.example", "'@SUM(1+1)")
        removed = await client.delete(f"/v1/suppressions/{address}", headers=WRITE)
        assert removed.status_code in (200, 204)
        imported = await client.post(
            "/v1/suppressions/import", content=exported.content, headers=WRITE
        )
        assert imported.json()["inserted"] == 1
        entry = await client.get(f"/v1/suppressions/{address}", headers=READ)
        assert entry.json()["note"] == "@SUM(1+1)"

    async def test_a_wrong_format_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/suppressions/import?format=xlsx", content=make_csv(1), headers=WRITE
        )
        assert response.status_code == 422
        assert "format" in response.text

    async def test_a_content_type_that_contradicts_the_format_is_415(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/v1/suppressions/import?format=csv",
            content=b'{"email": "a@example.com"}\n',
            headers={**WRITE, "Content-Type": "application/x-ndjson"},
        )
        assert response.status_code == 415
        assert "format" in response.json()["error"]
        listed = await client.get("/v1/suppressions", headers=READ)
        assert listed.status_code == 200
        assert "a@example.com" not in listed.text

    async def test_the_content_type_gives_the_format_when_none_is_named(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/v1/suppressions/import",
            content=b'{"email": "a@example.com"}\n',
            headers={**WRITE, "Content-Type": "application/x-ndjson"},
        )
        assert (response.status_code, response.json()["inserted"]) == (200, 1)

    async def test_a_multipart_upload_is_415_saying_how(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/suppressions/import",
            files={"file": ("list.csv", make_csv(2), "text/csv")},
            headers=WRITE,
        )
        assert response.status_code == 415
        assert "--data-binary" in response.json()["error"]

    async def test_the_readme_curl_command_imports(self, client: httpx.AsyncClient) -> None:
        # `curl --data-binary @suppressions.csv` (README, "Move the list") sends the file
        # as application/x-www-form-urlencoded unless told otherwise: it is the body itself,
        # not a form, and must be imported, not refused with 415.
        response = await client.post(
            "/v1/suppressions/import?format=csv",
            content=make_csv(2),
            headers={**WRITE, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert (response.status_code, response.json()["inserted"]) == (200, 2)

    async def test_a_header_naming_no_address_column_says_which_it_accepts(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/v1/suppressions/import", content=b"name,reason\nAnn,bounce\n", headers=WRITE
        )
        assert response.status_code == 422
        assert "Email Address" in response.json()["error"]

    async def test_an_endless_line_is_rejected_not_held(self, client: httpx.AsyncClient) -> None:
        body = b"a@example.com," + b"x" * (1 << 20) + b"\nb@example.com\n"
        response = await client.post("/v1/suppressions/import", content=body, headers=WRITE)
        assert response.status_code == 200
        assert [r["line"] for r in response.json()["rejected"]] == [1]
        assert response.json()["inserted"] == 1
