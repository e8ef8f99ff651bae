"""botocore's Stubber for a few operations of a client whose other calls go on to moto_server.

moto lacks or empties some answers the doctor reads (SNS's ``SignatureVersion`` topic
attribute, identities' notification topics, SES v2 ``GetAccount``; see the conftest).
Those operations are answered here; every answer is checked against the real service
model by Stubber's own ``add_response`` / ``add_client_error``, so a test cannot script
a shape SES or SNS would never send. Unlike Stubber's queue, an answer is matched by
operation and parameters and answers every such call (the doctor's order of reads is
its own business); ``unused()`` lists answers no call asked for.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from botocore.stub import StubAssertionError, Stubber


class PartialStubber(Stubber):
    _queue: deque[dict[str, Any]]  # Stubber's own, where add_response leaves an answer

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._answers: list[dict[str, Any]] = []
        self._used: set[int] = set()
        self._next: dict[str, Any] | None = None

    @property
    def operations(self) -> set[str]:
        return {answer["operation_name"] for answer in self._answers}

    def answer(self, method: str, response: dict[str, Any], **expected: Any) -> None:
        """``method``'s answer for calls whose parameters include ``expected``."""
        self.add_response(method, response, expected or None)
        self._answers.append(self._queue.pop())

    def refuse(
        self, method: str, code: str, message: str, status: int = 403, **expected: Any
    ) -> None:
        """Calls of ``method`` (whose parameters include ``expected``) answered with AWS
        error ``code``."""
        self.add_client_error(method, code, message, status, expected_params=expected or None)
        self._answers.append(self._queue.pop())

    def replace(self, method: str) -> None:
        """Forget ``method``'s answers (a test scripting its own instead of the defaults)."""
        name = self.client.meta.method_to_api_mapping[method]
        self._answers = [a for a in self._answers if a["operation_name"] != name]

    def unused(self) -> list[str]:
        return [a["operation_name"] for a in self._answers if id(a) not in self._used]

    def _assert_expected_params(self, model: Any, params: Any, context: Any, **_: Any) -> None:
        if model.name not in self.operations:
            return
        for answer in self._answers:
            expected = answer["expected_params"] or {}
            if answer["operation_name"] == model.name and all(
                params.get(key) == value for key, value in expected.items()
            ):
                self._used.add(id(answer))
                self._next = answer
                return
        raise StubAssertionError(
            operation_name=model.name, reason=f"no scripted answer for parameters {params}"
        )

    def _get_response_handler(self, model: Any, params: Any, context: Any, **_: Any) -> Any:
        if model.name not in self.operations:
            return None  # on to moto_server
        answer, self._next = self._next, None
        assert answer is not None
        return answer["response"]
