"""Where the browser tests leave what a person looks at (screenshots): $BOUNCER_ARTEFACTS,
else a folder under the system's temporary directory; the run's summary names it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def artefacts_dir() -> Path:
    named = os.environ.get("BOUNCER_ARTEFACTS", "").strip()
    return Path(named) if named else Path(tempfile.gettempdir()) / "bouncer-browser-artefacts"


def written_since(moment: float) -> list[Path]:
    """The artefacts this run wrote (the folder outlives runs)."""
    folder = artefacts_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.stat().st_mtime >= moment)
