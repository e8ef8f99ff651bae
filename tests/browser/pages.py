"""Driving the console as a person does: by roles, labels and button names (the contract's,
docs in /work/shared), never by CSS selectors."""

from __future__ import annotations

import re
from typing import cast

from playwright.sync_api import FilePayload, Locator, Page, expect

from tests.conftest import READ_TOKEN, WRITE_TOKEN

# A form as page.request.post sends it.
Form = dict[str, str | float | bool]

# The buttons only a write session may see, on any page.
WRITE_BUTTONS = ("Remove from the list", "Add to the list", "Import", "Confirm")


def sign_in(page: Page, token: str = WRITE_TOKEN, *, next_path: str = "") -> None:
    """Sign in through the form; lands on ``next_path`` (the overview by default)."""
    query = f"?next={next_path}" if next_path else ""
    page.goto(f"/console/sign-in{query}")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # The page is drawn before its load event, but laid out without the stylesheet until
    # then: sizes, widths and axe's target-size rule would measure the unstyled page.
    page.wait_for_load_state("load")


def sign_in_read(page: Page, *, next_path: str = "") -> None:
    sign_in(page, READ_TOKEN, next_path=next_path)


def heading(page: Page, name: str) -> Locator:
    return page.get_by_role("heading", level=1, name=name, exact=True)


def table(page: Page, caption: str) -> Locator:
    """The table captioned ``caption`` (a caption names its table)."""
    return page.get_by_role("table", name=caption, exact=True)


def read_table(located: Locator) -> list[dict[str, str]]:
    """The table's body rows as {column heading: cell text}, headings from its first row."""
    rows = cast(
        list[list[str]],
        located.evaluate(
            "t => [...t.rows].map(r => [...r.cells].map(c => c.innerText.replace(/\\s+/g, ' ')"
            ".trim()))"
        ),
    )
    if not rows:
        return []
    header, *body = rows
    return [dict(zip(header, row, strict=False)) for row in body]


def row_of(rows: list[dict[str, str]], column: str, value: str) -> dict[str, str]:
    found = [row for row in rows if row.get(column) == value]
    assert len(found) == 1, (column, value, rows)
    return found[0]


def status_of(page: Page, path: str) -> int:
    """Open ``path``; the HTTP status of the page."""
    answer = page.goto(path)
    assert answer is not None
    return answer.status


def upload(name: str, text: str, mime_type: str = "text/csv") -> FilePayload:
    return {"name": name, "mimeType": mime_type, "buffer": text.encode()}


def csrf_of(page: Page) -> str:
    """The session's CSRF token, from the sign-out form every signed-in page carries."""
    value = (
        page.get_by_role("button", name="Sign out")
        .locator("xpath=ancestor::form")
        .locator("input[name=csrf]")
        .get_attribute("value")
    )
    assert value, "no CSRF token in the sign-out form"
    return value


def number(text: str) -> int:
    """A count as a page shows it (1,234 or 1 234)."""
    digits = re.sub(r"[^\d]", "", text)
    assert digits, text
    return int(digits)


def percent(text: str) -> float:
    """The first percentage in a cell ("4.76 % warning" -> 4.76)."""
    found = re.search(r"(\d+(?:[.,]\d+)?)\s*%", text)
    assert found, text
    return float(found.group(1).replace(",", "."))
