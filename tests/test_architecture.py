"""The shape docs/architecture.md describes: contracts kept, no package cycle, small modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

from tests.module_sizes import oversized

ROOT = Path(__file__).resolve().parents[1]


def test_the_layer_contracts_hold() -> None:
    run = subprocess.run(  # noqa: S603  (our own venv's lint-imports)
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:]


def test_no_import_cycle_between_app_packages() -> None:
    graph = grimp.build_graph("app")
    packages = sorted(
        module for module in graph.find_children("app") if graph.find_children(module)
    )
    cycles = [
        (a, b)
        for a in packages
        for b in packages
        if a < b
        and graph.chain_exists(importer=a, imported=b, as_packages=True)
        and graph.chain_exists(importer=b, imported=a, as_packages=True)
    ]
    assert cycles == []


def test_no_app_module_is_over_300_lines() -> None:
    assert oversized(ROOT / "app", 300) == []
