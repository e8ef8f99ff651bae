"""``python -m tests.module_sizes app 300``: fail when a module under app/ is longer.

STYLE.md: split before about 300 lines or at a second reason to change. `make lint`
runs this so a module cannot grow past the limit unnoticed.
"""

from __future__ import annotations

import sys
from pathlib import Path


def oversized(root: Path, limit: int) -> list[tuple[Path, int]]:
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append((path, lines))
    return found


def main(argv: list[str]) -> int:
    root, limit = Path(argv[0]), int(argv[1])
    found = oversized(root, limit)
    for path, lines in found:
        sys.stdout.write(f"{path}: {lines} lines, over {limit}: split it (docs/architecture.md)\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
