"""What the delivery loop logs: a line for every try, and never an endpoint's secret nor
the credentials or query its URL may carry."""

from __future__ import annotations

import logging

import pytest

from tests.webhooks.conftest import Maker, eventually
from tests.webhooks.receiver import Answer, Receiver

USER, PASSWORD, QUERY = "hook-user", "pa55w0rd-in-the-url", "t0ken-in-the-query"


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_tries_and_failures_log_neither_the_secret_nor_the_urls_credentials(
    make_bouncer: Maker,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    log_format: str,
) -> None:
    bouncer = await make_bouncer(LOG_LEVEL="DEBUG", LOG_FORMAT=log_format)
    caplog.set_level(logging.DEBUG)  # after the app's start, which sets the levels it logs at
    answers = {1: Answer.REFUSE, 2: Answer.CLOSE, 3: Answer.SLOW}
    receiver.plan = lambda _path, _id, n: answers.get(n, Answer.OK)
    port = receiver.url("").rsplit(":", 1)[1]
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/hook?token={QUERY}"
    webhook_id, secret = await bouncer.add_webhook(receiver, "/hook", url=url)
    await bouncer.suppress("ann@example.com")
    await bouncer.unsuppress("ann@example.com")
    await eventually(lambda: len(receiver.effects("/hook")) == 2, what="both events")
    await eventually(
        lambda: sum(1 for r in caplog.records if getattr(r, "outcome", "") == "delivered") == 2,
        what="both deliveries logged",
    )

    tries = [r for r in caplog.records if getattr(r, "webhook_id", None) == webhook_id]
    # At least 4 tries of each event (refused, closed, slow, then delivered); on a loaded
    # machine an answer may come after the time-out too, and cost one try more.
    attempts: dict[str, list[int]] = {}
    for record in tries:
        attempts.setdefault(getattr(record, "event_id", ""), []).append(
            getattr(record, "attempt", 0)
        )
    assert len(attempts) == 2, [r.getMessage() for r in tries]
    for event_id, numbers in attempts.items():
        assert event_id.startswith("evt_")
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
        assert len(numbers) >= 4, [r.getMessage() for r in tries]
    assert all(
        r.getMessage().startswith(f"webhook try to http://127.0.0.1:{port}: ") for r in tries
    )
    assert all(isinstance(getattr(r, "delivery_id", None), int) for r in tries)
    codes = {getattr(r, "status_code", 0) for r in tries}
    assert {None, 200} <= codes <= {500, None, 200}

    out, err = capsys.readouterr()
    assert f"127.0.0.1:{port}" in err  # the app's own handler wrote these lines here
    logged = "\n".join([caplog.text, out, err, *(str(r.__dict__) for r in caplog.records)])
    for never in (secret, secret.removeprefix("whsec_"), USER, PASSWORD, QUERY):
        assert never not in logged
