"""The console at a phone's width, and screenshots of it for people to look at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.artefacts import artefacts_dir
from tests.browser.guard import Guard
from tests.browser.live_console import LiveConsole
from tests.browser.pages import heading, sign_in, table
from tests.browser.seeding import BOUNCED, Day, seed_console

PHONE: ViewportSize = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def seeded(console: LiveConsole) -> tuple[Day, ...]:
    return seed_console(console)


@pytest.fixture
def phone(browser: Browser, console: LiveConsole, guard: Guard) -> Iterator[Page]:
    context = browser.new_context(base_url=console.url, viewport=PHONE, is_mobile=True)
    guard.watch(context, console.url)
    yield context.new_page()
    context.close()


def page_width(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


class TestNarrow:
    @pytest.mark.parametrize(
        ("path", "name", "caption"),
        [
            ("/console", "Overview", "Bounce and complaint rates"),
            ("/console/suppressions", "Suppressions", "Suppressed addresses"),
            (f"/console/address?email={BOUNCED}", BOUNCED, "History"),
        ],
    )
    def test_a_375_px_screen_shows_the_page_without_scrolling_sideways(
        self, phone: Page, seeded: tuple[Day, ...], path: str, name: str, caption: str
    ) -> None:
        sign_in(phone, next_path=path)
        expect(heading(phone, name)).to_be_visible()
        expect(table(phone, caption)).to_be_attached()
        # Measured once the stylesheet applies: before the load event a table is laid out
        # without it, as wide as its longest line.
        phone.wait_for_load_state("load")
        assert page_width(phone) <= PHONE["width"], page_width(phone)


class TestScreenshots:
    @pytest.mark.parametrize(
        ("path", "name", "file"),
        [
            ("/console", "Overview", "overview.png"),
            (f"/console/address?email={BOUNCED}", BOUNCED, "address.png"),
        ],
    )
    def test_the_page_is_saved_as_a_screenshot(
        self, page: Page, seeded: tuple[Day, ...], path: str, name: str, file: str
    ) -> None:
        sign_in(page, next_path=path)
        expect(heading(page, name)).to_be_visible()
        page.wait_for_load_state("load")
        folder = artefacts_dir()
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / file
        page.screenshot(path=shot, full_page=True)
        assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
