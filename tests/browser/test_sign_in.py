"""Signing in with a wrong, a read and a write token; the keyboard alone; signing out."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.guard import Guard
from tests.browser.live_console import LiveConsole
from tests.browser.pages import heading, sign_in, sign_in_read
from tests.conftest import READ_TOKEN, WRITE_TOKEN


class TestSignIn:
    def test_a_wrong_token_is_refused_with_an_alert_and_no_session(
        self, page: Page, console: LiveConsole
    ) -> None:
        page.goto("/console/sign-in")
        page.get_by_label("API token").fill("not-a-token-of-this-bouncer")
        with page.expect_response(re.compile(r"/console/sign-in$")) as answer:
            page.get_by_role("button", name="Sign in").click()
        assert answer.value.status == 401
        expect(heading(page, "Sign in")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("not valid")
        assert page.context.cookies() == [] or all(
            cookie["path"] == "/console/sign-in" for cookie in page.context.cookies()
        )
        page.goto("/console")
        expect(page).to_have_url(re.compile(r"/console/sign-in\?next=/console$"))

    def test_a_read_token_signs_in_read_only_without_the_add_link(self, page: Page) -> None:
        sign_in_read(page)
        expect(page).to_have_url(re.compile(r"/console$"))
        expect(heading(page, "Overview")).to_be_visible()
        expect(page.get_by_text("viewer · read only")).to_be_visible()
        nav = page.get_by_role("navigation", name="Console")
        expect(nav.get_by_role("link", name="Suppressions")).to_be_visible()
        expect(nav.get_by_role("link", name="Add", exact=True)).to_have_count(0)

    def test_a_write_token_signs_in_able_to_change(self, page: Page) -> None:
        sign_in(page, WRITE_TOKEN)
        expect(heading(page, "Overview")).to_be_visible()
        expect(page.get_by_text("ops · can change")).to_be_visible()
        nav = page.get_by_role("navigation", name="Console")
        expect(nav.get_by_role("link", name="Add", exact=True)).to_be_visible()
        cookie = next(c for c in page.context.cookies() if c["path"] == "/console")
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"

    def test_a_page_asked_for_before_signing_in_is_shown_after(self, page: Page) -> None:
        page.goto("/console/suppressions?reason=manual")
        expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
        page.get_by_label("API token").fill(READ_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/console/suppressions\?reason=manual$"))
        expect(heading(page, "Suppressions")).to_be_visible()

    def test_signing_out_ends_the_session(self, page: Page) -> None:
        sign_in(page)
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("status")).to_contain_text("signed out")
        page.goto("/console/suppressions")
        expect(heading(page, "Sign in")).to_be_visible()


class TestKeyboard:
    def test_the_sign_in_form_is_filled_and_sent_with_the_keyboard_only(self, page: Page) -> None:
        page.goto("/console/sign-in")
        token = page.get_by_label("API token")
        for _ in range(10):  # the field has autofocus; else Tab reaches it
            if token.evaluate("field => field === document.activeElement"):
                break
            page.keyboard.press("Tab")
        expect(token).to_be_focused()
        page.keyboard.type(WRITE_TOKEN)
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Sign in")).to_be_focused()
        page.keyboard.press("Enter")
        expect(heading(page, "Overview")).to_be_visible()

    def test_the_skip_link_comes_first_and_moves_focus_to_the_content(self, page: Page) -> None:
        sign_in(page)
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        expect(skip).to_be_focused()
        expect(skip).to_be_visible()  # shown when focused, though hidden until then
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"#main$"))
        main = page.get_by_role("main")
        expect(main).to_be_focused()
        # The next Tab stays in the content: the header and its navigation are skipped.
        page.keyboard.press("Tab")
        assert main.evaluate("m => m.contains(document.activeElement)")


def test_the_guard_sees_every_request_and_they_all_stay_on_the_server(
    page: Page, guard: Guard, console: LiveConsole
) -> None:
    page.goto("/console/sign-in")
    expect(heading(page, "Sign in")).to_be_visible()
    assert any(url.endswith("/console/static/console.css") for url in guard.requests)
    assert all(url.startswith(console.url) for url in guard.requests), guard.requests


class TestGuard:
    """The guard itself can fail: it sees a request for another host and a CSP violation."""

    def test_it_catches_a_request_for_another_host_and_stops_it(
        self, page: Page, guard: Guard
    ) -> None:
        page.goto("about:blank")
        page.evaluate("fetch('http://192.0.2.1/leak').catch(() => null)")
        page.wait_for_timeout(200)
        assert guard.foreign == ["http://192.0.2.1/leak"]
        guard.foreign.clear()
        guard.console.clear()

    def test_it_catches_a_content_security_policy_violation(self, page: Page, guard: Guard) -> None:
        page.goto("/console/sign-in")
        page.evaluate(
            "() => { const i = new Image(); i.src = 'http://192.0.2.1/pixel.png';"
            " document.body.append(i); }"
        )
        page.wait_for_timeout(200)
        assert any(line.startswith("CSP violation") for line in guard.console), guard.console
        # Chromium reports the request the policy then blocked: the guard sees it too.
        guard.foreign.clear()
        guard.console.clear()
