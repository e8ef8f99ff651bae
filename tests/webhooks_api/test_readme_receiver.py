"""The README's webhook receiver is real: taken out of the README as written and run
against requests signed as bouncer signs its deliveries (app.webhooks.tries.try_once)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.change_schemas import FeedItemOut
from app.webhooks.endpoints import new_secret
from app.webhooks.signing import body_of, event_data, signed_headers
from app.webhooks.tries import TryResult, try_once
from tests.conftest import READ, WRITE

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- the receiver: tests/webhooks_api/test_readme_receiver.py runs it"


def receiver_source() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(re.escape(MARKER) + r"[^\n]*\n```python\n(.*?)\n```", text, re.S)
    assert found is not None, "the README's receiver example is gone"
    return found.group(1)


class Receiver:
    """The README's code, run with ``secret`` in its environment."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
        monkeypatch.setenv("BOUNCER_WEBHOOK_SECRET", secret)
        self.namespace: dict[str, Any] = {"__name__": "readme_receiver"}
        exec(compile(receiver_source(), str(README), "exec"), self.namespace)  # noqa: S102
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.namespace["app"]), base_url="http://receiver"
        )

    @property
    def do_not_mail(self) -> set[str]:
        found: set[str] = self.namespace["do_not_mail"]
        return found

    async def deliver(
        self,
        secret: str,
        event_id: str,
        type_: str,
        data: dict[str, Any],
        *,
        sent_at: datetime | None = None,
    ) -> TryResult:
        now = datetime.now(UTC)
        return await try_once(
            self.client,
            "http://receiver/bouncer",
            secret=secret,
            event_id=event_id,
            type_=type_,
            at=now,
            data=data,
            sent_at=sent_at or now,
        )


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
async def receiver(monkeypatch: pytest.MonkeyPatch, secret: str) -> Any:
    made = Receiver(monkeypatch, secret)
    async with made.client:
        yield made


async def _feed_event(client: httpx.AsyncClient) -> tuple[str, str, dict[str, Any]]:
    """A real event of bouncer's feed, and its delivery's data."""
    put = await client.put(
        "/v1/suppressions/Ann@Example.com", json={"reason": "manual"}, headers=WRITE
    )
    assert put.status_code == 201
    [item] = (await client.get("/v1/changes", headers=READ)).json()["items"]
    data = event_data(FeedItemOut.model_validate({**item, "uid": item["id"]}))
    return item["id"], item["type"], data


class TestReadmeReceiver:
    async def test_a_signed_event_is_taken_once(
        self, receiver: Receiver, secret: str, client: httpx.AsyncClient
    ) -> None:
        event_id, type_, data = await _feed_event(client)
        assert (type_, data["email"]) == ("suppression.added", "ann@example.com")
        assert await receiver.deliver(secret, event_id, type_, data) == TryResult(True, 204, None)
        assert receiver.do_not_mail == {"ann@example.com"}

        # Removed later; then the first event's retry arrives: it is skipped, not re-applied.
        removed = await receiver.deliver(
            secret, "evt_" + "1" * 32, "suppression.removed", {"email": "ann@example.com"}
        )
        assert removed.delivered
        assert receiver.do_not_mail == set()
        assert (await receiver.deliver(secret, event_id, type_, data)).delivered
        assert receiver.do_not_mail == set()

    async def test_an_unknown_type_such_as_ping_is_answered_2xx(
        self, receiver: Receiver, secret: str
    ) -> None:
        result = await receiver.deliver(secret, "ping_" + "0" * 32, "ping", {})
        assert result == TryResult(True, 204, None)
        assert receiver.do_not_mail == set()

    async def test_another_secret_is_refused(self, receiver: Receiver) -> None:
        result = await receiver.deliver(
            new_secret(), "evt_" + "2" * 32, "suppression.added", {"email": "x@example.com"}
        )
        assert result == TryResult(False, 401, "answered 401: bad signature")
        assert receiver.do_not_mail == set()

    async def test_an_old_timestamp_is_refused(self, receiver: Receiver, secret: str) -> None:
        result = await receiver.deliver(
            secret,
            "evt_" + "3" * 32,
            "suppression.added",
            {"email": "x@example.com"},
            sent_at=datetime.now(UTC) - timedelta(minutes=6),
        )
        assert result.status_code == 401
        assert receiver.do_not_mail == set()

    async def test_a_changed_body_or_no_signature_is_refused(
        self, receiver: Receiver, secret: str
    ) -> None:
        now = datetime.now(UTC)
        body = body_of("suppression.removed", now, {"email": "x@example.com"})
        headers = signed_headers(secret, event_id="evt_" + "4" * 32, sent_at=now, body=body)
        changed = body.replace(b"x@example.com", b"y@example.com")
        for content, sent in ((changed, headers), (body, {"content-type": "application/json"})):
            answer = await receiver.client.post("/bouncer", content=content, headers=sent)
            assert answer.status_code == 401
        assert (
            await receiver.client.post("/bouncer", content=body, headers=headers)
        ).status_code == 204
