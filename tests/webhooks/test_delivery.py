"""The delivery loop, through the running app and a live receiver on loopback: every list
change arrives signed, once in effect, and failed tries come back on schedule (SPEC §10)."""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Row, delete

from app.models import ChangeEvent
from app.webhooks import delivery
from app.webhooks.endpoints import GIVE_UP_AFTER
from tests.live import free_port
from tests.webhooks.conftest import RETRY_SECONDS, Bouncer, Maker, ShiftedClock, eventually
from tests.webhooks.receiver import Answer, Receiver, always, first


def data_of(item: dict[str, object]) -> dict[str, object]:
    """What a webhook body's ``data`` holds of a feed item: what applies, no nulls."""
    return {k: v for k, v in item.items() if k not in ("id", "type", "at") and v is not None}


def tries_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("bouncer_webhook_tries_total", {"outcome": outcome}) or 0.0


class TestEveryChangeArrives:
    async def test_each_event_signed_in_order_once_with_the_feeds_fields(
        self, bouncer: Bouncer, receiver: Receiver
    ) -> None:
        await bouncer.add_webhook(receiver, "/all")
        removals, _ = await bouncer.add_webhook(
            receiver, "/removals", types=["suppression.removed"]
        )
        await bouncer.suppress("Ann@Example.com", note="asked")
        await bouncer.suppress("bob@example.com", expires_at="2099-01-01T00:00:00Z")
        await bouncer.suppress("bob@example.com", note="still", expires_at="2099-06-01T12:00:00Z")
        await bouncer.unsuppress("ann@example.com")
        feed = await bouncer.feed()
        assert len(feed) == 4

        got = await eventually(
            lambda: len(receiver.effects("/all")) == 4 and receiver.effects("/all"),
            what="the four events at /all",
        )
        assert set(got) == {item["id"] for item in feed}
        for item in feed:
            body = got[item["id"]]
            assert body == {"type": item["type"], "timestamp": item["at"], "data": data_of(item)}
        assert got[feed[1]["id"]]["data"]["expires_at"] == "2099-01-01T00:00:00Z"
        assert "note" not in got[feed[1]["id"]]["data"]  # a null is left out

        removal = await eventually(
            lambda: receiver.effects("/removals"), what="the removal at /removals"
        )
        assert list(removal) == [feed[3]["id"]]
        assert removal[feed[3]["id"]]["type"] == "suppression.removed"

        requests = receiver.requests()
        assert all(r.verified for r in requests)
        assert all(r.n == 1 for r in requests), "an always-200 receiver was asked twice"
        assert len(requests) == 5
        rows = await eventually(lambda: _delivered(bouncer, removals), what="recorded")
        assert [(r.status, r.attempt, r.status_code, r.event_uid) for r in rows] == [
            ("delivered", 1, 200, feed[3]["id"])
        ]


class TestRetries:
    async def test_failed_tries_come_back_after_the_retry_time_then_further_apart(
        self, bouncer: Bouncer, receiver: Receiver
    ) -> None:
        receiver.plan = first(3, Answer.REFUSE)
        before = {o: tries_counted(o) for o in ("retry", "delivered", "failed")}
        webhook_id, _ = await bouncer.add_webhook(receiver, "/hook")
        await bouncer.suppress("ann@example.com")
        await eventually(lambda: receiver.effects("/hook"), what="the event after 3 refusals")
        (row,) = await eventually(lambda: _delivered(bouncer, webhook_id), what="recorded")

        tries = receiver.requests("/hook")
        assert [r.n for r in tries] == [1, 2, 3, 4]
        assert len({r.webhook_id for r in tries}) == 1  # the same webhook-id every time
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(tries)]
        # Never before its time: WEBHOOK_RETRY_SECONDS, then doubling (plus up to 25 %).
        for n, gap in enumerate(gaps):
            assert gap >= RETRY_SECONDS * 2**n * 0.95, gaps
        assert gaps[2] > gaps[0] * 2, gaps
        assert (row.status, row.attempt, row.status_code, row.error) == ("delivered", 4, 200, None)
        counted = {o: tries_counted(o) - before[o] for o in before}
        assert counted == {"retry": 3, "delivered": 1, "failed": 0}

    async def test_late_closed_and_redirected_answers_are_failed_tries(
        self, bouncer: Bouncer, receiver: Receiver, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="bouncer.webhooks")
        kinds = {"/slow": Answer.SLOW, "/close": Answer.CLOSE, "/redirect": Answer.REDIRECT}
        receiver.plan = lambda path, _id, n: kinds[path] if n == 1 else Answer.OK
        hooks = {path: (await bouncer.add_webhook(receiver, path))[0] for path in kinds}
        down, _ = await bouncer.add_webhook(
            receiver, "/down", url=f"http://127.0.0.1:{free_port()}/nobody-listens"
        )
        await bouncer.suppress("ann@example.com")
        for path in kinds:
            await eventually(
                lambda p=path: [r for r in receiver.requests(p) if r.n == 2],  # type: ignore[misc]
                what=f"the retry at {path}",
            )

        def errors(webhook_id: str) -> list[str]:
            return [
                r.getMessage()
                for r in caplog.records
                if (getattr(r, "webhook_id", None), getattr(r, "outcome", None))
                == (webhook_id, "retry")
            ]

        assert "no answer in time" in errors(hooks["/slow"])[0]
        assert "no answer: RemoteProtocolError" in errors(hooks["/close"])[0]
        assert "answered 302" in errors(hooks["/redirect"])[0]
        assert not receiver.requests("/elsewhere"), "a redirect was followed"
        assert (
            "no answer: ConnectError" in (await eventually(lambda: errors(down), what="a try"))[0]
        )
        for path, webhook_id in hooks.items():
            (row,) = await eventually(
                lambda w=webhook_id: _delivered(bouncer, w),  # type: ignore[misc]
                what=f"{path} delivered",
            )
            assert row.attempt == 2
        # The slow receiver processed the first try: the retry is a duplicate it ignores.
        assert len(receiver.effects("/slow")) == 1

    async def test_after_24_hours_of_failures_it_fails_and_a_later_2xx_clears_the_endpoint(
        self, bouncer: Bouncer, receiver: Receiver, clock: ShiftedClock
    ) -> None:
        receiver.plan = always(Answer.REFUSE)
        webhook_id, _ = await bouncer.add_webhook(receiver, "/hook")
        await bouncer.suppress("ann@example.com")
        await eventually(lambda: len(receiver.requests("/hook")) >= 2, what="a retry")
        (row,) = await bouncer.deliveries(webhook_id)
        assert row.status == "pending"
        assert (await bouncer.webhook(webhook_id)).failing_since is None

        receiver.check_timestamp = False  # the headers carry bouncer's (jumped) time
        clock.jump(GIVE_UP_AFTER)
        (row,) = await eventually(
            lambda: _with_status(bouncer, webhook_id, "failed"), what="the delivery failed"
        )
        assert row.next_attempt_at is None
        assert row.status_code == 500
        assert row.error.startswith("answered 500: refused by the test")
        hook = await bouncer.webhook(webhook_id)
        assert hook.failing_since is not None
        assert hook.failing_since > row.created_at + GIVE_UP_AFTER - timedelta(minutes=1)
        assert hook.last_error == row.error
        tries = len(receiver.requests("/hook"))

        receiver.plan = always(Answer.OK)
        await bouncer.suppress("bob@example.com")
        await eventually(lambda: receiver.effects("/hook"), what="the next event delivered")
        hook = await eventually(
            lambda: _cleared(bouncer, webhook_id), what="the endpoint no longer failing"
        )
        assert hook.last_error is None
        # The failed delivery is not tried again.
        assert len(receiver.requests("/hook")) == tries + 1
        assert receiver.requests("/hook")[-1].verified

    async def test_an_event_pruned_before_its_delivery_fails_at_once(
        self, make_bouncer: Maker, receiver: Receiver
    ) -> None:
        # Its retry comes after the event is gone.
        bouncer = await make_bouncer(WEBHOOK_RETRY_SECONDS=1.0)
        receiver.plan = always(Answer.REFUSE)
        webhook_id, _ = await bouncer.add_webhook(receiver, "/hook")
        await bouncer.suppress("ann@example.com")
        await eventually(lambda: receiver.requests("/hook"), what="a first try")
        async with bouncer.app.state.services.database.session() as session:
            await session.execute(delete(ChangeEvent))  # as CHANGES_RETENTION_DAYS would
        (row,) = await eventually(
            lambda: _with_status(bouncer, webhook_id, "failed"), what="the delivery failed"
        )
        assert row.error == delivery.PRUNED
        assert row.event_uid is None
        assert len(receiver.requests("/hook")) == 1


async def _with_status(bouncer: Bouncer, webhook_id: str, status: str) -> list[Row[Any]]:
    rows = await bouncer.deliveries(webhook_id)
    return rows if rows and all(r.status == status for r in rows) else []


async def _delivered(bouncer: Bouncer, webhook_id: str) -> list[Row[Any]]:
    return await _with_status(bouncer, webhook_id, "delivered")


async def _cleared(bouncer: Bouncer, webhook_id: str) -> object:
    hook = await bouncer.webhook(webhook_id)
    return hook if hook.failing_since is None else None
