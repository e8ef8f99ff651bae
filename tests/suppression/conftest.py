"""A Hypothesis profile for `make mutation`, which runs these tests many times in one process."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# mutmut calls each test again from the same process with a new class instance, which
# Hypothesis reports as differing executors; the same examples every run also make a
# mutant's verdict repeatable. Used only through `--hypothesis-profile=mutmut`.
settings.register_profile(
    "mutmut",
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.differing_executors],
)
