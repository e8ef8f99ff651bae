"""How long the consumer waits after a failure: doubling from a first delay up to a cap."""

from __future__ import annotations

import random


class RetryDelays:
    """Exponential back-off with "equal jitter" (half of each step fixed, half random), so
    replicas that failed together do not come back together.
    https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
    """

    def __init__(self, first: float = 1.0, cap: float = 30.0) -> None:
        self.first = first
        self.cap = cap
        self._step = first

    def next(self) -> float:
        """The delay to wait now; the one after it is twice as long, up to ``cap``."""
        step = self._step
        self._step = min(self.cap, step * 2)
        return step / 2 + random.uniform(0, step / 2)  # noqa: S311  (jitter, not a secret)

    def longest(self) -> float:
        """The cap, for a failure that waiting a little will not cure."""
        self._step = self.cap
        return self.next()

    def reset(self) -> None:
        self._step = self.first
