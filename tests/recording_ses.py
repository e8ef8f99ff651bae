"""An SES v2 client that records what SES would receive and accepts every SendEmail."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.content


class RecordingSes:
    """A real sesv2 client (parameters checked against the API model and serialised as
    botocore sends them); each SendEmail request body is kept and answered in process.
    Needs fake credentials in the environment (tests.ses.conftest.use_fake_aws_credentials)."""

    def __init__(self) -> None:
        self.client = boto3.client("sesv2", region_name="us-east-1")
        self.bodies: list[dict[str, Any]] = []
        events: Any = self.client.meta.events
        # A before-send handler that returns a response stands in for the network.
        events.register("before-send.sesv2.SendEmail", self._accept)

    def _accept(self, request: Any, **_: Any) -> AWSResponse:
        self.bodies.append(json.loads(request.body))
        answer = json.dumps({"MessageId": f"m-{uuid.uuid4()}"}).encode()
        headers: Any = {"Content-Type": "application/json"}
        return AWSResponse(request.url, 200, headers, _Body(answer))

    def raw_sent(self) -> bytes:
        return base64.b64decode(self.bodies[-1]["Content"]["Raw"]["Data"])
