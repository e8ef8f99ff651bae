"""Debian's Chromium, launched headless by Playwright: never a browser build of its own.

Without /usr/bin/chromium the browser tests skip, or fail when REQUIRE_BROWSER is set
(CI sets it, as it sets REQUIRE_POSTGRES), each with the one line that fixes it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
MISSING = f"no Chromium at {CHROMIUM}: apt-get install chromium"

# Playwright must never fetch a browser of its own (the machines reach no download host).
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def require_chromium() -> None:
    """Skip (or, under REQUIRE_BROWSER, fail) with one line when Chromium is absent."""
    if CHROMIUM.exists():
        return
    if os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(MISSING, pytrace=False)
    pytest.skip(MISSING)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        # Chromium's sandbox cannot start as root: Playwright then passes --no-sandbox.
        chromium_sandbox=os.geteuid() != 0,
        # A container's /dev/shm may be 64 MB, too small for Chromium's shared memory.
        args=["--disable-dev-shm-usage"],
    )
