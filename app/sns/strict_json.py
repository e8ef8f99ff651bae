"""JSON read strictly: an object that gives one key twice is an error, not last-wins.

Python's json keeps the last of two values for a key; other readers (a first-wins
parser, an EventBridge rule, a person reading the message) may see the first. Whatever
bouncer acts on must be the value everyone else sees, and for an SNS envelope the one
that was signed, so a repeated key is refused wherever a body is read: the SNS envelope
(app.sns.envelope) and the unsigned shapes a queue may hold (app.ingest.queue_bodies).
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateKey(ValueError):
    """An object in the text gives ``key`` twice."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def loads(text: str | bytes) -> Any:
    """``json.loads``, raising DuplicateKey (a ValueError) for a repeated key at any depth."""
    return json.loads(text, object_pairs_hook=_unique_keys)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out
