"""Changing the list from the console, end to end, each change checked through /v1 after."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.live_console import PENDING_TOPIC, LiveConsole
from tests.browser.pages import Form, csrf_of, heading, read_table, sign_in, table, upload


class TestRemove:
    def test_remove_with_a_note_takes_the_address_off_and_keeps_who_and_why(
        self, page: Page, console: LiveConsole
    ) -> None:
        console.put("remove-me@example.com", "complaint")
        sign_in(page, next_path="/console/address?email=remove-me@example.com")
        page.get_by_label("Note (why)").fill("asked us by phone")
        page.get_by_role("button", name="Remove from the list").click()
        expect(page).to_have_url(re.compile(r"/console/address\?email=.*&done=removed$"))
        expect(page.get_by_role("status")).to_be_visible()
        expect(page.get_by_text("Not suppressed", exact=True)).to_be_visible()
        answer = console.entry("remove-me@example.com")
        assert answer.status_code == 404
        history = answer.json()["history"]
        assert [change["action"] for change in history] == ["added", "removed"]
        removal = history[-1]
        assert removal["actor"] == "ops"
        assert removal["note"] == "asked us by phone"


class TestAdd:
    def test_add_puts_the_address_on_with_its_reason_note_and_expiry(
        self, page: Page, console: LiveConsole
    ) -> None:
        sign_in(page)
        page.get_by_role("navigation", name="Console").get_by_role(
            "link", name="Add", exact=True
        ).click()
        expect(heading(page, "Add an address")).to_be_visible()
        page.get_by_label("Address").fill("  New.Person@Example.COM ")
        page.get_by_label("Reason").select_option("unsubscribe")
        page.get_by_label("Note").fill("left the newsletter")
        page.get_by_label("Expires").fill("2031-05-04")
        page.get_by_role("button", name="Add to the list").click()
        expect(page).to_have_url(re.compile(r"/console/address\?email=.*&done=added$"))
        expect(page.get_by_role("status")).to_be_visible()
        entry = console.entry("new.person@example.com")
        assert entry.status_code == 200, entry.text
        body = entry.json()
        assert (body["reason"], body["note"]) == ("unsubscribe", "left the newsletter")
        assert body["expires_at"].startswith("2031-05-04")
        assert [(c["action"], c["actor"]) for c in body["history"]] == [("added", "ops")]

    def test_adding_again_updates_the_entry(self, page: Page, console: LiveConsole) -> None:
        console.put("again@example.com", "manual", note="first")
        sign_in(page, next_path="/console/add?email=again@example.com")
        expect(page.get_by_label("Address")).to_have_value("again@example.com")
        page.get_by_label("Reason").select_option("complaint")
        page.get_by_role("button", name="Add to the list").click()
        expect(page).to_have_url(re.compile(r"&done=updated$"))
        assert console.entry("again@example.com").json()["reason"] == "complaint"

    def test_a_bad_address_shows_the_form_again_and_adds_nothing(
        self, page: Page, console: LiveConsole
    ) -> None:
        sign_in(page, next_path="/console/add")
        page.get_by_label("Address").fill("no-at-sign.example.com")
        page.get_by_label("Note").fill("kept in the form")
        with page.expect_response(re.compile(r"/console/add$")) as answer:
            page.get_by_role("button", name="Add to the list").click()
        assert answer.value.status == 422
        expect(page.get_by_role("alert")).to_be_visible()
        expect(page.get_by_label("Note")).to_have_value("kept in the form")
        listed = console.read_api.get("/v1/suppressions", params={"q": "no-at-sign"})
        assert listed.json()["items"] == []


CSV = (
    "email,reason,note\n"
    "import1@example.com,manual,from the old system\n"
    "not an address,manual,\n"
    "import2@example.com,complaint,\n"
    "import3@example.com,bogus-reason,\n"
)


def records(text: str, fmt: str) -> list[str]:
    """An export's records, in a canonical order."""
    if fmt == "csv":
        return sorted("\x1f".join(row) for row in csv.reader(io.StringIO(text)))
    return sorted(json.dumps(json.loads(line), sort_keys=True) for line in text.splitlines())


class TestTransfer:
    def test_import_shows_the_result_numbered_as_the_api_numbers_it(
        self, page: Page, console: LiveConsole, tmp_path: Path
    ) -> None:
        sign_in(page, next_path="/console/transfer")
        page.get_by_label("File").set_input_files(upload("list.csv", CSV))
        page.get_by_role("button", name="Import").click()
        expect(heading(page, "Import result")).to_be_visible()
        facts = page.get_by_role("main").locator("dl.facts")
        for term in ("Inserted", "Updated", "Unchanged", "Rejected"):
            expect(facts.get_by_text(term, exact=True)).to_be_visible()
        shown = [(int(r["Line"]), r["Error"]) for r in read_table(table(page, "Rejected lines"))]
        # The same file through the API: now unchanged, and rejected on the same lines.
        again = console.api.post(
            "/v1/suppressions/import", content=CSV, headers={"Content-Type": "text/csv"}
        ).json()
        assert (again["inserted"], again["unchanged"]) == (0, 2), again
        assert [line for line, _ in shown] == [r["line"] for r in again["rejected"]] == [3, 5]
        assert [error for _, error in shown] == [r["error"] for r in again["rejected"]]
        assert console.entry("import1@example.com").json()["source"] == "import"

    def test_export_downloads_what_the_api_exports(self, page: Page, console: LiveConsole) -> None:
        console.put("exported@example.com", "manual", note="in the file")
        sign_in(page, next_path="/console/transfer")
        for link, fmt in (("Download CSV", "csv"), ("Download NDJSON", "ndjson")):
            with page.expect_download() as download:
                page.get_by_role("link", name=link).click()
            saved = Path(download.value.path())
            api = console.read_api.get("/v1/suppressions/export", params={"format": fmt})
            assert api.status_code == 200
            got = saved.read_text()
            assert records(got, fmt) == records(api.text, fmt)
            assert "exported@example.com" in got


class TestSubscriptions:
    def test_confirm_confirms_the_pending_subscription_through_sns(
        self, page: Page, console: LiveConsole
    ) -> None:
        console.subscribe(PENDING_TOPIC)
        assert console.subscriptions()[PENDING_TOPIC] == "pending"
        sign_in(page, next_path="/console/subscriptions")
        page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_url(re.compile(r"/console/subscriptions\?confirmed="))
        assert console.subscriptions()[PENDING_TOPIC] == "confirmed"


class TestForms:
    def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
        self, page: Page, console: LiveConsole
    ) -> None:
        console.put("keep-me@example.com", "manual")
        sign_in(page, next_path="/console/address?email=keep-me@example.com")
        expect(page.get_by_role("button", name="Remove from the list")).to_be_visible()
        forms: tuple[Form, ...] = (
            {"email": "keep-me@example.com", "note": "forged"},
            {"email": "keep-me@example.com", "note": "forged", "csrf": "not-the-token"},
        )
        for form in forms:
            answer = page.request.post("/console/address/remove", form=form)
            assert answer.status == 403, answer.text()
        added = page.request.post(
            "/console/add", form={"email": "sneaky@example.com", "reason": "manual"}
        )
        assert added.status == 403
        assert console.entry("keep-me@example.com").status_code == 200
        assert console.entry("sneaky@example.com").status_code == 404
        # With the page's own token the same session may remove it: the refusal was the token.
        answer = page.request.post(
            "/console/address/remove",
            form={"email": "keep-me@example.com", "note": "real", "csrf": csrf_of(page)},
        )
        assert answer.ok, answer.status
        assert console.entry("keep-me@example.com").status_code == 404
