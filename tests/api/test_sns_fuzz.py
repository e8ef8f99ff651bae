"""Whatever arrives at POST /sns, the answer is a clean 4xx (or 503), never a 5xx crash."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TOPIC
from tests.figures import record
from tests.signing import SnsSigner

pytestmark = pytest.mark.reliability

FIELDS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "SigningCertUrl",
    "Subject",
    "Token",
    "SubscribeURL",
    "SubscribeUrl",
    "UnsubscribeURL",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
envelopes = st.dictionaries(
    st.sampled_from(FIELDS), json_values | st.text(max_size=80), max_size=14
)
header_names = st.sampled_from(
    [
        "x-amz-sns-message-type",
        "x-amz-sns-message-id",
        "x-amz-sns-topic-arn",
        "x-amz-sns-rawdelivery",
        "content-type",
    ]
)
headers = st.dictionaries(
    header_names,
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    max_size=4,
)

# FUZZ_EXAMPLES raises the count for a long run (e.g. FUZZ_EXAMPLES=100000).
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Every answer seen by this module, for the reliability report.
SEEN: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    five_xx = sum(n for key, n in SEEN.items() if key.startswith("5") and key != "503")
    record(
        "fuzzed /sns bodies",
        bodies=SEEN.total(),
        answered_4xx=sum(n for key, n in SEEN.items() if key.startswith("4")),
        answered_200=SEEN["200"],
        answered_503=SEEN["503"],
        other_5xx=five_xx,
    )


def assert_clean(response: httpx.Response) -> None:
    SEEN[str(response.status_code)] += 1
    assert response.status_code < 500 or response.status_code == 503, response.text
    assert "error" in response.json() or "status" in response.json()


class TestFuzzedBodies:
    @FUZZ
    @given(body=st.binary(max_size=2000), extra=headers)
    async def test_random_bytes(
        self, client: httpx.AsyncClient, body: bytes, extra: dict[str, str]
    ) -> None:
        assert_clean(await client.post("/sns", content=body, headers=extra))

    @FUZZ
    @given(envelope=envelopes, extra=headers)
    async def test_envelope_shaped_json(
        self, client: httpx.AsyncClient, envelope: dict[str, Any], extra: dict[str, str]
    ) -> None:
        body = json.dumps(envelope).encode()
        assert_clean(await client.post("/sns", content=body, headers=extra))

    @FUZZ
    @given(field=st.sampled_from(FIELDS), value=json_values)
    async def test_one_field_of_a_signed_message_replaced(
        self, client: httpx.AsyncClient, signer: SnsSigner, field: str, value: Any
    ) -> None:
        envelope = signer.make_notification('{"notificationType": "Bounce"}', topic_arn=TOPIC)
        envelope[field] = value
        response = await client.post("/sns", content=json.dumps(envelope).encode())
        assert_clean(response)
        # Only unsigned fields (and a null Subject, read as absent) may change and pass.
        unsigned = {"UnsubscribeURL", "SigningCertUrl", "SubscribeURL", "SubscribeUrl", "Token"}
        harmless = field in unsigned or (field == "Subject" and value is None)
        assert response.status_code != 200 or harmless

    async def test_deeply_nested_json(self, client: httpx.AsyncClient) -> None:
        body = b"[" * 100_000 + b"]" * 100_000
        response = await client.post("/sns", content=body[: 500 * 1024])
        assert response.status_code in (400, 413)
