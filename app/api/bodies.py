"""JSON request bodies as the /v1 routes read them: text that UTF-8 (and so PostgreSQL, the
JSON encoder and SES) can hold.

JSON lets a body spell a lone surrogate (``"\\ud800"``): Python reads it into a str that
no UTF-8 encoder takes, so it failed wherever it went next (a row, a response echoing it,
a boto3 call) as a 500. A number of more than 4,300 digits makes ``json.loads`` raise
ValueError (CPython's limit on int conversion), which FastAPI answered with a vague 400.
Both are refused here, once, as an unreadable body (422 naming the body).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

# Only a \u escape can put a surrogate into a body that is valid UTF-8: look for one
# before walking the parsed value.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class UnreadableBody(ValueError):
    """The body parses as JSON but holds something no part of bouncer can take."""


def _check_text(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as err:
                raise UnreadableBody(
                    "it holds a lone surrogate (a \\ud800-\\udfff escape without its pair), "
                    "which is not Unicode text"
                ) from err
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def read_json(body: bytes) -> Any:
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise  # answered already: not JSON (with the position), not UTF-8
    except ValueError as err:
        raise UnreadableBody("it holds a number of more than 4300 digits") from err
    if _SURROGATE_ESCAPE.search(body):
        _check_text(parsed)
    return parsed


class _CheckedRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = read_json(await self.body())
        return self._json


class CheckedJsonRoute(APIRoute):
    """A route whose JSON body goes through read_json (FastAPI's custom route class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            return await handler(_CheckedRequest(request.scope, request.receive))

        return checked
