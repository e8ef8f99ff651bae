"""Every door a change comes in by writes its feed event, with the change (SPEC §10): the
SNS path, imports (the bulk writers), the API, refused sends; a NOTED line, a soft
bounce under the limit and a repeated notification write none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.services import Edges
from tests.conftest import READ, TOPIC, WRITE, make_settings
from tests.ses.conftest import SENDER, stubbed_ses_client, suppress, use_fake_aws_credentials
from tests.ses_payloads import bounce, complaint, post_ses
from tests.signing import SnsSigner


async def feed(client: httpx.AsyncClient, headers: dict[str, str] = READ) -> list[dict[str, Any]]:
    response = await client.get("/v1/changes", params={"limit": 1000}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestSnsPath:
    async def test_hard_bounce_then_complaint(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        message = bounce(["Ann@Example.com"], feedback_id="fb-1", message_id="msg-1")
        assert (await post_ses(client, signer, message, topic_arn=TOPIC)).status_code == 200
        # The same notification again, as SNS retries: one effect, no second event.
        assert (await post_ses(client, signer, message, topic_arn=TOPIC)).status_code == 200
        complained = complaint(["ann@example.com"], feedback_id="fb-2")
        assert (await post_ses(client, signer, complained, topic_arn=TOPIC)).status_code == 200

        added, updated = await feed(client)
        assert added["type"] == "suppression.added"
        assert (added["email"], added["reason"], added["source"], added["actor"]) == (
            "ann@example.com",
            "bounce",
            "sns",
            "sns",
        )
        assert (added["subtype"], added["ses_message_id"], added["feedback_id"]) == (
            "General",
            "msg-1",
            "fb-1",
        )
        assert updated["type"] == "suppression.updated"
        assert (updated["reason"], updated["feedback_id"]) == ("complaint", "fb-2")

    async def test_a_soft_bounce_under_the_limit_changes_nothing(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        soft = bounce(
            ["soft@example.com"], bounce_type="Transient", subtype="MailboxFull", status="4.2.2"
        )
        assert (await post_ses(client, signer, soft, topic_arn=TOPIC)).status_code == 200
        assert await feed(client) == []


class TestImport:
    async def test_each_line_added_or_updated_is_an_event(self, client: httpx.AsyncClient) -> None:
        first = (
            "email,reason\na@example.com,bounce\nb@example.com,complaint\nnot-an-address,bounce\n"
        )
        imported = await client.post(
            "/v1/suppressions/import", content=first.encode(), headers=WRITE
        )
        assert imported.json()["inserted"] == 2, imported.text
        again = "email,reason,note\na@example.com,complaint,moved\n"
        imported = await client.post(
            "/v1/suppressions/import", content=again.encode(), headers=WRITE
        )
        assert imported.json()["updated"] == 1, imported.text

        events = [(e["type"], e["email"], e["reason"], e["source"]) for e in await feed(client)]
        assert events == [
            ("suppression.added", "a@example.com", "bounce", "import"),
            ("suppression.added", "b@example.com", "complaint", "import"),
            ("suppression.updated", "a@example.com", "complaint", "import"),
        ]


class TestRefusedSends:
    async def test_each_dropped_recipient_is_an_event(
        self, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        use_fake_aws_credentials(monkeypatch, tmp_path)
        settings = make_settings(
            DATABASE_URL=database_url,
            DATA_DIR=tmp_path,
            API_TOKENS="ops=secret-token-for-send",
            LOG_FORMAT="text",
        )
        auth = {"Authorization": "Bearer secret-token-for-send"}
        with stubbed_ses_client() as ses:
            app = create_app(settings, edges=Edges(sns_client_factory=None, ses_client=ses.client))
            async with app.router.lifespan_context(app):
                database = app.state.services.database
                await suppress(database, "ann@example.org", reason="complaint")
                await suppress(database, "bob@example.org")
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://testserver"
                ) as http:
                    before = await feed(http, auth)
                    refused = await http.post(
                        "/v1/send",
                        json={
                            "from": SENDER,
                            "to": ["Ann@Example.org"],
                            "cc": ["bob@example.org"],
                            "subject": "s",
                            "text": "t",
                        },
                        headers=auth,
                    )
                    assert refused.status_code == 409, refused.text
                    events = (await feed(http, auth))[len(before) :]
            assert ses.calls == 0
        assert [(e["type"], e["email"], e["reason"], e["actor"]) for e in events] == [
            ("send.suppressed", "ann@example.org", "complaint", "ops"),
            ("send.suppressed", "bob@example.org", "bounce", "ops"),
        ]
