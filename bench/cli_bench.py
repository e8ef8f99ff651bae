"""``bouncer --help`` wall time, against an interpreter that does nothing (``python -c pass``).

    python -m bench.cli_bench [--runs 9]

The two alternate, so a neighbour's load on the shared box hurts both alike; the figure
is the ratio of the medians (the issue's target: help in under 1 s).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BOUNCER = Path(sys.executable).with_name("bouncer")


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)  # noqa: S603
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    bare: list[float] = []
    helped: list[float] = []
    for _ in range(runs):
        bare.append(_wall([sys.executable, "-c", "pass"]))
        helped.append(_wall([str(BOUNCER), "--help"]))
    floor, help_ = statistics.median(bare), statistics.median(helped)
    print(f"python -c pass: median {floor * 1000:.0f} ms")
    print(
        f"bouncer --help: median {help_ * 1000:.0f} ms "
        f"(min {min(helped) * 1000:.0f}, max {max(helped) * 1000:.0f}; {runs} runs)"
    )
    print(f"ratio: {help_ / floor:.1f}")


if __name__ == "__main__":
    main()
