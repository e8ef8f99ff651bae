"""Without Chromium the browser tests say how to get it: a skip, or under REQUIRE_BROWSER
(CI) a failure, each one line naming `apt-get install chromium`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import chromium


@pytest.fixture
def no_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(chromium, "CHROMIUM", tmp_path / "chromium")


@pytest.mark.usefixtures("no_chromium")
class TestChromiumMissing:
    def test_the_tests_skip_saying_how_to_install_it(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("REQUIRE_BROWSER", raising=False)
        with pytest.raises(pytest.skip.Exception, match=r"apt-get install chromium$"):
            chromium.require_chromium()

    def test_under_require_browser_they_fail_in_one_line(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("REQUIRE_BROWSER", "1")
        with pytest.raises(pytest.fail.Exception, match=r"apt-get install chromium$") as failed:
            chromium.require_chromium()
        assert "\n" not in str(failed.value)
        assert failed.value.pytrace is False


def test_with_chromium_present_nothing_is_said() -> None:
    if not chromium.CHROMIUM.exists():
        pytest.skip(chromium.MISSING)
    chromium.require_chromium()
