"""GET /console/suppressions: the list, its filters and pages, and what bad filters get."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.db import Database
from app.suppression import entries
from app.vocabulary import Source
from tests.conftest import READ, WRITE
from tests.console.pages import alerts, field_value, heading, link, parse, table

LIST = "/console/suppressions"


async def import_entries(client: httpx.AsyncClient, *rows: dict[str, str]) -> None:
    """Entries through POST /v1/suppressions/import (created_at as given)."""
    body = "".join(json.dumps(row) + "\n" for row in rows)
    answer = await client.post(
        "/v1/suppressions/import",
        content=body.encode(),
        params={"format": "ndjson"},
        headers=WRITE,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["inserted"] == len(rows), answer.text


def addresses(html: str) -> list[str]:
    return [row[0] for row in table(html, "Suppressed addresses") if len(row) == 5]


async def total(client: httpx.AsyncClient) -> int:
    listed = await client.get("/v1/suppressions", params={"limit": 1000}, headers=READ)
    return len(listed.json()["items"])


class TestSignedOut:
    async def test_the_list_asks_to_sign_in_and_comes_back(self, client: httpx.AsyncClient) -> None:
        answer = await client.get(LIST, params={"reason": "bounce"})
        assert answer.status_code == 303
        assert answer.headers["location"] == (
            "/console/sign-in?next=/console/suppressions%3Freason%3Dbounce"
        )


class TestTheList:
    async def test_rows_link_to_their_address_page(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        await import_entries(
            client,
            {"email": "Ann+News@Example.com", "reason": "bounce", "created_at": "2026-03-01"},
            {"email": "bob@example.org", "reason": "complaint", "created_at": "2026-03-02"},
        )
        page = await client.get(LIST)
        assert page.status_code == 200
        assert heading(page.text) == "Suppressions"
        rows = table(page.text, "Suppressed addresses")
        assert rows == [
            ["bob@example.org", "complaint", "import", "2026-03-02 00:00 UTC", "never"],
            ["Ann+News@Example.com", "bounce", "import", "2026-03-01 00:00 UTC", "never"],
        ]
        # The link carries the key, "+" encoded so that it does not become a space.
        assert link(page.text, "Ann+News@Example.com") == (
            "/console/address?email=ann%2Bnews%40example.com"
        )
        shown = await client.get(link(page.text, "Ann+News@Example.com") or "")
        assert heading(shown.text) == "ann+news@example.com"
        assert link(page.text, "Next page") is None

    async def test_the_page_has_the_look_up_and_filter_forms(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        root = parse((await client.get(LIST)).text)
        [lookup] = root.all("form", action="/console/address")
        assert lookup.attrs["method"] == "get"
        assert lookup.one("button").text() == "Look up"
        [filters] = root.all("form", action=LIST)
        labels = [label.text() for label in filters.all("label")]
        assert labels == [
            "Reason",
            "Domain",
            "Created since",
            "Created until",
            "Address starts with",
            "Include expired",
        ]
        assert next(o.text() for o in filters.all("option")) == "Any reason"
        assert {i.attrs["name"]: i.attrs["type"] for i in filters.all("input")} == {
            "domain": "text",
            "since": "date",
            "until": "date",
            "q": "text",
            "include_expired": "checkbox",
        }
        assert filters.one("button").text() == "Filter"

    async def test_a_read_session_sees_the_list(
        self, client: httpx.AsyncClient, reader: tuple[httpx.AsyncClient, str]
    ) -> None:
        await import_entries(client, {"email": "ann@example.com", "reason": "bounce"})
        other, _ = reader
        page = await other.get(LIST)
        assert page.status_code == 200
        assert addresses(page.text) == ["ann@example.com"]


class TestPaging:
    async def test_250_entries_are_three_pages_each_address_once_filters_kept(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        # Ties on created_at (ten entries a day) are what the cursor's email part is for.
        wanted = [
            {
                "email": f"user{n:03d}@example.com",
                "reason": "bounce",
                "created_at": f"2026-0{1 + n // 100}-{1 + (n // 10) % 10:02d}T12:00:00Z",
            }
            for n in range(250)
        ]
        others = [
            {"email": "other@example.org", "reason": "bounce"},
            {"email": "user999@example.com", "reason": "complaint"},
        ]
        await import_entries(client, *wanted, *others)
        seen: list[str] = []
        href: str | None = f"{LIST}?reason=bounce&domain=example.com&q=user"
        pages = 0
        while href is not None:
            page = await client.get(href)
            assert page.status_code == 200, page.text
            pages += 1
            seen += addresses(page.text)
            assert field_value(page.text, "domain") == "example.com"
            assert field_value(page.text, "reason") == "bounce"
            href = link(page.text, "Next page")
            if href is not None:
                query = parse_qs(urlsplit(href).query)
                assert (query["reason"], query["domain"], query["q"]) == (
                    ["bounce"],
                    ["example.com"],
                    ["user"],
                )
                assert parse(page.text).one("a", rel="next").attrs["href"] == href
        assert pages == 3
        assert len(seen) == 250
        assert sorted(seen) == sorted(entry["email"] for entry in wanted)

    async def test_the_next_page_offers_the_first_again(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        await import_entries(
            client, *({"email": f"u{n:03d}@example.com", "reason": "manual"} for n in range(101))
        )
        first = await client.get(LIST, params={"reason": "manual"})
        second = await client.get(link(first.text, "Next page") or "")
        assert len(addresses(second.text)) == 1
        assert link(second.text, "First page") == f"{LIST}?reason=manual"


ALL = ["d@example.org", "c@example.org", "b@example.com", "a@example.com"]


class TestFilters:
    @pytest.fixture(autouse=True)
    async def listed(self, client: httpx.AsyncClient, writer: str, database_url: str) -> None:
        await import_entries(
            client,
            {"email": "a@example.com", "reason": "bounce", "created_at": "2026-11-30T23:59:59Z"},
            {"email": "b@example.com", "reason": "complaint", "created_at": "2026-12-01T00:00Z"},
            {"email": "c@example.org", "reason": "bounce", "created_at": "2026-12-01T23:59:59Z"},
            {"email": "d@example.org", "reason": "manual", "created_at": "2026-12-02T00:00Z"},
        )
        # An entry that has expired: added as if on 1 November, for a week.
        database = Database(database_url)
        try:
            async with database.session() as session:
                await entries.add(
                    session, "e@example.com", reason="soft_bounce", note=None,
                    expires_at=datetime(2026, 11, 8, tzinfo=UTC), actor="test",
                    source=Source.API, now=datetime(2026, 11, 1, tzinfo=UTC),
                )  # fmt: skip
        finally:
            await database.dispose()

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"reason": "bounce"}, ["c@example.org", "a@example.com"]),
            ({"domain": "EXAMPLE.org"}, ["d@example.org", "c@example.org"]),
            ({"q": "B@"}, ["b@example.com"]),
            # A date picker's day: "until 1 December" includes all of 1 December (UTC).
            ({"since": "2026-12-01", "until": "2026-12-01"}, ["c@example.org", "b@example.com"]),
            ({"until": "2026-11-30"}, ["a@example.com"]),
            # A time typed by hand is an instant, exclusive, as the API reads it.
            ({"until": "2026-12-01T00:00:00Z"}, ["a@example.com"]),
            ({"since": "2026-12-02T00:00:00+01:00"}, ["d@example.org", "c@example.org"]),
            ({"since": "2027-06-01"}, []),  # the future: nothing yet, not an error
            ({"until": "9999-12-31"}, ALL),
            ({"include_expired": "1", "reason": "soft_bounce"}, ["e@example.com"]),
            ({"reason": "soft_bounce"}, []),
            ({"reason": "", "domain": "", "q": ""}, ALL),
        ],
    )
    async def test_filter(
        self, client: httpx.AsyncClient, params: dict[str, str], expected: list[str]
    ) -> None:
        page = await client.get(LIST, params=params)
        assert page.status_code == 200, alerts(page.text)
        assert addresses(page.text) == expected
        for name, value in params.items():
            if name != "include_expired":
                assert field_value(page.text, name) == value

    @pytest.mark.parametrize(
        ("params", "status"),
        [
            ({"until": "2026-12-01T00:00:00Z"}, 200),
            ({"since": "2026-12-02T00:00:00+01:00"}, 200),
            ({"since": "yesterday"}, 422),
            ({"until": "2026-13-45"}, 422),  # a day's form, but no day
        ],
    )
    async def test_a_moment_a_date_input_cannot_hold_is_shown_as_text(
        self, client: httpx.AsyncClient, params: dict[str, str], status: int
    ) -> None:
        # A browser empties a type=date input whose value is not YYYY-MM-DD (HTML's value
        # sanitization algorithm): the page would filter by a bound its form hides, and the
        # next Filter would drop it without a word.
        page = await client.get(LIST, params=params)
        assert page.status_code == status
        [(name, value)] = params.items()
        field = parse(page.text).one("input", name=name)
        assert (field.attrs["type"], field.attrs["value"]) == ("text", value)
        # A day stays a date picker.
        other = "since" if name == "until" else "until"
        assert parse(page.text).one("input", name=other).attrs["type"] == "date"

    async def test_an_expired_entry_says_so_in_words(self, client: httpx.AsyncClient) -> None:
        page = await client.get(LIST, params={"include_expired": "1", "reason": "soft_bounce"})
        [row] = table(page.text, "Suppressed addresses")
        assert row[4] == "2026-11-08 00:00 UTC (expired)"
        assert "checked" in parse(page.text).one("input", name="include_expired").attrs


class TestBadFilters:
    @pytest.mark.parametrize(
        ("params", "label"),
        [
            ({"reason": "hard"}, "Reason"),
            ({"reason": "bounce\x00"}, "Reason"),
            ({"domain": "not a domain"}, "Domain"),
            ({"domain": "x" * 5000}, "Domain"),
            ({"since": "yesterday"}, "Created since"),
            ({"since": "2026-13-45"}, "Created since"),
            ({"since": "0000-01-01"}, "Created since"),
            ({"until": "2026-02-30"}, "Created until"),
            ({"until": "99999-01-01"}, "Created until"),
            ({"until": "9999-12-31T23:00:00-05:00"}, "Created until"),
            ({"since": "2026-12-02", "until": "2026-12-01"}, "Created until"),
            ({"since": "2026-12-01T10:00Z", "until": "2026-12-01T10:00Z"}, "Created until"),
            ({"q": "a" * 5000}, "Address starts with"),
            ({"q": "ann\x00"}, "Address starts with"),
            ({"include_expired": "maybe"}, "Include expired"),
            ({"cursor": "garbage"}, "Next page"),
            ({"cursor": "W1siMjAyNi0xMi0wMSJdXQ"}, "Next page"),  # valid base64, wrong shape
            ({"cursor": "x" * 5000}, "Next page"),
        ],
    )
    async def test_422_with_the_form_again_naming_the_field(
        self, client: httpx.AsyncClient, writer: str, params: dict[str, str], label: str
    ) -> None:
        await import_entries(client, {"email": "ann@example.com", "reason": "bounce"})
        page = await client.get(LIST, params=params)
        assert page.status_code == 422, page.text
        [alert] = alerts(page.text)
        assert alert.startswith(f"{label}: "), alert
        assert parse(page.text).all("form", action=LIST)
        assert await total(client) == 1

    async def test_every_wrong_field_is_named_at_once(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        page = await client.get(LIST, params={"reason": "zz", "since": "x", "q": "a\x00"})
        assert page.status_code == 422
        lines = [p.text() for p in parse(page.text).one("div", role="alert").all("p")]
        assert [line.split(":")[0] for line in lines] == [
            "Reason",
            "Created since",
            "Address starts with",
        ]
        assert parse(page.text).one("input", name="since").attrs["aria-invalid"] == "true"
        assert "aria-invalid" not in parse(page.text).one("input", name="domain").attrs

    async def test_a_tampered_cursor_is_refused(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        await import_entries(
            client, *({"email": f"u{n:03d}@example.com", "reason": "manual"} for n in range(101))
        )
        first = await client.get(LIST)
        href = link(first.text, "Next page") or ""
        cursor = parse_qs(urlsplit(href).query)["cursor"][0]
        tampered = cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")
        page = await client.get(LIST, params={"cursor": tampered})
        assert page.status_code == 422
        [alert] = alerts(page.text)
        assert alert.startswith("Next page: ")
        assert link(page.text, "Start again from the first page") == LIST

    async def test_bad_text_is_shown_back_escaped(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        page = await client.get(LIST, params={"domain": "<b>x</b>", "since": "<i>"})
        assert page.status_code == 422
        assert "<b>x</b>" not in page.text
        assert "<i>" not in page.text
        assert "&lt;b&gt;x&lt;/b&gt;" in page.text


class TestEscaping:
    async def test_a_quoted_local_part_with_markup_is_text(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        hostile = '"<script>alert(1)</script>"@example.com'
        made = await client.put(f"/v1/suppressions/{hostile}", json={}, headers=WRITE)
        assert made.status_code == 201, made.text
        page = await client.get(LIST)
        assert "<script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert addresses(page.text) == [hostile]
        shown = await client.get(link(page.text, hostile) or "")
        assert shown.status_code == 200
        assert heading(shown.text) == hostile
        assert "<script>" not in shown.text
