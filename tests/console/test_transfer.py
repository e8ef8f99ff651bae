"""The console's Import & export page: downloads byte for byte as the API's export, uploads
through the API's import (its line numbers), and uploads nobody may send refused unread."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from app import main
from app.console import transfer_page
from app.models import Suppression
from app.suppression import bulk_store
from app.suppression.transfer import importing
from tests.conftest import READ, READ_TOKEN, WRITE, WRITE_TOKEN, AppMaker
from tests.console.conftest import csrf_in, sign_in
from tests.databases import DatabaseFactory, count_rows

Part = tuple[str, str | None, bytes]  # field name, file name (None: not a file), contents

# Lines the API numbers and rejects one by one: a bad address, an unknown reason, an unclosed
# quote (alone: the lines after it still import), bytes that are not UTF-8, a quoted note
# across two lines (one record, two line numbers), a duplicate, CRLF and LF endings mixed.
MIXED_CSV = (
    b"email,reason,note\r\n"
    b"ann@example.com,manual,first\r\n"
    b"x@y@z,manual,bad address\n"
    b"bob@example.com,nope,bad reason\r\n"
    b'cy@example.com,manual,"never closed\n'
    b"dee@example.com,bounce,after the quote\n"
    b"\xff\xfe@example.com,manual,latin junk\n"
    b'eve@example.com,manual,"two\nlines"\n'
    b"ANN@example.com,complaint,a duplicate\n"
    b"\n"
    b"fay@example.com,manual,caf\xc3\xa9\n"
)


def multipart(parts: Sequence[Part]) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body as a browser sends the form, written out by hand so a test
    can send what no browser would."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, filename, contents in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + contents + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def signed_in(client: httpx.AsyncClient, token: str = WRITE_TOKEN) -> str:
    """Signs in; the CSRF token of the session's forms."""
    await sign_in(client, token)
    page = await client.get("/console/transfer")
    assert page.status_code == 200, page.text
    return csrf_in(page.text)


async def upload(
    client: httpx.AsyncClient,
    csrf: str,
    contents: bytes,
    *,
    filename: str = "list.csv",
    fmt: str = "",
) -> httpx.Response:
    body, headers = multipart(
        [
            ("csrf", None, csrf.encode()),
            ("format", None, fmt.encode()),
            ("file", filename, contents),
        ]
    )
    return await client.post("/console/import", content=body, headers=headers)


def facts(page: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"<dt>(\w+)</dt>\s*<dd>(\d+)", page)}


def rejected_rows(page: str) -> list[dict[str, object]]:
    """The "Rejected lines" table, as the API lists them (HTML entities left as escaped)."""
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>(.*?)</td></tr>', page, re.S)
    return [{"line": int(line), "error": error} for line, error in rows]


async def entries(client: httpx.AsyncClient) -> list[dict[str, str]]:
    """The entries stored, without the moments they were stored at."""
    rows = csv.DictReader(io.StringIO(await stored(client)))
    return [{k: v for k, v in row.items() if not k.endswith("d_at")} for row in rows]


async def stored(client: httpx.AsyncClient) -> str:
    """The list as the API exports it."""
    response = await client.get("/v1/suppressions/export", headers=READ)
    assert response.status_code == 200
    return response.text


class ReadProbe:
    """A request body that records whether the app read any of it."""

    def __init__(self) -> None:
        self.read = False

    async def body(self) -> AsyncIterator[bytes]:
        self.read = True
        yield b"email\nread@example.com\n"


class TestTransferPage:
    async def test_a_read_session_sees_the_downloads_and_no_import_form(
        self, client: httpx.AsyncClient
    ) -> None:
        await sign_in(client, READ_TOKEN)
        page = await client.get("/console/transfer")
        assert page.status_code == 200
        assert "<h1>Import and export</h1>" in page.text
        assert 'href="/console/export?format=csv"' in page.text
        assert 'href="/console/export?format=ndjson"' in page.text
        assert 'action="/console/import"' not in page.text
        assert 'aria-current="page">Import &amp; export' in page.text

    async def test_a_write_session_gets_the_import_form(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        page = (await client.get("/console/transfer")).text
        assert 'enctype="multipart/form-data"' in page
        assert '<label for="file">File</label>' in page
        assert '<input id="file" name="file" type="file"' in page
        assert '<label for="format">Format</label>' in page
        for value, text in [("", "From the file name"), ("csv", "CSV"), ("ndjson", "NDJSON")]:
            assert re.search(rf'<option value="{value}"[^>]*>{text}</option>', page)
        assert f'name="csrf" value="{csrf}"' in page
        assert '<button type="submit">Import</button>' in page

    async def test_without_a_session_it_is_the_sign_in_page(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/console/transfer")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/sign-in?next=/console/transfer"


class TestExport:
    @pytest.mark.parametrize("fmt", ["csv", "ndjson"])
    @pytest.mark.parametrize("token", [READ_TOKEN, WRITE_TOKEN])
    async def test_the_same_bytes_as_the_api(
        self, client: httpx.AsyncClient, fmt: str, token: str
    ) -> None:
        for email, reason in [("b@example.com", "bounce"), ("a@example.com", "complaint")]:
            await client.put(f"/v1/suppressions/{email}", json={"reason": reason}, headers=WRITE)
        await client.put(
            "/v1/suppressions/c@example.com",
            json={"reason": "manual", "note": '=cmd|"/c calc"!A1, über'},
            headers=WRITE,
        )
        await sign_in(client, token)
        console = await client.get("/console/export", params={"format": fmt})
        api = await client.get("/v1/suppressions/export", params={"format": fmt}, headers=READ)
        assert console.status_code == api.status_code == 200
        assert console.content == api.content
        assert b"c@example.com" in console.content
        for header in ("content-type", "content-disposition"):
            assert console.headers[header] == api.headers[header]
        assert console.headers["content-disposition"] == (
            f'attachment; filename="suppressions.{fmt}"'
        )

    async def test_an_unknown_format_is_a_422_page(self, client: httpx.AsyncClient) -> None:
        await sign_in(client, READ_TOKEN)
        response = await client.get("/console/export", params={"format": "xlsx"})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        assert 'role="alert"' in response.text

    async def test_without_a_session_nothing_is_exported(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/console/export", params={"format": "csv"})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/sign-in?next=")


class TestImport:
    async def test_numbered_as_the_api_numbers_them(
        self, make_client: AppMaker, databases: DatabaseFactory
    ) -> None:
        console, _ = await make_client()
        csrf = await signed_in(console)
        page = await upload(console, csrf, MIXED_CSV)
        assert page.status_code == 200, page.text
        assert "<h1>Import result</h1>" in page.text
        assert "<caption>Rejected lines</caption>" in page.text

        # The same file through POST /v1/suppressions/import, into a database of its own.
        other = databases.fresh()
        try:
            api_client, _ = await make_client(DATABASE_URL=other)
            api = await api_client.post("/v1/suppressions/import", content=MIXED_CSV, headers=WRITE)
            assert api.status_code == 200
            answer = api.json()
            escaped = [
                {"line": r["line"], "error": _html_escaped(r["error"])} for r in answer["rejected"]
            ]
            assert rejected_rows(page.text) == escaped
            assert [r["line"] for r in answer["rejected"]] == [3, 4, 5, 7]
            assert facts(page.text) == {
                "Inserted": answer["inserted"],
                "Updated": answer["updated"],
                "Unchanged": answer["unchanged"],
                "Rejected": answer["rejected_total"],
            }
            assert await entries(console) == await entries(api_client)
        finally:
            databases.release(other)

    async def test_the_file_is_read_in_chunks_and_lines_come_out_whole(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Chunks of 5 bytes cut through CRLFs, quoted line breaks and UTF-8 sequences.
        monkeypatch.setattr(transfer_page, "_CHUNK", 5)
        csrf = await signed_in(client)
        page = await upload(client, csrf, MIXED_CSV)
        assert page.status_code == 200
        assert [r["line"] for r in rejected_rows(page.text)] == [3, 4, 5, 7]
        assert "café" in await stored(client)

    async def test_recorded_as_the_session_token_name(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        await upload(client, csrf, b"email,reason\nann@example.com,manual\n")
        history = await client.get("/v1/suppressions/ann@example.com/history", headers=READ)
        assert history.status_code == 200
        # API_TOKENS=ops=…: the name, as the API's import records it, never the token.
        assert [c["actor"] for c in history.json()["history"]] == ["ops"]

    async def test_a_file_larger_than_memory_spools_and_imports(
        self, client: httpx.AsyncClient
    ) -> None:
        # Over Starlette's 1 MiB spool: the upload is read back from its temporary file.
        count = 50_000
        body = b"email\n" + b"".join(b"user%06d@example.com\n" % i for i in range(count))
        assert len(body) > 1024 * 1024
        csrf = await signed_in(client)
        page = await upload(client, csrf, body)
        assert page.status_code == 200
        assert facts(page.text)["Inserted"] == count

    @pytest.mark.parametrize(
        ("filename", "fmt", "inserted"),
        [
            ("list.ndjson", "", 1),
            ("LIST.JSONL", "", 1),
            ("list.txt", "ndjson", 1),  # the select wins
            ("list.ndjson", "csv", None),  # read as CSV: no address column
            ("list.txt", "", None),  # neither: CSV
        ],
    )
    async def test_the_format_from_the_select_else_the_file_name(
        self, client: httpx.AsyncClient, filename: str, fmt: str, inserted: int | None
    ) -> None:
        csrf = await signed_in(client)
        page = await upload(
            client, csrf, b'{"email": "nd@example.com"}\n', filename=filename, fmt=fmt
        )
        if inserted is None:
            assert page.status_code == 422
            assert 'role="alert"' in page.text
            assert "nd@example.com" not in await stored(client)
        else:
            assert page.status_code == 200, page.text
            assert facts(page.text)["Inserted"] == inserted

    async def test_a_tsv_file_is_csv(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        page = await upload(
            client, csrf, b"email\treason\nt@example.com\tmanual\n", filename="l.tsv"
        )
        assert page.status_code == 200
        assert facts(page.text)["Inserted"] == 1

    async def test_a_database_lost_mid_import_says_which_lines_are_stored(
        self, client: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # As tests/api/test_transfer_outage.py: the second batch's write fails as a lost
        # connection does.
        monkeypatch.setattr(importing, "IMPORT_BATCH", 3)
        insert_new = bulk_store.insert_entries
        calls = 0

        async def lose_second(*args: object, **kwargs: object) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise OperationalError("INSERT", None, ConnectionResetError("reset by peer"))
            await insert_new(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(bulk_store, "insert_entries", lose_second)
        lines = b"".join(b"u%d@example.com\n" % i for i in range(1, 10))
        csrf = await signed_in(client)
        page = await upload(client, csrf, b"email\n" + lines)
        assert page.status_code == 503
        assert page.headers["retry-after"] == "5"
        assert "lines 1 to 4 are stored" in page.text
        assert "import the whole file again" in page.text
        assert await count_rows(database_url, Suppression) == 3


def _html_escaped(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


class TestHostileUploads:
    async def test_no_file_chosen_is_422_choose_a_file(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        # A browser sends an empty file part with filename="" when none was chosen.
        page = await upload(client, csrf, b"", filename="")
        assert page.status_code == 422
        assert "choose a file" in page.text

    async def test_no_file_part_at_all_is_422(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        body, headers = multipart([("csrf", None, csrf.encode()), ("file", None, b"email\n")])
        page = await client.post("/console/import", content=body, headers=headers)
        assert page.status_code == 422
        assert "choose a file" in page.text

    async def test_two_files_are_refused_and_neither_stored(
        self, client: httpx.AsyncClient
    ) -> None:
        csrf = await signed_in(client)
        body, headers = multipart(
            [
                ("csrf", None, csrf.encode()),
                ("file", "a.csv", b"email\na@example.com\n"),
                ("file", "b.csv", b"email\nb@example.com\n"),
            ]
        )
        page = await client.post("/console/import", content=body, headers=headers)
        assert page.status_code == 400
        assert "Too many files" in page.text
        assert "<h1>" in page.text
        assert "example.com" not in await stored(client)

    async def test_a_huge_field_is_refused(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        body, headers = multipart(
            [
                ("csrf", None, csrf.encode()),
                ("note", None, b"x" * (2 * 1024 * 1024)),
                ("file", "a.csv", b"email\na@example.com\n"),
            ]
        )
        page = await client.post("/console/import", content=body, headers=headers)
        assert page.status_code == 400
        assert "exceeded maximum size" in page.text
        assert "a@example.com" not in await stored(client)

    async def test_many_fields_are_refused(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        parts: list[Part] = [("csrf", None, csrf.encode())]
        parts += [(f"f{i}", None, b"1") for i in range(20)]
        body, headers = multipart(parts)
        page = await client.post("/console/import", content=body, headers=headers)
        assert page.status_code == 400
        assert "Too many fields" in page.text

    async def test_a_broken_multipart_body_is_400(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        body, headers = multipart(
            [("csrf", None, csrf.encode()), ("file", "a.csv", b"email\nm@example.com\n")]
        )
        # A part's header line without its colon.
        broken = body.replace(b"Content-Type: application", b"Content-Type application")
        page = await client.post("/console/import", content=broken, headers=headers)
        assert page.status_code == 400
        assert "Invalid multipart data" in page.text
        no_boundary = await client.post(
            "/console/import", content=body, headers={"Content-Type": "multipart/form-data"}
        )
        assert no_boundary.status_code == 400
        assert "boundary" in no_boundary.text
        # Cut off inside the file: refused, not imported as far as it goes.
        cut = await client.post("/console/import", content=body[:-40], headers=headers)
        assert cut.status_code == 400
        assert "cut off" in cut.text
        assert "m@example.com" not in await stored(client)

    @pytest.mark.parametrize(
        "content_type", ["application/x-www-form-urlencoded", "text/csv", None]
    )
    async def test_a_post_that_is_no_upload_form_is_415(
        self, client: httpx.AsyncClient, content_type: str | None
    ) -> None:
        csrf = await signed_in(client)
        headers = {"Content-Type": content_type} if content_type else {}
        page = await client.post(
            "/console/import",
            content=f"csrf={csrf}&file=a%40example.com".encode(),
            headers=headers,
        )
        assert page.status_code == 415
        assert "/v1/suppressions/import" in page.text
        assert "a@example.com" not in await stored(client)

    async def test_an_unclosed_quote_is_one_rejected_line(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        page = await upload(
            client, csrf, b'email,note\na@example.com,"open\nb@example.com,x\nc@example.com,y\n'
        )
        assert page.status_code == 200
        assert [r["line"] for r in rejected_rows(page.text)] == [2]
        assert facts(page.text)["Inserted"] == 2

    async def test_utf16_is_a_422_page_saying_what_to_do(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        page = await upload(client, csrf, "email\r\nu@example.com\r\n".encode("utf-16"))
        assert page.status_code == 422
        assert "UTF-16" in page.text
        assert "CSV UTF-8" in page.text
        assert "u@example.com" not in await stored(client)

    @pytest.mark.parametrize(
        "junk",
        [
            bytes(range(256)) * 8,
            b"email\n" + bytes(range(256)) * 8,
            b"\x00" * 5000,
            b"PK\x03\x04" + bytes(range(200)),  # an .xlsx is a zip
        ],
    )
    async def test_binary_junk_is_never_a_500(
        self, client: httpx.AsyncClient, database_url: str, junk: bytes
    ) -> None:
        csrf = await signed_in(client)
        page = await upload(client, csrf, junk, filename="junk.bin")
        assert page.status_code in (200, 422), page.text
        assert page.headers["content-type"].startswith("text/html")
        assert await count_rows(database_url, Suppression) == 0

    async def test_a_read_session_is_refused_before_the_body_is_read(
        self, client: httpx.AsyncClient
    ) -> None:
        csrf = await signed_in(client, READ_TOKEN)
        probe = ReadProbe()
        _, headers = multipart([("csrf", None, csrf.encode()), ("file", "a.csv", b"")])
        response = await client.post("/console/import", content=probe.body(), headers=headers)
        assert response.status_code == 403
        assert "read-only" in response.text
        assert not probe.read
        # Sent whole, with the session's own CSRF token: still refused, nothing stored.
        page = await upload(client, csrf, b"email\nr@example.com\n")
        assert page.status_code == 403
        assert "r@example.com" not in await stored(client)

    async def test_an_anonymous_upload_is_not_read(self, client: httpx.AsyncClient) -> None:
        probe = ReadProbe()
        _, headers = multipart([("file", "a.csv", b"")])
        response = await client.post("/console/import", content=probe.body(), headers=headers)
        assert response.status_code == 303
        assert response.headers["location"] == "/console/sign-in?next=/console"
        assert not probe.read

    async def test_a_write_session_body_is_read(self, client: httpx.AsyncClient) -> None:
        # The counterpart of the two above: the probe does see a body being read.
        await signed_in(client)
        probe = ReadProbe()
        _, headers = multipart([("file", "a.csv", b"")])
        response = await client.post("/console/import", content=probe.body(), headers=headers)
        assert response.status_code == 400
        assert probe.read

    @pytest.mark.parametrize("csrf", [None, "", "not-the-token"])
    async def test_without_the_csrf_token_nothing_is_stored(
        self, client: httpx.AsyncClient, csrf: str | None
    ) -> None:
        await signed_in(client)
        parts: list[Part] = [("file", "a.csv", b"email\nc@example.com\n")]
        if csrf is not None:
            parts.insert(0, ("csrf", None, csrf.encode()))
        body, headers = multipart(parts)
        page = await client.post("/console/import", content=body, headers=headers)
        assert page.status_code == 403
        assert "security token" in page.text
        assert "c@example.com" not in await stored(client)

    async def test_from_another_site_nothing_is_stored(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        body, headers = multipart(
            [("csrf", None, csrf.encode()), ("file", "a.csv", b"email\no@x.org\n")]
        )
        page = await client.post(
            "/console/import", content=body, headers={**headers, "Origin": "https://evil.example"}
        )
        assert page.status_code == 403
        assert "o@x.org" not in await stored(client)

    async def test_an_unknown_format_is_422(self, client: httpx.AsyncClient) -> None:
        csrf = await signed_in(client)
        page = await upload(client, csrf, b"email\nf@example.com\n", fmt="xlsx")
        assert page.status_code == 422
        assert "f@example.com" not in await stored(client)


class TestBodyLimit:
    async def test_an_upload_has_no_size_limit_other_forms_do(
        self, make_client: AppMaker, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The default limit is made small so an upload over it is quick to send.
        monkeypatch.setattr(main, "DEFAULT_BODY_LIMIT", 4096)
        client, _ = await make_client()
        csrf = await signed_in(client)
        body = b"email\n" + b"".join(b"big%05d@example.com\n" % i for i in range(1000))
        page = await upload(client, csrf, body)
        assert page.status_code == 200, page.text
        assert facts(page.text)["Inserted"] == 1000
        refused = await client.post(
            "/console/subscriptions/confirm", data={"csrf": csrf, "topic_arn": "x" * 8000}
        )
        assert refused.status_code == 413
