"""review17: `bouncer ses sync`'s progress line counts what was done.

RegionPass calls on_progress(region, stage, count) with ``count`` the *advance* (a page's
entries, one delete), as SesSync.run_pass documents; the CLI sets the bar to it
(``completed=count``), so reading 25,000 entries shows "1000" (the last page), and
deletes always show 1."""

from __future__ import annotations

import pytest

from app.commands import ses


def test_the_progress_line_adds_up_the_advances(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    progress = ses._progress()
    on_progress = progress.__enter__()
    try:
        for _ in range(3):
            on_progress("us-east-1", "read", 1000)
        [task] = progress._bar.tasks
        assert task.completed == 3000
    finally:
        progress.__exit__(None, None, None)
