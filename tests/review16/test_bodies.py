"""Review of issue #16: how the queue's body reader treats repeated JSON keys.

The SNS envelope parser refuses a body that repeats a key ("two values for one key could
let the signed value differ from the used one"); the new reader for the unsigned shapes
takes the last value silently, so the value bouncer acts on is not the one a reviewer of
the message (or an EventBridge rule, or any first-wins parser) sees.
"""

from __future__ import annotations

import json

import pytest

from app.errors import EnvelopeInvalid
from app.ingest.queue_bodies import read_body
from tests.ses_payloads import bounce

DETAIL = json.loads(bounce(["ann@example.com"], feedback_id="fb-r16", shape="event"))


def test_an_eventbridge_event_repeating_source_is_refused() -> None:
    # First-wins readers see "my.app"; bouncer reads "aws.ses" and takes it.
    body = (
        '{"version": "0", "id": "r16-1", "detail-type": "Email Bounced", '
        '"source": "my.app", "source": "aws.ses", "account": "123456789012", '
        f'"detail": {json.dumps(DETAIL)}}}'
    )
    with pytest.raises(EnvelopeInvalid, match="repeats the key"):
        read_body(body, accept_unsigned=True)


def test_a_bare_ses_event_repeating_its_type_is_refused() -> None:
    # A Delivery to the eye (and to a first-wins reader), a permanent Bounce to bouncer.
    text = json.dumps(DETAIL)
    body = '{"eventType": "Delivery", ' + text[1:]
    assert json.loads(body)["eventType"] == "Bounce"
    with pytest.raises(EnvelopeInvalid, match="repeats the key"):
        read_body(body, accept_unsigned=True)
