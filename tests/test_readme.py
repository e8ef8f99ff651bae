"""The README documents every setting: a new one without a line there fails here."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_has_a_row_in_the_readme() -> None:
    rows = {
        line.split("|")[1].strip().strip("`")
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    }
    missing = sorted(set(Settings.model_fields) - rows)
    assert not missing, f"settings without a README table row: {missing}"
