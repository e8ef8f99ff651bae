"""Review of issue #16: claims checked that hold on queue-core (these pass; kept as evidence)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import TOPIC
from tests.queue.test_queue_bodies import eventbridge
from tests.queue_replay.conftest import (  # noqa: F401 (fixtures)
    Replay,
    contents,
    lines,
    replay,
    replay_certs,
    signed_bodies,
    write,
)
from tests.ses_payloads import bounce, complaint
from tests.signing import SnsSigner


def _bare(email: str) -> str:
    return bounce([email], shape="event").strip()


def test_a_mixed_file_replayed_twice_changes_no_table(
    replay: Replay,  # noqa: F811
    write: Any,  # noqa: F811
    signer: SnsSigner,
    database_url: str,
) -> None:
    confirmation = json.dumps(signer.make_subscription_confirmation(topic_arn=TOPIC))
    soft = bounce(["soft@example.com"], bounce_type="Transient", status=None, shape="event")
    bodies = [
        *signed_bodies(signer, bounce(["a@example.com"]), complaint(["b@example.com"])),
        _bare("c@example.com"),
        soft.strip(),
        eventbridge(json.loads(bounce(["d@example.com"], shape="event"))),
        eventbridge(json.loads(soft)),  # the same soft bounce, the EventBridge shape
        confirmation,
        "not json",
    ]
    path = write(lines(*bodies))
    first, summary = replay.json(path, "--accept-unsigned")
    assert first.exit_code == 2, first.output
    assert summary["refused"] == 1
    stored = contents(database_url)
    again, summary = replay.json(path, "--accept-unsigned")
    assert again.exit_code == 2, again.output
    assert summary["processed"] == 0, summary
    assert contents(database_url) == stored
