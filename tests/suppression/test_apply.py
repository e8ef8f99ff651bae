"""SES events end to end: signed SNS POSTs -> event history and suppression list, once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import Event, RecipientState, Suppression, SuppressionChange
from tests.conftest import READ, TOPIC, AppMaker
from tests.ses_payloads import SES_DATA, bounce, complaint, delivery, post_ses, sample
from tests.signing import SnsSigner, post_args

# Every AWS example and simulator capture, and what an SES operator would suppress.
EXPECTED: dict[str, dict[str, str]] = {
    "doc_event_bounce": {"recipient@example.com": "bounce"},
    "doc_event_click": {},
    "doc_event_complaint": {"recipient@example.com": "complaint"},
    "doc_event_delivery": {},
    "doc_event_deliverydelay": {},
    "doc_event_open": {},
    "doc_event_reject": {},
    "doc_event_rendering_failure": {},
    "doc_event_send": {},
    "doc_event_subscription": {"recipient@example.com": "unsubscribe"},
    "doc_notification_bounce_with_dsn": {"jane@example.com": "bounce"},
    "doc_notification_bounce_with_dsn_current_via_relay": {"jane@example.com": "bounce"},
    "doc_notification_bounce_without_dsn": {
        "jane@example.com": "bounce",
        "richard@example.com": "bounce",
    },
    "doc_notification_complaint_with_feedback": {"richard@example.com": "complaint"},
    "doc_notification_complaint_without_feedback": {"richard@example.com": "complaint"},
    "doc_notification_delivery": {},
    "simulator_bounce": {"bounce@simulator.amazonses.com": "bounce"},
    "simulator_complaint": {"complaint@simulator.amazonses.com": "complaint"},
    "simulator_delivery_complaint": {},
    "simulator_delivery_ooto": {},
    "simulator_delivery_success": {},
    "simulator_ooto_bounce": {},
    "simulator_suppressionlist_bounce": {"suppressionlist@simulator.amazonses.com": "bounce"},
}


async def suppressions(app: FastAPI) -> dict[str, str]:
    async with app.state.services.database.session() as session:
        rows = (await session.scalars(select(Suppression))).all()
    return {row.email: row.reason for row in rows}


async def count(app: FastAPI, model: Any) -> int:
    async with app.state.services.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def send(client: httpx.AsyncClient, signer: SnsSigner, message: str, **kw: Any) -> None:
    response = await post_ses(client, signer, message, topic_arn=TOPIC, **kw)
    assert response.status_code == 200, response.text


class TestAwsSamples:
    def test_every_sample_is_covered(self) -> None:
        assert {p.stem for p in SES_DATA.glob("*.json")} == set(EXPECTED)

    @pytest.mark.parametrize("name", sorted(EXPECTED))
    async def test_lands_in_the_right_row(
        self,
        name: str,
        app: FastAPI,
        client: httpx.AsyncClient,
        signer: SnsSigner,
    ) -> None:
        await send(client, signer, sample(name))
        assert await suppressions(app) == EXPECTED[name]
        assert await count(app, Event) >= 1
        for email, reason in EXPECTED[name].items():
            response = await client.get(f"/v1/suppressions/{email}", headers=READ)
            assert response.status_code == 200
            entry = response.json()
            assert entry["reason"] == reason
            assert entry["source"] == "sns"
            assert entry["events"], "the entry explains itself with its events"
            assert entry["history"][0]["actor"] == "sns"

    async def test_bounce_entry_explains_itself(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        await send(client, signer, sample("doc_notification_bounce_with_dsn"))
        entry = (await client.get("/v1/suppressions/jane@example.com", headers=READ)).json()
        body = json.loads(sample("doc_notification_bounce_with_dsn"))
        assert entry["subtype"] == "General"
        assert entry["feedback_id"] == body["bounce"]["feedbackId"]
        assert entry["ses_message_id"] == body["mail"]["messageId"]
        assert entry["diagnostic_code"].startswith("smtp; 550 5.1.1")
        assert entry["expires_at"] is None


class TestExactlyOnce:
    async def test_same_notification_five_times(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        envelope = signer.make_notification(bounce(["a@example.com"]), topic_arn=TOPIC)
        body, headers = post_args(envelope)
        statuses = [
            (await client.post("/sns", content=body, headers=headers)).json() for _ in range(5)
        ]
        assert statuses == [{"status": "processed"}] + [{"status": "duplicate"}] * 4
        assert await count(app, Event) == 1
        assert await count(app, SuppressionChange) == 1

    async def test_same_bounce_in_both_shapes(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        kw: dict[str, Any] = {"feedback_id": "fb-shared", "message_id": "msg-shared"}
        await send(client, signer, bounce(["b@example.com"], shape="notification", **kw))
        await send(client, signer, bounce(["b@example.com"], shape="event", **kw))
        assert await count(app, Event) == 1
        assert await suppressions(app) == {"b@example.com": "bounce"}

    async def test_soft_bounces_in_both_shapes_count_once(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        soft: dict[str, Any] = {"bounce_type": "Transient", "status": "4.2.2"}
        for n in range(2):
            for shape in ("notification", "event"):
                await send(
                    client,
                    signer,
                    bounce(["c@example.com"], feedback_id=f"fb-{n}", shape=shape, **soft),
                )
        assert await suppressions(app) == {}  # 2 distinct soft bounces, limit 3
        async with app.state.services.database.session() as session:
            state = await session.get(RecipientState, "c@example.com")
        assert state is not None
        assert state.soft_bounce_count == 2

    async def test_concurrent_posts_of_one_batch(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        messages = [bounce([f"user{n}@example.com"]) for n in range(20)]
        envelopes = [signer.make_notification(m, topic_arn=TOPIC) for m in messages]

        async def post(envelope: dict[str, Any]) -> int:
            body, headers = post_args(envelope)
            return (await client.post("/sns", content=body, headers=headers)).status_code

        results = await asyncio.gather(*(post(e) for e in envelopes * 3))
        assert set(results) == {200}
        assert await count(app, Event) == 20
        assert len(await suppressions(app)) == 20


class TestPolicyEndToEnd:
    async def test_soft_bounces_suppress_at_the_limit_and_expire(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        for days_ago in (3, 2):
            await send(
                client,
                signer,
                bounce(
                    ["Soft@Example.com"],
                    bounce_type="Transient",
                    subtype="MailboxFull",
                    status="4.2.2",
                    at=now - timedelta(days=days_ago),
                ),
            )
        assert await suppressions(app) == {}
        await send(
            client,
            signer,
            bounce(["soft@example.com"], bounce_type="Transient", status="4.2.2", at=now),
        )
        assert await suppressions(app) == {"soft@example.com": "soft_bounce"}
        entry = (await client.get("/v1/suppressions/soft@example.com", headers=READ)).json()
        expires = datetime.fromisoformat(entry["expires_at"])
        assert abs(expires - (now + timedelta(days=7))) < timedelta(seconds=5)

    async def test_soft_bounces_outside_the_window_do_not_add_up(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        for days_ago in (30, 1, 0):
            await send(
                client,
                signer,
                bounce(
                    ["w@example.com"],
                    bounce_type="Transient",
                    status="4.2.2",
                    at=now - timedelta(days=days_ago),
                ),
            )
        assert await suppressions(app) == {}

    async def test_delivery_resets_the_count(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        soft: dict[str, Any] = {"bounce_type": "Transient", "status": "4.2.2"}
        await send(client, signer, bounce(["d@example.com"], at=now - timedelta(hours=5), **soft))
        await send(client, signer, bounce(["d@example.com"], at=now - timedelta(hours=4), **soft))
        await send(client, signer, delivery(["d@example.com"], at=now - timedelta(hours=3)))
        await send(client, signer, bounce(["d@example.com"], at=now - timedelta(hours=2), **soft))
        assert await suppressions(app) == {}

    @pytest.mark.parametrize("status", ["5.1.1", "5.1.2", "5.1.3", "5.1.10", "5.4.4"])
    async def test_transient_with_no_such_mailbox_status_is_hard(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner, status: str
    ) -> None:
        await send(
            client, signer, bounce(["h@example.com"], bounce_type="Transient", status=status)
        )
        assert await suppressions(app) == {"h@example.com": "bounce"}

    @pytest.mark.parametrize(
        "subtype", ["MessageTooLarge", "ContentRejected", "AttachmentRejected"]
    )
    async def test_message_level_bounces_never_blame_the_address(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner, subtype: str
    ) -> None:
        for _ in range(5):
            await send(
                client,
                signer,
                bounce(["m@example.com"], bounce_type="Transient", subtype=subtype, status="5.3.4"),
            )
        assert await suppressions(app) == {}
        assert await count(app, Event) == 5

    async def test_undetermined_and_not_spam_are_recorded_only(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        await send(
            client,
            signer,
            bounce(["u@example.com"], bounce_type="Undetermined", subtype="Undetermined"),
        )
        await send(client, signer, complaint(["n@example.com"], feedback_type="not-spam"))
        assert await suppressions(app) == {}
        assert await count(app, Event) == 2

    async def test_addresses_compare_case_and_display_insensitively(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        await send(client, signer, bounce(['"Ann" <Ann@Example.COM>']))
        assert await suppressions(app) == {"ann@example.com": "bounce"}
        entry = (await client.get("/v1/suppressions/ANN@example.com", headers=READ)).json()
        assert entry["display"] == "Ann@Example.COM"

    async def test_garbage_recipient_skipped_others_kept(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        await send(client, signer, bounce(["not an address", "ok@example.com"]))
        assert await suppressions(app) == {"ok@example.com": "bounce"}
        async with app.state.services.database.session() as session:
            emails = (await session.scalars(select(Event.email))).all()
        assert emails == ["ok@example.com"]

    async def test_hard_bounce_upgrades_a_soft_bounce_entry(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        soft: dict[str, Any] = {"bounce_type": "Transient", "status": "4.2.2"}
        for _ in range(3):
            await send(client, signer, bounce(["x@example.com"], **soft))
        assert await suppressions(app) == {"x@example.com": "soft_bounce"}
        await send(client, signer, bounce(["x@example.com"]))
        entry = (await client.get("/v1/suppressions/x@example.com", headers=READ)).json()
        assert (entry["reason"], entry["expires_at"]) == ("bounce", None)
        assert [c["action"] for c in entry["history"]] == ["added", "updated"]

    async def test_foreign_message_is_recorded_only(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        await send(client, signer, "Hello world, not SES at all")
        assert await count(app, Event) == 1
        assert await suppressions(app) == {}


class TestStoreIsTheLimit:
    async def test_settings_change_the_limit(
        self, make_client: AppMaker, signer: SnsSigner
    ) -> None:
        client, app = await make_client(SOFT_BOUNCE_LIMIT=1, SOFT_BOUNCE_SUPPRESS_DAYS=2)
        await send(client, signer, bounce(["s@example.com"], bounce_type="Transient", status=None))
        assert await suppressions(app) == {"s@example.com": "soft_bounce"}


class TestHostileButSigned:
    async def test_nul_characters_are_stored_not_500(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        message = bounce(["nul@example.com"]).replace("5.1.1", "5.1.1\\u0000")
        await send(client, signer, message)
        assert await suppressions(app) == {"nul@example.com": "bounce"}
