"""Review of issue #16: `bouncer replay`'s resume hint and idempotence with every shape."""

from __future__ import annotations

import shlex
from typing import Any

from sqlalchemy.exc import OperationalError

from app.ingest import queued, receiving
from tests.queue_replay.conftest import (  # noqa: F401 (fixtures)
    Replay,
    lines,
    replay,
    replay_certs,
    write,
)
from tests.ses_payloads import bounce


def _bare(email: str) -> str:
    return bounce([email], shape="event").strip()


def test_the_resume_hint_keeps_accept_unsigned(
    replay: Replay,  # noqa: F811
    write: Any,  # noqa: F811
    database_url: str,
    monkeypatch: Any,
) -> None:
    # The operator replays bare SES events (a Firehose export) with --accept-unsigned; the
    # database is lost at the second batch. The command it prints to continue must take
    # the same lines the same way, or every line from there on is refused (exit 2).
    store = receiving.store_notifications
    calls = 0

    async def lose_second(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OperationalError("INSERT", None, ConnectionResetError("reset by peer"))
        return await store(*args, **kwargs)

    monkeypatch.setattr(queued, "store_notifications", lose_second)
    emails = [f"r16-{i}@example.com" for i in range(4)]
    path = write(lines(*(_bare(e) for e in emails)))
    result = replay(path, "--accept-unsigned", "--batch-size", "2")
    assert result.exit_code == 3, result.output
    hint = next(line for line in result.stderr.splitlines() if "tail -n +3" in line)
    command = hint.split("(`", 1)[1].split("`)", 1)[0]
    replayed = shlex.split(command.split("|", 1)[1])
    assert "--accept-unsigned" in replayed, f"the hint drops --accept-unsigned: {command}"
