"""GET /console/address: one address's entry, events and history, for read and write
sessions, and what an address that is none gets."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import TOPIC, WRITE
from tests.console.pages import (
    alerts,
    facts,
    field_value,
    forms,
    heading,
    notices,
    parse,
    table,
)
from tests.ses_payloads import bounce, delivery, post_ses
from tests.signing import SnsSigner

PAGE = "/console/address"
# What a receiving server wrote back: attacker-controlled text that SES passes on.
HOSTILE_DIAGNOSTIC = "smtp; 550 5.1.1 <script>alert('x')</script> & \"quoted\" <b>bold</b>"


def bounce_with_diagnostic(email: str, diagnostic: str) -> str:
    message = json.loads(bounce([email]))
    message["bounce"]["bouncedRecipients"][0]["diagnosticCode"] = diagnostic
    return json.dumps(message)


async def ingest(client: httpx.AsyncClient, signer: SnsSigner, message: str) -> None:
    answer = await post_ses(client, signer, message, topic_arn=TOPIC)
    assert answer.status_code == 200, answer.text


class TestSuppressed:
    async def test_facts_events_and_history_of_a_bounced_address(
        self, client: httpx.AsyncClient, signer: SnsSigner, writer: str
    ) -> None:
        await ingest(client, signer, bounce_with_diagnostic("Ann@Example.com", HOSTILE_DIAGNOSTIC))
        page = await client.get(PAGE, params={"email": " Ann <ANN@example.COM> "})
        assert page.status_code == 200, page.text
        assert heading(page.text) == "ann@example.com"
        shown = facts(page.text)
        assert shown["Reason"] == "bounce"
        assert shown["Subtype"] == "General"
        assert shown["Source"] == "sns"
        assert shown["Diagnostic"] == HOSTILE_DIAGNOSTIC
        assert shown["Expires"] == "never (until removed)"
        assert shown["Note"] == "—"
        assert shown["First seen as"] == "Ann@Example.com"
        assert set(shown) >= {"Created", "Updated"}
        [event] = table(page.text, "Events")
        assert event[1] == "Bounce · Permanent · General"
        assert event[2] == f"hard_bounce · 5.1.1 {HOSTILE_DIAGNOSTIC}"
        [change] = table(page.text, "History")
        assert change[1:] == ["added", "sns", "bounce", "—"]
        # Escaped, never markup: the diagnostic is text inside <code>.
        assert "<script>" not in page.text
        assert "<b>bold</b>" not in page.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;quoted&#34;" in page.text

    async def test_a_write_session_gets_the_remove_form(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        page = await client.get(PAGE, params={"email": "ann@example.com"})
        [form] = forms(page.text, "/console/address/remove")
        assert form.attrs["method"] == "post"
        assert form.one("label").text() == "Note (why)"
        assert form.one("textarea").attrs["name"] == "note"
        assert form.one("button").text() == "Remove from the list"
        hidden = {i.attrs["name"]: i.attrs["value"] for i in form.all("input")}
        assert hidden == {"csrf": writer, "email": "ann@example.com"}
        assert not forms(page.text, "/console/add")

    async def test_a_read_session_sees_the_entry_and_no_form(
        self, client: httpx.AsyncClient, reader: tuple[httpx.AsyncClient, str]
    ) -> None:
        await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        other, _ = reader
        page = await other.get(PAGE, params={"email": "ann@example.com"})
        assert page.status_code == 200
        assert facts(page.text)["Reason"] == "manual"
        assert not parse(page.text).all("form", method="post", action="/console/address/remove")
        assert not forms(page.text, "/console/add")


class TestNotSuppressed:
    async def test_events_show_without_an_entry_and_the_add_form_is_filled(
        self, client: httpx.AsyncClient, signer: SnsSigner, writer: str
    ) -> None:
        await ingest(client, signer, delivery(["bob@example.org"]))
        page = await client.get(PAGE, params={"email": "Bob@Example.org"})
        assert page.status_code == 200
        assert heading(page.text) == "bob@example.org"
        assert [p.text() for p in parse(page.text).all("p") if p.text() == "Not suppressed"]
        [event] = table(page.text, "Events")
        assert event[1:] == ["Delivery", "delivery 250 ok"]  # the SMTP response
        assert table(page.text, "History") == [["This address has never been on the list."]]
        [form] = forms(page.text, "/console/add")
        assert field_value(form, "email") == "bob@example.org"
        assert field_value(form, "reason") == "manual"

    async def test_a_removed_address_explains_itself(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        await client.delete(
            "/v1/suppressions/ann@example.com", params={"note": "asked <nicely>"}, headers=WRITE
        )
        page = await client.get(PAGE, params={"email": "ann@example.com"})
        history = table(page.text, "History")
        # Newest first.
        assert [row[1:] for row in history] == [
            ["removed", "ops", "—", "asked <nicely>"],
            ["added", "ops", "manual", "—"],
        ]
        assert "asked &lt;nicely&gt;" in page.text

    async def test_a_read_session_gets_no_add_form(
        self, reader: tuple[httpx.AsyncClient, str]
    ) -> None:
        other, _ = reader
        page = await other.get(PAGE, params={"email": "nobody@example.com"})
        assert page.status_code == 200
        assert not forms(page.text, "/console/add")


class TestEvents:
    async def test_the_newest_100_with_a_note_when_there_are_more(
        self, client: httpx.AsyncClient, signer: SnsSigner, writer: str
    ) -> None:
        for n in range(101):
            await ingest(client, signer, delivery(["ann@example.com"], message_id=f"m-{n:03d}"))
        page = await client.get(PAGE, params={"email": "ann@example.com"})
        assert len(table(page.text, "Events")) == 100
        assert "The newest 100 events are shown" in parse(page.text).text()

    async def test_100_events_need_no_note(
        self, client: httpx.AsyncClient, signer: SnsSigner, writer: str
    ) -> None:
        for n in range(3):
            await ingest(client, signer, delivery(["ann@example.com"], message_id=f"m-{n}"))
        page = await client.get(PAGE, params={"email": "ann@example.com"})
        assert len(table(page.text, "Events")) == 3
        assert "The newest" not in page.text


class TestNotices:
    @pytest.mark.parametrize(
        ("done", "notice"),
        [
            ("removed", "Removed from the list."),
            ("added", "Added to the list."),
            ("updated", "The entry is updated."),
        ],
    )
    async def test_a_fixed_message_for_each_outcome(
        self, client: httpx.AsyncClient, writer: str, done: str, notice: str
    ) -> None:
        page = await client.get(PAGE, params={"email": "ann@example.com", "done": done})
        [shown] = notices(page.text)
        assert shown.startswith(notice)

    async def test_anything_else_shows_nothing(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        page = await client.get(PAGE, params={"email": "ann@example.com", "done": "<b>pwned</b>"})
        assert page.status_code == 200
        assert notices(page.text) == []
        assert "pwned" not in page.text


class TestInvalidAddress:
    @pytest.mark.parametrize(
        "email",
        [
            "",
            "   ",
            "ann.example.com",
            "ann@example.com\nbcc@evil.example",
            "ann\x00@example.com",
            "a" * 400 + "@example.com",
            "x" * 5000,
            "ann@@example.com",
            "\ufffd@example.com",
            "<script>@example.com",
        ],
    )
    async def test_422_with_an_alert_and_the_look_up_form(
        self, client: httpx.AsyncClient, writer: str, email: str
    ) -> None:
        page = await client.get(PAGE, params={"email": email})
        assert page.status_code == 422, page.text
        [alert] = alerts(page.text)
        assert alert.startswith("Address: ")
        assert forms(page.text, PAGE)
        assert "\x00" not in page.text
        assert "<script>@" not in page.text

    async def test_no_email_at_all(self, client: httpx.AsyncClient, writer: str) -> None:
        page = await client.get(PAGE)
        assert page.status_code == 422
        assert alerts(page.text) == ["Address: enter an address to look up"]

    async def test_non_utf8_in_the_query(self, client: httpx.AsyncClient, writer: str) -> None:
        page = await client.get(f"{PAGE}?email=%FF%FE@example.com")
        assert page.status_code == 422
        assert alerts(page.text)[0].startswith("Address: ")

    async def test_signed_out_comes_back_after_signing_in(self, client: httpx.AsyncClient) -> None:
        answer = await client.get(PAGE, params={"email": "ann@example.com"})
        assert answer.status_code == 303
        assert answer.headers["location"] == (
            "/console/sign-in?next=" + quote("/console/address?email=ann%40example.com", safe="/")
        )
