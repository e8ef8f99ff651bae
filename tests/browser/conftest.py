"""Fixtures for the browser tests: a Chromium and a live bouncer per test module, a fresh
browser context per test, and the guard checked after every test.

The tests are sync: Playwright's sync API must not run inside an asyncio loop. Nor may an
asyncio test run while Playwright is started: its loop stays registered as the thread's
running loop, and pytest-asyncio then fails every async test after it in that process
("Runner.run() cannot be called from a running event loop"). So Playwright lives for one
module, never the session: pytest tears a module's fixtures down before it moves on to a
test of another module, in each xdist worker too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.chromium import launch, require_chromium
from tests.browser.guard import Guard
from tests.browser.live_console import LiveConsole, moto_sns, running_console
from tests.databases import DatabaseFactory
from tests.signing import SnsSigner

# Playwright waits this long for an element or a navigation before failing a test.
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def sns_endpoint() -> Iterator[str]:
    with moto_sns() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def console(
    databases: DatabaseFactory,
    tmp_path_factory: pytest.TempPathFactory,
    signer: SnsSigner,
    sns_endpoint: str,
) -> Iterator[LiveConsole]:
    """A live bouncer for this module's tests, on its own fresh database."""
    data_dir = tmp_path_factory.mktemp("console")
    with running_console(databases, data_dir, signer, sns_endpoint) as live:
        yield live


@pytest.fixture(autouse=True)
def guard() -> Iterator[Guard]:
    """Fails the test when a page asked another host for anything, or logged an error or a
    CSP violation (checked after the test's browser context closed)."""
    watched = Guard()
    yield watched
    problems = watched.problems()
    assert not problems, "\n".join(problems)


@pytest.fixture
def context(browser: Browser, console: LiveConsole, guard: Guard) -> Iterator[BrowserContext]:
    made = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    made.set_default_timeout(TIMEOUT_MS)
    guard.watch(made, console.url)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
