"""/console/add and /console/address/remove: the writes, what hostile input gets, and that
every refused write leaves the list as it was (checked through /v1 with a bearer token)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.models import SesOutbox
from tests.conftest import READ, WRITE, WRITE_TOKEN, AppMaker
from tests.console.conftest import browser, sign_in
from tests.console.pages import alerts, field_value, forms, heading, notices, parse
from tests.databases import count_rows
from tests.ses_sync.fake_ses import FakeSes

ADD = "/console/add"
REMOVE = "/console/address/remove"


async def entry(client: httpx.AsyncClient, email: str) -> dict[str, Any] | None:
    """The entry as GET /v1/suppressions/{email} answers it, None when not suppressed."""
    answer = await client.get(f"/v1/suppressions/{email}", headers=READ)
    assert answer.status_code in (200, 404), answer.text
    return answer.json() if answer.status_code == 200 else None


async def listed(client: httpx.AsyncClient) -> list[str]:
    answer = await client.get("/v1/suppressions", params={"include_expired": True}, headers=READ)
    return [item["email"] for item in answer.json()["items"]]


class TestAddPage:
    async def test_the_form(self, client: httpx.AsyncClient, writer: str) -> None:
        page = await client.get(ADD, params={"email": "Ann@Example.com"})
        assert page.status_code == 200
        assert heading(page.text) == "Add an address"
        [form] = forms(page.text, ADD)
        assert form.attrs["method"] == "post"
        labels = {label.attrs["for"]: label.text() for label in form.all("label")}
        assert sorted(labels.values()) == ["Address", "Expires", "Note", "Reason"]
        named = {
            node.attrs["id"]: node.attrs["name"]
            for tag in ("input", "select", "textarea")
            for node in form.all(tag)
            if "id" in node.attrs
        }
        assert {labels[i]: named[i] for i in labels} == {
            "Address": "email",
            "Reason": "reason",
            "Note": "note",
            "Expires": "expires_at",
        }
        assert form.one("input", name="expires_at").attrs["type"] == "date"
        assert field_value(form, "email") == "Ann@Example.com"
        assert field_value(form, "reason") == "manual"
        assert field_value(form, "csrf") == writer
        assert form.one("button").text() == "Add to the list"

    async def test_a_read_session_is_refused(self, reader: tuple[httpx.AsyncClient, str]) -> None:
        other, _ = reader
        page = await other.get(ADD)
        assert page.status_code == 403
        assert "read-only" in alerts(page.text)[0]
        assert not forms(page.text, ADD)


class TestAdd:
    async def test_added_then_updated(self, client: httpx.AsyncClient, writer: str) -> None:
        form = {"csrf": writer, "email": "Ann@Example.com", "reason": "complaint", "note": "n1"}
        added = await client.post(ADD, data=form)
        assert added.status_code == 303
        assert added.headers["location"] == "/console/address?email=ann%40example.com&done=added"
        page = await client.get(added.headers["location"])
        assert notices(page.text) == ["Added to the list."]
        assert heading(page.text) == "ann@example.com"
        shown = await entry(client, "ann@example.com")
        assert shown is not None
        assert (shown["reason"], shown["note"], shown["source"], shown["expires_at"]) == (
            "complaint",
            "n1",
            "api",
            None,
        )
        assert shown["history"][-1]["actor"] == "ops"
        again = await client.post(ADD, data=form | {"reason": "manual", "expires_at": "2030-01-15"})
        assert again.headers["location"].endswith("&done=updated")
        shown = await entry(client, "ann@example.com")
        assert shown is not None
        assert shown["reason"] == "manual"
        # A date alone: the start of that day, UTC, as the API reads it.
        assert shown["expires_at"] == "2030-01-15T00:00:00Z"

    async def test_no_reason_is_manual(self, client: httpx.AsyncClient, writer: str) -> None:
        added = await client.post(ADD, data={"csrf": writer, "email": "bob@example.org"})
        assert added.status_code == 303
        shown = await entry(client, "bob@example.org")
        assert shown is not None
        assert (shown["reason"], shown["note"]) == ("manual", None)

    async def test_attacker_text_renders_escaped(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        note = "<img src=x onerror=alert(1)> & 'q' \"w\""
        email = "o'brien&co<x>@example.com"
        refused = await client.post(ADD, data={"csrf": writer, "email": email, "note": note})
        assert refused.status_code == 422  # < > need quotes in a local part
        assert "<img" not in refused.text
        assert "<x>" not in refused.text
        email = '"<img src=x>+o\'brien&co"@example.com'
        added = await client.post(ADD, data={"csrf": writer, "email": email, "note": note})
        assert added.status_code == 303, added.text
        page = await client.get(added.headers["location"])
        assert heading(page.text) == email
        assert "<img" not in page.text
        assert "&lt;img src=x onerror=alert(1)&gt; &amp; &#39;q&#39; &#34;w&#34;" in page.text
        assert "&#34;&lt;img src=x&gt;+o&#39;brien&amp;co&#34;@example.com" in page.text


BAD_INPUT = [
    ({"reason": "hard"}, ["Reason"]),
    ({"reason": "bounce\x00"}, ["Reason"]),
    ({"email": ""}, ["Address"]),
    ({"email": "ann.example.com"}, ["Address"]),
    ({"email": "ann@example.com\nbcc: x@evil.example"}, ["Address"]),
    ({"email": "ann\x00@example.com"}, ["Address"]),
    ({"email": "a" * 400 + "@example.com"}, ["Address"]),
    ({"email": "x" * 5000}, ["Address"]),
    ({"expires_at": "2020-01-01"}, ["Expires"]),
    ({"expires_at": "soon"}, ["Expires"]),
    ({"expires_at": "2026-02-30"}, ["Expires"]),
    ({"expires_at": "99999-01-01"}, ["Expires"]),
    ({"note": "n" * 3000}, ["Note"]),
    ({"note": "a\x00b"}, ["Note"]),
    ({"email": "nope", "note": "n" * 3000, "expires_at": "x"}, ["Address", "Note", "Expires"]),
]


class TestAddRefused:
    @pytest.mark.parametrize(("change", "labels"), BAD_INPUT)
    async def test_422_the_form_again_and_nothing_written(
        self, client: httpx.AsyncClient, writer: str, change: dict[str, str], labels: list[str]
    ) -> None:
        form = {"csrf": writer, "email": "ann@example.com", "reason": "bounce", "note": "why"}
        answer = await client.post(ADD, data=form | change)
        assert answer.status_code == 422, answer.text
        [alert] = alerts(answer.text)
        assert [line.split(":")[0] for line in _lines(answer.text)] == labels, alert
        [again] = forms(answer.text, ADD)
        for name in ("reason", "note"):
            if name not in change and name in form:
                assert field_value(again, name) == form[name]
        assert "\x00" not in answer.text
        assert await listed(client) == []

    async def test_non_utf8_in_a_form(self, client: httpx.AsyncClient, writer: str) -> None:
        body = f"csrf={writer}&email=%FF%FE%40example.com&note=ok".encode()
        refused = await client.post(ADD, content=body, headers=_FORM)
        assert refused.status_code == 422
        assert _lines(refused.text)[0].startswith("Address:")
        raw = f"csrf={writer}&email=\xff@example.com".encode() + b"\xff\xfe"
        refused = await client.post(ADD, content=raw, headers=_FORM)
        assert refused.status_code == 422
        assert await listed(client) == []
        # A note that is not UTF-8 is kept with U+FFFD where its bytes made no sense.
        body = f"csrf={writer}&email=ann%40example.com&note=caf%E9".encode()
        added = await client.post(ADD, content=body, headers=_FORM)
        assert added.status_code == 303
        shown = await entry(client, "ann@example.com")
        assert shown is not None
        assert shown["note"] == "caf\ufffd"

    async def test_a_malformed_multipart_body_is_a_400_page(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        answer = await client.post(
            ADD, content=b"--x\r\n", headers={"content-type": "multipart/form-data"}
        )
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/html")
        assert await listed(client) == []

    async def test_a_latin1_multipart_form(self, client: httpx.AsyncClient, writer: str) -> None:
        answer = await client.post(
            ADD,
            files={
                "csrf": (None, writer),
                "email": (None, "ann@example.com"),
                "note": (None, "caf\xe9".encode("latin-1")),
            },
        )
        # A part that is not UTF-8 is read as Latin-1 (starlette), never a 500.
        assert answer.status_code == 303, answer.text
        shown = await entry(client, "ann@example.com")
        assert shown is not None
        assert shown["note"] == "caf\xe9"


class TestRemove:
    async def test_removed_with_its_note_then_absent(
        self, client: httpx.AsyncClient, writer: str
    ) -> None:
        await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        gone = await client.post(
            REMOVE, data={"csrf": writer, "email": "Ann@Example.com", "note": "asked <nicely>"}
        )
        assert gone.status_code == 303
        assert gone.headers["location"] == "/console/address?email=ann%40example.com&done=removed"
        page = await client.get(gone.headers["location"])
        assert notices(page.text)[0].startswith("Removed from the list.")
        assert "Not suppressed" in parse(page.text).text()
        assert await entry(client, "ann@example.com") is None
        history = await client.get("/v1/suppressions/ann@example.com/history", headers=READ)
        last = history.json()["history"][-1]
        assert (last["action"], last["actor"], last["note"]) == ("removed", "ops", "asked <nicely>")
        again = await client.post(REMOVE, data={"csrf": writer, "email": "ann@example.com"})
        assert again.headers["location"].endswith("&done=absent")
        page = await client.get(again.headers["location"])
        assert notices(page.text) == ["It was not on the list: nothing changed."]
        history = await client.get("/v1/suppressions/ann@example.com/history", headers=READ)
        assert len(history.json()["history"]) == 2

    @pytest.mark.parametrize(
        ("change", "alert"),
        [
            ({"note": "n" * 3000}, "Note (why): at most 2000 characters (this one has 3000)"),
            ({"note": "a\x00b"}, "Note (why): it contains a NUL character (U+0000)"),
            ({"email": "ann.example.com"}, "Address: "),
            ({"email": ""}, "Address: "),
            ({"email": "ann@example.com\nbob@example.org"}, "Address: "),
            ({"email": "ann@example.com\x00"}, "Address: "),
            ({"email": "a" * 400 + "@example.com"}, "Address: "),
            ({"email": "ann@example.com\n"}, None),  # trimmed, as the API trims it: removed
        ],
    )
    async def test_bad_input_is_422_and_the_entry_stays(
        self, client: httpx.AsyncClient, writer: str, change: dict[str, str], alert: str | None
    ) -> None:
        await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        form = {"csrf": writer, "email": "ann@example.com", "note": "why"} | change
        answer = await client.post(REMOVE, data=form)
        if alert is None:
            assert answer.status_code == 303
            return
        assert answer.status_code == 422, answer.text
        [shown] = alerts(answer.text)
        assert shown.startswith(alert)
        assert await entry(client, "ann@example.com") is not None
        if "note" in change and "\x00" not in change["note"]:
            assert field_value(answer.text, "note") == change["note"]


class TestForgedPosts:
    """Every refused write: 403, and the list as it was (GET /v1 with a bearer token)."""

    @pytest.fixture
    async def listed_ann(self, client: httpx.AsyncClient) -> None:
        made = await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        assert made.status_code == 201

    async def test_a_read_session_with_its_own_token(
        self, client: httpx.AsyncClient, listed_ann: None, reader: tuple[httpx.AsyncClient, str]
    ) -> None:
        other, csrf = reader
        added = await other.post(ADD, data={"csrf": csrf, "email": "bob@example.org"})
        assert added.status_code == 403
        assert "read-only" in alerts(added.text)[0]
        removed = await other.post(REMOVE, data={"csrf": csrf, "email": "ann@example.com"})
        assert removed.status_code == 403
        assert await entry(client, "bob@example.org") is None
        assert await entry(client, "ann@example.com") is not None

    @pytest.mark.parametrize("path", [ADD, REMOVE])
    async def test_without_the_csrf_token(
        self, client: httpx.AsyncClient, writer: str, listed_ann: None, path: str
    ) -> None:
        for form in ({}, {"csrf": ""}, {"csrf": writer[:-1]}, {"csrf": writer + "x"}):
            answer = await client.post(path, data=form | {"email": "ann@example.com"})
            assert answer.status_code == 403, form
        shown = await entry(client, "ann@example.com")
        assert shown is not None
        assert len(shown["history"]) == 1

    @pytest.mark.parametrize("path", [ADD, REMOVE])
    async def test_with_another_session_s_token(
        self, client: httpx.AsyncClient, app: FastAPI, writer: str, listed_ann: None, path: str
    ) -> None:
        async with browser(app) as other:
            theirs = await sign_in(other, WRITE_TOKEN)
            assert theirs != writer
            answer = await client.post(path, data={"csrf": theirs, "email": "ann@example.com"})
        assert answer.status_code == 403
        shown = await entry(client, "ann@example.com")
        assert shown is not None
        assert len(shown["history"]) == 1

    @pytest.mark.parametrize("path", [ADD, REMOVE])
    async def test_from_another_origin(
        self, client: httpx.AsyncClient, writer: str, listed_ann: None, path: str
    ) -> None:
        answer = await client.post(
            path,
            data={"csrf": writer, "email": "ann@example.com", "reason": "bounce"},
            headers={"origin": "https://evil.example"},
        )
        assert answer.status_code == 403
        assert "another site" in alerts(answer.text)[0]
        shown = await entry(client, "ann@example.com")
        assert shown is not None
        assert (shown["reason"], len(shown["history"])) == ("manual", 1)

    @pytest.mark.parametrize("path", [ADD, REMOVE])
    async def test_signed_out(self, client: httpx.AsyncClient, listed_ann: None, path: str) -> None:
        answer = await client.post(path, data={"email": "ann@example.com", "reason": "bounce"})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/sign-in?next=")
        shown = await entry(client, "ann@example.com")
        assert shown is not None
        assert len(shown["history"]) == 1


class TestRemovalWithSesSync:
    """The console's Remove is DELETE /v1/suppressions/{email}: with SES_SYNC=both the
    removal waits in the outbox per region and SES's entry is deleted right after."""

    @pytest.mark.parametrize(("mode", "waiting"), [("both", 2), ("pull", 0), ("off", 0)])
    async def test_the_outbox_and_ses_as_the_api_leaves_them(
        self, make_client: AppMaker, database_url: str, fake_ses: FakeSes, mode: str, waiting: int
    ) -> None:
        client, _ = await make_client(
            SES_SYNC=mode,
            SES_SYNC_REGIONS="us-east-1,eu-west-1",
            ses_sync_clients=lambda region: fake_ses.client(region),
        )
        csrf = await sign_in(client, WRITE_TOKEN)
        made = await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        assert made.status_code == 201
        gone = await client.post(REMOVE, data={"csrf": csrf, "email": "Ann@Example.com"})
        assert gone.status_code == 303
        assert await count_rows(database_url, SesOutbox) == waiting
        tried = [call.email for call in fake_ses.calls]
        assert tried == (["ann@example.com"] * 2 if mode == "both" else [])
        assert fake_ses.operations() == ["GetSuppressedDestination"] * len(tried)


_FORM = {"content-type": "application/x-www-form-urlencoded"}


def _lines(html: str) -> list[str]:
    return [p.text() for p in parse(html).one("div", role="alert").all("p")]
