"""/v1/stats never divides by fewer messages than SES reported on (SPEC §4 Edges): with
fewer recorded sends than deliveries + bounces + complaints, the rates are over the events,
and the answer says so."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.models import Event, Send
from tests.conftest import READ

_ids = itertools.count()


@dataclass(frozen=True)
class Window:
    sends: int
    deliveries: int
    hard: int
    soft: int
    complaints: int


async def _seed(app: FastAPI, window: Window) -> None:
    now = datetime.now(UTC) - timedelta(hours=1)
    async with app.state.services.database.session() as session:
        if window.sends:
            session.add(
                Send(
                    ses_message_id="s",
                    sender="me@example.com",
                    sent_to=[],
                    suppressed=[],
                    recipient_count=window.sends,
                    configuration_set=None,
                    outcome="sent",
                    ses_code=None,
                    created_at=now,
                )
            )
        for verdict, count in (
            ("delivery", window.deliveries),
            ("hard_bounce", window.hard),
            ("soft_bounce", window.soft),
            ("complaint", window.complaints),
        ):
            for _ in range(count):
                n = next(_ids)
                session.add(
                    Event(
                        dedupe_key=f"{n:064d}",
                        sns_message_id=f"sns-{n}",
                        type="Complaint" if verdict == "complaint" else "Bounce",
                        email=f"r{n}@example.com",
                        verdict=verdict,
                        occurred_at=now,
                        received_at=now,
                    )
                )


# (sends, deliveries, hard, soft, complaints) -> denominator, its source, the standings
TABLE: list[tuple[Window, int, str, str, str]] = [
    (Window(0, 0, 0, 0, 0), 0, "none", "unknown", "unknown"),
    # The defect: 10 sends through bouncer, 1,030 messages SES reported on. Over the sends
    # the bounce rate would read 300 % and "pause".
    (Window(10, 1000, 30, 0, 0), 1030, "events", "warning", "ok"),
    (Window(0, 90, 10, 0, 0), 100, "events", "pause", "ok"),
    (Window(0, 96, 2, 2, 0), 100, "events", "ok", "ok"),
    (Window(0, 0, 5, 3, 0), 8, "events", "pause", "ok"),
    (Window(1000, 900, 60, 0, 2), 1000, "sends", "review", "review"),
    (Window(100, 100, 0, 0, 0), 100, "sends", "ok", "ok"),
    (Window(1000, 0, 30, 0, 0), 1000, "sends", "warning", "ok"),
    (Window(10_000, 0, 0, 0, 5), 10_000, "sends", "ok", "warning"),
    (Window(10_000, 0, 0, 0, 10), 10_000, "sends", "ok", "review"),
    (Window(1000, 0, 0, 0, 5), 1000, "sends", "ok", "pause"),
    # Only bounce and complaint topics subscribed: each complaint is a delivered message.
    (Window(50, 0, 0, 0, 60), 60, "events", "ok", "pause"),
    (Window(99, 90, 8, 0, 2), 100, "events", "review", "pause"),
    (Window(100, 90, 8, 0, 2), 100, "sends", "review", "pause"),
]


class TestDenominator:
    @pytest.mark.parametrize(("window", "denominator", "source", "bounce", "complaint"), TABLE)
    async def test_window(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        window: Window,
        denominator: int,
        source: str,
        bounce: str,
        complaint: str,
    ) -> None:
        await _seed(app, window)
        response = await client.get("/v1/stats", params={"window": "24h"}, headers=READ)
        assert response.status_code == 200, response.text
        stats: dict[str, Any] = response.json()
        assert stats["sends"] == window.sends
        assert stats["deliveries"] == window.deliveries
        assert (stats["hard_bounces"], stats["soft_bounces"]) == (window.hard, window.soft)
        assert stats["complaints"] == window.complaints
        events = window.deliveries + window.hard + window.soft + window.complaints
        assert stats["events"] == events
        assert (stats["denominator"], stats["denominator_source"]) == (denominator, source)
        assert denominator >= window.deliveries + window.hard + window.soft
        if denominator:
            assert stats["bounce_rate"] == pytest.approx(window.hard / denominator)
            assert stats["complaint_rate"] == pytest.approx(window.complaints / denominator)
        else:
            assert stats["bounce_rate"] is stats["complaint_rate"] is None
        assert (stats["bounce_standing"], stats["complaint_standing"]) == (bounce, complaint)
        if source == "events" and window.sends:
            assert f"{window.sends} sends" in stats["note"]
        elif source == "sends":
            assert stats["note"] is None
