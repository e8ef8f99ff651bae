"""The ops API (/v1): access control on every route, and each call's contract."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from app.main import create_app
from app.models import Event, Send
from tests.conftest import READ, TOPIC, WRITE, AppMaker, make_settings
from tests.ses_payloads import bounce, complaint, delivery, post_ses
from tests.signing import SnsSigner


def v1_routes() -> list[tuple[str, str]]:
    """Every /v1 route of the app, read from its route table (routes left out of the OpenAPI
    document too) so none slips through."""
    app = create_app(make_settings())
    found = [
        (method, re.sub(r"\{[^}]+\}", "ann@example.com", route.path_format))
        for route in iter_route_contexts(app.routes)
        if route.path_format and route.path_format.startswith("/v1")
        for method in route.methods or ()
    ]
    assert len(found) >= 9, found
    return sorted(found)


READS = {"GET"}


class TestAccess:
    @pytest.mark.parametrize(("method", "path"), v1_routes())
    async def test_no_token_401_with_challenge(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        response = await client.request(method, path, json={})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "Bearer" in response.json()["error"]

    @pytest.mark.parametrize(("method", "path"), v1_routes())
    async def test_wrong_token_401(self, client: httpx.AsyncClient, method: str, path: str) -> None:
        response = await client.request(
            method, path, json={}, headers={"Authorization": "Bearer nope"}
        )
        assert response.status_code == 401

    @pytest.mark.parametrize(
        ("method", "path"),
        [r for r in v1_routes() if r[0] not in READS and r[1] != "/v1/suppressions/check"],
    )
    async def test_read_token_cannot_write(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        response = await client.request(method, path, json={}, headers=READ)
        assert response.status_code == 403
        assert "read-only" in response.json()["error"]

    async def test_generated_token_when_none_configured(
        self, make_client: AppMaker, tmp_path: Any
    ) -> None:
        client, app = await make_client(API_TOKENS=[], API_READ_TOKENS=[])
        token_file = app.state.services.settings.DATA_DIR / "api-token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        response = await client.get(
            "/v1/suppressions", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        # A second worker starting on the same DATA_DIR agrees on the token.
        client2, _ = await make_client(API_TOKENS=[], API_READ_TOKENS=[])
        again = await client2.get("/v1/suppressions", headers={"Authorization": f"Bearer {token}"})
        assert again.status_code == 200

    async def test_public_routes_stay_open(self, client: httpx.AsyncClient) -> None:
        for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
            assert (await client.get(path)).status_code == 200, path


class TestEntries:
    async def test_put_get_delete_with_history(self, client: httpx.AsyncClient) -> None:
        created = await client.put(
            "/v1/suppressions/Ann@Example.com", json={"note": "asked us"}, headers=WRITE
        )
        assert created.status_code == 201
        assert created.json()["reason"] == "manual"
        assert created.json()["source"] == "api"
        updated = await client.put(
            "/v1/suppressions/ann@example.com", json={"reason": "complaint"}, headers=WRITE
        )
        assert updated.status_code == 200
        entry = (await client.get("/v1/suppressions/ANN@example.com", headers=READ)).json()
        assert entry["reason"] == "complaint"
        assert [h["actor"] for h in entry["history"]] == ["ops", "ops"]

        gone = await client.delete(
            "/v1/suppressions/ann@example.com", params={"note": "wrong address"}, headers=WRITE
        )
        assert gone.status_code == 204
        missing = await client.get("/v1/suppressions/ann@example.com", headers=READ)
        assert missing.status_code == 404
        assert missing.json()["suppressed"] is False
        assert [h["action"] for h in missing.json()["history"]] == ["added", "updated", "removed"]
        # The removal stays in the history: adding again shows it.
        await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        entry = (await client.get("/v1/suppressions/ann@example.com", headers=READ)).json()
        removed = [h for h in entry["history"] if h["action"] == "removed"]
        assert removed == [
            {
                "action": "removed",
                "actor": "ops",
                "reason": None,
                "expires_at": None,
                "note": "wrong address",
                "at": removed[0]["at"],
                "source": None,
            }
        ]

    async def test_delete_absent_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/v1/suppressions/nobody@example.com", headers=WRITE)
        assert response.status_code == 404

    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            ("/v1/suppressions/not-an-address", {}, "email"),
            ("/v1/suppressions/a@example.com", {"reason": "because"}, "reason"),
            ("/v1/suppressions/a@example.com", {"expires_at": "yesterday"}, "expires_at"),
            (
                "/v1/suppressions/a@example.com",
                {"expires_at": "2001-01-01T00:00:00Z"},
                "expires_at",
            ),
            ("/v1/suppressions/a@example.com", {"colour": "red"}, "colour"),
        ],
    )
    async def test_bad_input_422_names_the_field(
        self, client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
    ) -> None:
        response = await client.put(path, json=body, headers=WRITE)
        assert response.status_code == 422
        assert response.json()["field"] == field
        listed = await client.get("/v1/suppressions", headers=READ)
        assert listed.json()["items"] == []

    async def test_expired_entry_does_not_suppress(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        await client.put("/v1/suppressions/t@example.com", json={"expires_at": soon}, headers=WRITE)
        from sqlalchemy import update

        from app.models import Suppression

        async with app.state.services.database.session() as session:
            await session.execute(
                update(Suppression).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        check = await client.post(
            "/v1/suppressions/check", json={"emails": ["t@example.com"]}, headers=READ
        )
        assert check.json() == {"suppressed": {}, "allowed": ["t@example.com"], "invalid": []}


class TestCheck:
    async def test_mixed_forms(self, client: httpx.AsyncClient) -> None:
        await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
        emails = ['"Ann" <ANN@example.com>', "bob@example.com", " ann@EXAMPLE.com "]
        response = await client.post(
            "/v1/suppressions/check", json={"emails": emails}, headers=READ
        )
        assert response.status_code == 200
        assert response.json() == {
            "suppressed": {'"Ann" <ANN@example.com>': "manual", " ann@EXAMPLE.com ": "manual"},
            "allowed": ["bob@example.com"],
            "invalid": [],
        }

    async def test_10000_allowed_10001_refused(self, client: httpx.AsyncClient) -> None:
        emails = [f"u{n}@example.com" for n in range(10_000)]
        ok = await client.post("/v1/suppressions/check", json={"emails": emails}, headers=READ)
        assert ok.status_code == 200
        assert len(ok.json()["allowed"]) == 10_000
        too_many = await client.post(
            "/v1/suppressions/check", json={"emails": [*emails, "x@example.com"]}, headers=READ
        )
        assert too_many.status_code == 422
        assert too_many.json()["field"] == "emails"

    async def test_bad_addresses_listed_the_rest_answered(self, client: httpx.AsyncClient) -> None:
        """SPEC §4 Edges: one malformed address no longer sinks a 10,000-address check."""
        await client.put("/v1/suppressions/u17@example.com", json={}, headers=WRITE)
        emails = [f"u{n}@example.com" for n in range(9_998)] + ["nope", "a@@b.example"]
        response = await client.post(
            "/v1/suppressions/check", json={"emails": emails}, headers=READ
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["suppressed"] == {"u17@example.com": "manual"}
        assert len(body["allowed"]) == 9_997
        assert [i["email"] for i in body["invalid"]] == ["nope", "a@@b.example"]
        assert "no @" in body["invalid"][0]["error"]
        assert body["invalid"][1]["error"]

    @pytest.mark.parametrize(
        "body",
        [{"emails": "a@example.com"}, {"emails": [5]}, {"emails": [None]}, {}, [], {"emails": {}}],
    )
    async def test_wrong_shape_still_422(self, client: httpx.AsyncClient, body: Any) -> None:
        response = await client.post("/v1/suppressions/check", json=body, headers=READ)
        assert response.status_code == 422, response.text
        assert response.json()["field"].startswith(("emails", "body"))


class TestList:
    async def test_walk_5000_while_inserting(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        from app.suppression import entry_store

        start = datetime(2026, 1, 1, tzinfo=UTC)
        async with app.state.services.database.session() as session:
            for n in range(5000):
                email = f"user{n:05d}@example.com"
                entry = entry_store.Entry(email=email, display=email, reason="bounce", source="api")
                # Many share a created_at, so the cursor must break ties by email.
                await entry_store.put(
                    session,
                    entry,
                    actor="t",
                    now=start + timedelta(seconds=n // 7),
                    replace_active=True,
                )
        seen: list[str] = []
        cursor = None
        inserted = 0
        while True:
            params: dict[str, Any] = {"limit": 137}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/v1/suppressions", params=params, headers=READ)).json()
            seen += [item["email"] for item in page["items"]]
            # New rows arrive while we walk.
            await client.put(f"/v1/suppressions/new{inserted}@example.org", json={}, headers=WRITE)
            inserted += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        old = [e for e in seen if e.endswith("@example.com")]
        assert len(old) == len(set(old)) == 5000

    async def test_filters_combine(self, client: httpx.AsyncClient) -> None:
        for email, reason in [
            ("a1@one.com", "manual"),
            ("a2@one.com", "complaint"),
            ("b1@two.com", "manual"),
            ("a3@two.com", "manual"),
        ]:
            await client.put(f"/v1/suppressions/{email}", json={"reason": reason}, headers=WRITE)

        async def emails(**params: Any) -> set[str]:
            page = await client.get("/v1/suppressions", params=params, headers=READ)
            assert page.status_code == 200, page.text
            return {i["email"] for i in page.json()["items"]}

        assert await emails(reason="manual") == {"a1@one.com", "b1@two.com", "a3@two.com"}
        assert await emails(reason="manual", domain="two.com") == {"b1@two.com", "a3@two.com"}
        assert await emails(reason="manual", domain="two.com", q="a") == {"a3@two.com"}
        assert await emails(q="a%") == set()
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        assert await emails(since=future) == set()
        assert len(await emails(until=future)) == 4

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"limit": 1001}, "limit"),
            ({"cursor": "garbage"}, "cursor"),
            ({"reason": "x"}, "reason"),
        ],
    )
    async def test_bad_params_422(
        self, client: httpx.AsyncClient, params: dict[str, Any], field: str
    ) -> None:
        response = await client.get("/v1/suppressions", params=params, headers=READ)
        assert response.status_code == 422
        assert response.json()["field"] == field


class TestEventsAndStats:
    async def test_events_filtered_and_paged(
        self, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        for n in range(5):
            await post_ses(client, signer, bounce([f"e{n}@example.com"]), topic_arn=TOPIC)
        await post_ses(client, signer, delivery(["e0@example.com"]), topic_arn=TOPIC)
        page = (await client.get("/v1/events", params={"limit": 4}, headers=READ)).json()
        assert len(page["items"]) == 4
        rest = (
            await client.get(
                "/v1/events", params={"limit": 4, "cursor": page["next_cursor"]}, headers=READ
            )
        ).json()
        assert len(rest["items"]) == 2
        assert rest["next_cursor"] is None
        mine = await client.get("/v1/events", params={"email": "E0@example.com"}, headers=READ)
        assert {e["type"] for e in mine.json()["items"]} == {"Bounce", "Delivery"}
        only = await client.get("/v1/events", params={"type": "Delivery"}, headers=READ)
        assert [e["email"] for e in only.json()["items"]] == ["e0@example.com"]

    async def test_stats_exact_rates_and_levels(
        self, client: httpx.AsyncClient, app: FastAPI, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        async with app.state.services.database.session() as session:
            session.add(
                Send(
                    ses_message_id="s1",
                    sender="me@example.com",
                    sent_to=[],
                    suppressed=[],
                    recipient_count=1000,
                    configuration_set=None,
                    outcome="sent",
                    ses_code=None,
                    created_at=now - timedelta(hours=1),
                )
            )
        for n in range(60):
            await post_ses(client, signer, bounce([f"h{n}@example.com"]), topic_arn=TOPIC)
        soft: dict[str, Any] = {"bounce_type": "Transient", "status": "4.2.2"}
        await post_ses(client, signer, bounce(["s@example.com"], **soft), topic_arn=TOPIC)
        for n in range(2):
            await post_ses(client, signer, complaint([f"c{n}@example.com"]), topic_arn=TOPIC)
        for n in range(10):
            await post_ses(client, signer, delivery([f"d{n}@example.com"]), topic_arn=TOPIC)
        stats = (await client.get("/v1/stats", params={"window": "24h"}, headers=READ)).json()
        assert stats["sends"] == 1000
        assert (stats["hard_bounces"], stats["soft_bounces"]) == (60, 1)
        assert (stats["complaints"], stats["deliveries"]) == (2, 10)
        assert stats["bounce_rate"] == pytest.approx(0.06)
        assert stats["complaint_rate"] == pytest.approx(0.002)
        assert stats["bounce_standing"] == "review"
        assert stats["complaint_standing"] == "review"
        assert stats["levels"]["bounce_rate"] == {"review": 0.05, "pause": 0.10}

    async def test_stats_window_validated(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/stats", params={"window": "1y"}, headers=READ)
        assert response.status_code == 422
        assert response.json()["field"] == "window"

    async def test_event_rows_are_counted_not_envelopes(self, app: FastAPI) -> None:
        assert Event.__tablename__ == "event"


class TestSubscriptions:
    async def test_pending_listed_then_confirmed(
        self, make_client: AppMaker, signer: SnsSigner
    ) -> None:
        from tests.signing import post_args

        client, _ = await make_client(SNS_AUTO_CONFIRM=False)
        body, headers = post_args(signer.make_subscription_confirmation(topic_arn=TOPIC))
        assert (await client.post("/sns", content=body, headers=headers)).json() == {
            "status": "pending"
        }
        listed = (await client.get("/v1/subscriptions", headers=READ)).json()
        assert [(s["topic_arn"], s["status"]) for s in listed] == [(TOPIC, "pending")]
        confirmed = await client.post(
            "/v1/subscriptions/confirm", json={"topic_arn": TOPIC}, headers=WRITE
        )
        assert confirmed.json() == {"topic_arn": TOPIC, "status": "confirmed"}
        listed = (await client.get("/v1/subscriptions", headers=READ)).json()
        assert listed[0]["status"] == "confirmed"
        assert listed[0]["confirmed_via"] == "url"

    async def test_confirm_unknown_topic_404(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/subscriptions/confirm", json={"topic_arn": TOPIC}, headers=WRITE
        )
        assert response.status_code == 404
