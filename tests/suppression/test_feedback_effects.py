"""The policy's decisions carried out end to end: signed /sns POSTs, then the list."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.models import Event
from app.suppression import entry_store
from tests.conftest import READ, TOPIC, WRITE
from tests.ses_payloads import bounce, delivery, post_ses, sample, ses_time
from tests.signing import SnsSigner

SOFT: dict[str, Any] = {"bounce_type": "Transient", "status": "4.2.2"}


async def send(client: httpx.AsyncClient, signer: SnsSigner, message: str) -> None:
    response = await post_ses(client, signer, message, topic_arn=TOPIC)
    assert response.status_code == 200, response.text


async def entry_of(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    """The entry (404 body when not suppressed) with its history."""
    response = await client.get(f"/v1/suppressions/{email}", headers=READ)
    assert response.status_code in (200, 404), response.text
    body: dict[str, Any] = response.json()
    return body


def actions(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(change["action"], change["actor"]) for change in body["history"]]


async def three_soft_bounces(
    client: httpx.AsyncClient, signer: SnsSigner, email: str, now: datetime
) -> None:
    for hours in (3, 2, 1):
        await send(client, signer, bounce([email], at=now - timedelta(hours=hours), **SOFT))


class TestALateDelivery:
    async def test_that_breaks_the_run_lifts_the_entry_sns_made(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        await three_soft_bounces(client, signer, "late@example.com", now)
        assert (await entry_of(client, "late@example.com"))["reason"] == "soft_bounce"
        # Delivered between the first two soft bounces, reported after all three.
        await send(client, signer, delivery(["late@example.com"], at=now - timedelta(minutes=150)))
        body = await entry_of(client, "late@example.com")
        assert body["suppressed"] is False
        assert actions(body) == [("added", "sns"), ("removed", "sns")]
        assert "delivery" in body["history"][-1]["note"]

    async def test_after_the_run_keeps_the_entry(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        await three_soft_bounces(client, signer, "after@example.com", now)
        await send(client, signer, delivery(["after@example.com"], at=now - timedelta(minutes=5)))
        body = await entry_of(client, "after@example.com")
        assert body["reason"] == "soft_bounce"
        assert actions(body) == [("added", "sns")]

    async def test_leaves_an_operators_soft_bounce_entry(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        expires = (now + timedelta(days=2)).isoformat()
        put = {"reason": "soft_bounce", "expires_at": expires, "note": "mailbox full"}
        response = await client.put("/v1/suppressions/op@example.com", json=put, headers=WRITE)
        assert response.status_code == 201, response.text
        await send(client, signer, bounce(["op@example.com"], at=now - timedelta(hours=2), **SOFT))
        await send(client, signer, delivery(["op@example.com"], at=now - timedelta(hours=1)))
        body = await entry_of(client, "op@example.com")
        assert (body["reason"], body["source"], body["note"]) == (
            "soft_bounce",
            "api",
            "mailbox full",
        )

    async def test_leaves_a_hard_bounce_entry(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        await three_soft_bounces(client, signer, "hard@example.com", now)
        await send(client, signer, bounce(["hard@example.com"], at=now - timedelta(minutes=30)))
        await send(client, signer, delivery(["hard@example.com"], at=now - timedelta(minutes=150)))
        body = await entry_of(client, "hard@example.com")
        assert body["reason"] == "bounce"
        assert actions(body) == [("added", "sns"), ("updated", "sns")]


async def expired_entry(app: FastAPI, email: str, *, reason: str, source: str = "api") -> datetime:
    """An entry written ten days ago that expired yesterday; its created_at."""
    then = datetime.now(UTC) - timedelta(days=10)
    entry = entry_store.Entry(
        email=email,
        display=email,
        reason=reason,
        source=source,
        note="old",
        expires_at=then + timedelta(days=9),
    )
    async with app.state.services.database.session() as session:
        await entry_store.put(session, entry, actor="ops", now=then, replace_active=True)
    return then


class TestAnExpiredEntryComingBack:
    """Is a new suppression: "added" in the history, dated now (SPEC §3's history)."""

    async def test_by_a_hard_bounce(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        then = await expired_entry(app, "back@example.com", reason="manual")
        start = datetime.now(UTC)
        await send(client, signer, bounce(["back@example.com"]))
        body = await entry_of(client, "back@example.com")
        assert (body["reason"], body["source"], body["expires_at"]) == ("bounce", "sns", None)
        assert datetime.fromisoformat(body["created_at"]) >= start > then
        assert actions(body) == [("added", "ops"), ("added", "sns")]
        assert body["note"] == "old"  # an SES event has no note to replace it with

    async def test_by_a_soft_bounce_run(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        await expired_entry(app, "run@example.com", reason="soft_bounce", source="sns")
        start = datetime.now(UTC)
        await three_soft_bounces(client, signer, "run@example.com", start)
        body = await entry_of(client, "run@example.com")
        assert body["reason"] == "soft_bounce"
        assert datetime.fromisoformat(body["created_at"]) >= start
        assert actions(body) == [("added", "ops"), ("added", "sns")]
        assert body["note"] is None  # the run's entry is recomputed whole

    async def test_by_an_operator(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        await expired_entry(app, "ops@example.com", reason="bounce")
        start = datetime.now(UTC)
        put = {"reason": "manual"}
        response = await client.put("/v1/suppressions/ops@example.com", json=put, headers=WRITE)
        assert response.status_code == 201, response.text
        body = await entry_of(client, "ops@example.com")
        assert datetime.fromisoformat(body["created_at"]) >= start
        assert body["note"] is None
        assert [a for a, _ in actions(body)] == ["added", "added"]

    async def test_an_active_entry_keeps_its_date(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        await send(client, signer, bounce(["kept@example.com"]))
        created = (await entry_of(client, "kept@example.com"))["created_at"]
        response = await client.put(
            "/v1/suppressions/kept@example.com", json={"reason": "manual"}, headers=WRITE
        )
        assert response.status_code == 200, response.text
        body = await entry_of(client, "kept@example.com")
        assert (body["created_at"], body["reason"]) == (created, "manual")
        assert [a for a, _ in actions(body)] == ["added", "updated"]


def dsn_bounce(actions_by_email: dict[str, str], *, at: datetime, feedback_id: str) -> str:
    """AWS's documented Permanent bounce with a DSN, one recipient per given action."""
    body = json.loads(sample("doc_notification_bounce_with_dsn"))
    template = body["bounce"]["bouncedRecipients"][0]
    recipients = []
    for email, action in actions_by_email.items():
        recipient = copy.deepcopy(template)
        recipient.update(emailAddress=email, action=action)
        if action.strip().lower() == "delayed":
            recipient.update(status="4.4.7", diagnosticCode="smtp; 451 4.4.7 try again later")
        recipients.append(recipient)
    body["bounce"].update(bouncedRecipients=recipients, feedbackId=feedback_id)
    body["bounce"]["timestamp"] = body["mail"]["timestamp"] = ses_time(at)
    return json.dumps(body)


class TestDsnActionOfAPermanentBounce:
    """SPEC §3 (2026-12): `delayed` is a soft bounce; `delivered`, `relayed`, `expanded`
    are recorded only (RFC 3464 §2.3.3)."""

    async def test_delayed_counts_as_a_soft_bounce(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        for n, hours in enumerate((3, 2)):
            at = now - timedelta(hours=hours)
            await send(
                client,
                signer,
                dsn_bounce({"jane@example.com": "delayed"}, at=at, feedback_id=f"fb-{n}"),
            )
        assert (await entry_of(client, "jane@example.com"))["suppressed"] is False
        message = dsn_bounce({"jane@example.com": "Delayed"}, at=now, feedback_id="fb-3")
        await send(client, signer, message)
        body = await entry_of(client, "jane@example.com")
        assert (body["reason"], body["subtype"]) == ("soft_bounce", "General")
        expires = datetime.fromisoformat(body["expires_at"])
        assert abs(expires - (now + timedelta(days=7))) < timedelta(seconds=5)
        async with app.state.services.database.session() as session:
            verdicts = (await session.scalars(select(Event.verdict))).all()
        assert verdicts == ["soft_bounce"] * 3

    @pytest.mark.parametrize("action", ["delivered", "relayed", "expanded", "EXPANDED"])
    async def test_other_actions_are_recorded_only(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner, action: str
    ) -> None:
        now = datetime.now(UTC)
        message = dsn_bounce({"jane@example.com": action}, at=now, feedback_id="fb")
        await send(client, signer, message)
        assert (await entry_of(client, "jane@example.com"))["suppressed"] is False
        async with app.state.services.database.session() as session:
            events = (await session.scalars(select(Event))).all()
        assert [(e.email, e.type, e.bounce_type, e.verdict) for e in events] == [
            ("jane@example.com", "Bounce", "Permanent", "record_only")
        ]

    async def test_each_recipient_by_its_own_action(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        mixed = {
            "jane@example.com": "failed",
            "mary@example.com": "delayed",
            "ric@example.com": "relayed",
        }
        await send(client, signer, dsn_bounce(mixed, at=now, feedback_id="fb-mixed"))
        assert (await entry_of(client, "jane@example.com"))["reason"] == "bounce"
        assert (await entry_of(client, "mary@example.com"))["suppressed"] is False
        assert (await entry_of(client, "ric@example.com"))["suppressed"] is False
