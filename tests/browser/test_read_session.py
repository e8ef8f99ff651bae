"""A read session sees everything and can change nothing, whatever it sends."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.live_console import PENDING_TOPIC, LiveConsole
from tests.browser.pages import WRITE_BUTTONS, Form, csrf_of, heading, sign_in_read, status_of

ON_LIST = "listed@example.com"
PAGES = (
    "/console",
    "/console/suppressions",
    f"/console/address?email={ON_LIST}",
    "/console/address?email=absent@example.com",
    "/console/transfer",
    "/console/subscriptions",
)


@pytest.fixture(scope="module")
def listed(console: LiveConsole) -> str:
    console.put(ON_LIST, "bounce", note="seeded")
    console.subscribe(PENDING_TOPIC)
    return ON_LIST


class TestReadSession:
    @pytest.mark.parametrize("path", PAGES)
    def test_no_page_shows_a_write_button(self, page: Page, listed: str, path: str) -> None:
        sign_in_read(page, next_path=path)
        expect(page.get_by_role("main")).to_be_visible()
        assert page.url.endswith(path)
        for name in WRITE_BUTTONS:
            expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_label("File")).to_have_count(0)
        expect(page.get_by_role("link", name="Add", exact=True)).to_have_count(0)

    def test_the_add_page_is_refused(self, page: Page) -> None:
        sign_in_read(page)
        assert status_of(page, "/console/add") == 403
        expect(page.get_by_role("button", name="Add to the list")).to_have_count(0)

    def test_forged_posts_with_its_own_cookie_and_token_are_refused_and_change_nothing(
        self, page: Page, console: LiveConsole, listed: str
    ) -> None:
        sign_in_read(page, next_path=f"/console/address?email={listed}")
        expect(heading(page, listed)).to_be_visible()
        csrf = csrf_of(page)  # a real token, of this read session's own page
        forged: dict[str, Form] = {
            "/console/address/remove": {"email": listed, "note": "forged", "csrf": csrf},
            "/console/add": {"email": "forged@example.com", "reason": "manual", "csrf": csrf},
            "/console/subscriptions/confirm": {"topic_arn": PENDING_TOPIC, "csrf": csrf},
        }
        for path, form in forged.items():
            answer = page.request.post(path, form=form, max_redirects=0)
            assert answer.status == 403, (path, answer.status, answer.text()[:300])
        imported = page.request.post(
            "/console/import",
            multipart={
                "csrf": csrf,
                "format": "csv",
                "file": {
                    "name": "list.csv",
                    "mimeType": "text/csv",
                    "buffer": b"email,reason\nforged-import@example.com,manual\n",
                },
            },
            max_redirects=0,
        )
        assert imported.status == 403, imported.text()[:300]
        entry = console.entry(listed)
        assert entry.status_code == 200
        assert [change["action"] for change in entry.json()["history"]] == ["added"]
        assert console.entry("forged@example.com").status_code == 404
        assert console.entry("forged-import@example.com").status_code == 404
        assert console.subscriptions()[PENDING_TOPIC] == "pending"
