"""axe-core (bundled by axe-playwright-python, run offline) finds nothing serious or
critical on any page: as a write session, a read session, signed out, and on error pages."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.live_console import LiveConsole
from tests.browser.pages import heading, sign_in, sign_in_read, status_of, upload
from tests.browser.seeding import BOUNCED, Day, seed_console

# The WCAG 2.x A and AA rules and axe's best practices.
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
}
BLOCKING = frozenset({"serious", "critical"})

WRITE_PAGES = (
    "/console",
    "/console/suppressions",
    "/console/suppressions?reason=bounce&include_expired=1",
    f"/console/address?email={BOUNCED}",
    "/console/address?email=nobody@example.com",
    "/console/add",
    "/console/transfer",
    "/console/subscriptions",
)
ERROR_PAGES = (
    ("/console/suppressions?since=not-a-date", 422),
    ("/console/address?email=not-an-address", 422),
)


@pytest.fixture(scope="module")
def seeded(console: LiveConsole) -> tuple[Day, ...]:
    return seed_console(console)


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


def blocking(axe: Axe, page: Page) -> list[str]:
    """Each serious or critical violation on the page: rule, impact, the nodes it found."""
    page.wait_for_load_state("load")  # the stylesheet applied: sizes and colours are final
    results: dict[str, Any] = axe.run(page, options=AXE_OPTIONS).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]


class TestAxe:
    def test_the_sign_in_page(self, page: Page, axe: Axe) -> None:
        page.goto("/console/sign-in")
        assert blocking(axe, page) == []
        page.get_by_label("API token").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
        assert blocking(axe, page) == []

    @pytest.mark.parametrize("path", WRITE_PAGES)
    def test_each_page_of_a_write_session(
        self, page: Page, axe: Axe, seeded: tuple[Day, ...], path: str
    ) -> None:
        sign_in(page, next_path=path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert blocking(axe, page) == []

    @pytest.mark.parametrize("path", ["/console", f"/console/address?email={BOUNCED}"])
    def test_pages_of_a_read_session(
        self, page: Page, axe: Axe, seeded: tuple[Day, ...], path: str
    ) -> None:
        sign_in_read(page, next_path=path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert blocking(axe, page) == []

    @pytest.mark.parametrize(("path", "status"), ERROR_PAGES)
    def test_error_pages(self, page: Page, axe: Axe, path: str, status: int) -> None:
        sign_in(page)
        assert status_of(page, path) == status
        expect(page.get_by_role("alert")).to_be_visible()
        assert blocking(axe, page) == []

    def test_the_import_result(self, page: Page, axe: Axe) -> None:
        sign_in(page, next_path="/console/transfer")
        page.get_by_label("File").set_input_files(
            upload("list.csv", "email,reason\naxe@example.com,manual\nbad,manual\n")
        )
        page.get_by_role("button", name="Import").click()
        expect(heading(page, "Import result")).to_be_visible()
        assert blocking(axe, page) == []

    def test_axe_finds_a_serious_violation_when_there_is_one(self, page: Page, axe: Axe) -> None:
        """The check can fail: an image without a text alternative is critical to axe."""
        page.goto("/console/sign-in")
        page.evaluate(
            "() => { const i = document.createElement('img');"
            " i.src = '/console/static/favicon.svg'; document.body.append(i); }"
        )
        found = blocking(axe, page)
        assert any(line.startswith("image-alt (critical)") for line in found), found
