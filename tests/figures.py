"""Figures the reliability suites report, for docs/reliability.md.

A suite calls ``record("forgery corpus", cases=212, refused=212, ...)``. When
RELIABILITY_REPORT names a file (``make reliability`` sets it), each call appends one
JSON line to it; otherwise nothing is written. ``python -m tests.figures FILE`` prints
the lines as a Markdown table, which is what the doc quotes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

Figure = int | float | str


def record(suite: str, **figures: Figure) -> None:
    path = os.environ.get("RELIABILITY_REPORT", "").strip()
    if not path:
        return
    database = "postgresql" if os.environ.get("TEST_DATABASE_URL", "").strip() else "sqlite"
    line = {"suite": suite, "database": database, **figures}
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def table(lines: list[dict[str, Figure]]) -> str:
    rows = ["| suite | database | figures |", "| --- | --- | --- |"]
    for line in lines:
        rest = ", ".join(
            f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"
            for key, value in line.items()
            if key not in {"suite", "database"}
        )
        rows.append(f"| {line['suite']} | {line['database']} | {rest} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.figures REPORT.jsonl", file=sys.stderr)  # noqa: T201
        return 2
    report = Path(argv[0])
    if not report.is_file():
        print(f"{report}: no figures recorded", file=sys.stderr)  # noqa: T201
        return 1
    lines = [json.loads(text) for text in report.read_text().splitlines() if text.strip()]
    print(table(lines))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
