"""The operator corpus runs in `make test` and again, with its figures recorded, in
`make reliability` (which selects `-m "reliability or slow"`)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.reliability)
