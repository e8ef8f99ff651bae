"""GET /console, the overview (SPEC §9): the rates against the SES levels, the daily charts,
the list by reason and the subscriptions, for read and write sessions alike."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.activity import send_log
from app.console.chart import day_label
from app.db import Database
from app.models import Subscription
from app.suppression import entries
from app.vocabulary import SendOutcome
from tests import ses_payloads as ses
from tests.conftest import READ_TOKEN, TOPIC, WRITE_TOKEN, replace_services
from tests.console.conftest import sign_in
from tests.console.page_tree import Element, parse
from tests.outages import unreachable_database
from tests.signing import SnsSigner, post_args

RATES = "Bounce and complaint rates"
HEADER = ["Window", "Sends", "Deliveries", "Hard bounces", "Complaints", "Bounce rate",
          "Complaint rate"]  # fmt: skip
BOUNCE_CHART = "Daily bounce rate, last 30 days"
COMPLAINT_CHART = "Daily complaint rate, last 30 days"


async def post(client: httpx.AsyncClient, signer: SnsSigner, message: str) -> None:
    response = await ses.post_ses(client, signer, message, topic_arn=TOPIC)
    assert response.status_code == 200, response.text


def addresses(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n}@example.com" for n in range(count)]


async def record_send(app: FastAPI, recipients: int, *, at: datetime) -> None:
    async with app.state.services.database.session() as session:
        await send_log.record_send(
            session,
            sender="me@example.com",
            sent_to=addresses("sent", recipients),
            suppressed=[],
            configuration_set=None,
            outcome=SendOutcome.SENT,
            now=at,
        )


async def page(client: httpx.AsyncClient) -> Element:
    response = await client.get("/console")
    assert response.status_code == 200, response.text
    # The CSP allows no script and no style attribute: the page needs neither.
    assert "<script" not in response.text
    assert "style=" not in response.text
    return parse(response.text)


@pytest.fixture
async def ops(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await sign_in(client, WRITE_TOKEN)
    return client


class TestAccess:
    async def test_without_a_session_it_is_the_sign_in_form(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/console")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/sign-in?next=/console"

    @pytest.mark.parametrize(
        ("token", "who"), [(WRITE_TOKEN, "ops · can change"), (READ_TOKEN, "viewer · read only")]
    )
    async def test_read_and_write_sessions_both_see_it(
        self, client: httpx.AsyncClient, token: str, who: str
    ) -> None:
        await sign_in(client, token)
        shown = await page(client)
        assert shown.find("h1").text == "Overview"
        assert who in shown.find("form", class_="who").text
        assert shown.find("a", aria_current="page").text == "Overview"
        assert shown.table(RATES)[0] == HEADER

    async def test_a_database_that_is_down_is_a_503_page(
        self, ops: httpx.AsyncClient, app: FastAPI, tmp_path: Path
    ) -> None:
        healthy: Database = app.state.services.database
        replace_services(app, database=unreachable_database(healthy.url, tmp_path))
        try:
            response = await ops.get("/console")
        finally:
            await app.state.services.database.dispose()
            replace_services(app, database=healthy)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert "database" in parse(response.text).find("p", role="alert").text


class TestRates:
    async def test_a_six_percent_bounce_rate_is_at_review(
        self, ops: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        hour_ago = datetime.now(UTC) - timedelta(hours=1)
        await post(ops, signer, ses.delivery(addresses("ok", 94), at=hour_ago))
        await post(ops, signer, ses.bounce(addresses("gone", 6), at=hour_ago))
        shown = await page(ops)
        rows = shown.table(RATES)[1:]
        assert [row[0] for row in rows] == ["Last 24 hours", "Last 7 days", "Last 30 days"]
        for row in rows:
            assert row[1:] == ["0", "94", "6", "0", "6.00 % review", "0.000 % ok"]
        badge = shown.find_all("span", class_="standing standing-review")
        assert [b.text for b in badge] == ["review"] * 3
        # No sends recorded: the rates are over the events, and the page says so.
        notes = [p.text for p in shown.find_all("p", class_="help note")]
        assert len(notes) == 3
        assert notes[0].startswith("Last 24 hours: no sends recorded through bouncer")
        assert "over the 100 deliveries, bounces and complaints" in notes[0]

    async def test_each_window_over_its_own_sends(
        self, ops: httpx.AsyncClient, app: FastAPI, signer: SnsSigner
    ) -> None:
        now = datetime.now(UTC)
        await record_send(app, 1000, at=now - timedelta(hours=2))
        await post(ops, signer, ses.bounce(addresses("hard", 30), at=now - timedelta(hours=1)))
        await post(ops, signer, ses.complaint(addresses("angry", 2)))
        three_days_ago = now - timedelta(days=3)
        await post(ops, signer, ses.bounce(addresses("old", 40), at=three_days_ago))
        await post(ops, signer, ses.delivery(addresses("fine", 60), at=three_days_ago))
        rows = {row[0]: row[1:] for row in (await page(ops)).table(RATES)[1:]}
        assert rows["Last 24 hours"] == ["1000", "0", "30", "2", "3.00 % warning", "0.200 % review"]
        assert rows["Last 7 days"] == ["1000", "60", "70", "2", "7.00 % review", "0.200 % review"]
        assert rows["Last 30 days"] == rows["Last 7 days"]
        assert not (await page(ops)).find_all("p", class_="help note")

    async def test_a_rate_just_under_a_level_is_never_shown_at_it(
        self, ops: httpx.AsyncClient, app: FastAPI, signer: SnsSigner
    ) -> None:
        # 1 complaint in 1001 sends is 0.0999 %: under the 0.1 % review level, "warning".
        # Rounded to "0.100 %" the number beside "warning" would read as the level itself.
        now = datetime.now(UTC)
        await record_send(app, 1001, at=now - timedelta(hours=2))
        await post(ops, signer, ses.complaint(addresses("angry", 1)))
        shown = await page(ops)
        rows = {row[0]: row[1:] for row in shown.table(RATES)[1:]}
        assert rows["Last 24 hours"][-1] == "0.099 % warning"
        today = shown.table("Complaint rate by day")[-1]
        assert today[-2] == "0.099 %"
        dots = [t.text for t in shown.find_all("title") if t.text.endswith(" %")]
        assert dots[-1].endswith(": 0.099 %")

    async def test_no_figures_is_unknown_not_zero(self, ops: httpx.AsyncClient) -> None:
        shown = await page(ops)
        for row in shown.table(RATES)[1:]:
            assert row[1:] == ["0", "0", "0", "0", "— unknown", "— unknown"]
        for title in (BOUNCE_CHART, COMPLAINT_CHART):
            svg = shown.chart(title)
            assert svg.find_all("circle") == svg.find_all("polyline") == []


class TestCharts:
    async def test_days_with_figures_are_points_and_a_day_without_is_a_gap(
        self, ops: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        today = datetime.now(UTC).date()
        rated = {today - timedelta(days=n): n for n in (5, 4, 2, 1)}  # the 3rd day back: none
        for day, bounces in rated.items():
            noon = datetime.combine(day, time(12), tzinfo=UTC)
            await post(ops, signer, ses.bounce(addresses(f"b{day:%d}-", bounces), at=noon))
            await post(ops, signer, ses.delivery(addresses(f"d{day:%d}-", 100 - bounces), at=noon))
        shown = await page(ops)
        svg = shown.chart(BOUNCE_CHART)
        assert svg.attrs["role"] == "img"
        title_id, desc_id = svg.attrs["aria-labelledby"].split()
        assert svg.find("title", id=title_id).text == BOUNCE_CHART
        assert "highest 5.00 %" in svg.find("desc", id=desc_id).text
        dots = [c.find("title").text for c in svg.find_all("circle", class_="dot")]
        assert dots == [f"{day_label(day)}: {n}.00 %" for day, n in rated.items()]
        # Two runs of two days, broken where the day without figures is.
        assert len(svg.find_all("polyline", class_="rate")) == 2
        levels = [t.text for t in svg.iter("text") if t.attrs.get("class", "").startswith("label")]
        assert levels == ["review 5 %", "pause 10 %"]
        assert len(svg.find_all("line", class_="level-pause")) == 1

        figures = {row[0]: row[1:] for row in shown.table("Bounce rate by day")[1:]}
        assert len(figures) == 30
        assert figures[day_label(today - timedelta(days=5))] == [
            "0", "95", "5", "0", "5.00 %", "events",
        ]  # fmt: skip
        assert figures[day_label(today - timedelta(days=3))] == ["0", "0", "0", "0", "—", "—"]

    async def test_each_chart_is_followed_by_its_figures(self, ops: httpx.AsyncClient) -> None:
        shown = await page(ops)
        blocks = [c for c in shown.find("main").children if isinstance(c, Element)]
        for title, caption in ((BOUNCE_CHART, "Bounce rate by day"),
                               (COMPLAINT_CHART, "Complaint rate by day")):  # fmt: skip
            svg = shown.chart(title)
            [at] = [n for n, block in enumerate(blocks) if svg in list(block.iter("svg"))]
            after = blocks[at + 1]
            assert after.tag == "details"
            assert after.find("summary").text == "The daily figures"
            assert after.find("caption").text == caption

    async def test_the_complaint_chart_draws_its_own_levels(self, ops: httpx.AsyncClient) -> None:
        svg = (await page(ops)).chart(COMPLAINT_CHART)
        labels = [t.text for t in svg.iter("text") if t.attrs.get("class", "").startswith("label")]
        assert labels == ["review 0.1 %", "pause 0.5 %"]
        assert len(svg.find_all("line", class_="level-review")) == 1


class TestListAndSubscriptions:
    async def test_every_reason_is_counted_zeros_included(
        self, ops: httpx.AsyncClient, app: FastAPI, signer: SnsSigner
    ) -> None:
        await post(ops, signer, ses.bounce(addresses("gone", 3)))
        async with app.state.services.database.session() as session:
            await entries.add(
                session,
                "asked@example.com",
                reason="manual",
                note=None,
                expires_at=None,
                actor="ops",
                source="api",
                now=datetime.now(UTC),
            )
        rows = (await page(ops)).table("Entries by reason")
        assert rows == [
            ["Reason", "Entries"],
            ["bounce", "3"],
            ["soft_bounce", "0"],
            ["complaint", "0"],
            ["unsubscribe", "0"],
            ["manual", "1"],
        ]

    async def test_a_subscription_seen_at_sns_is_listed(
        self, ops: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        body, headers = post_args(signer.make_subscription_confirmation(topic_arn=TOPIC))
        assert (await ops.post("/sns", content=body, headers=headers)).status_code == 200
        shown = await page(ops)
        rows = shown.table("Subscriptions")
        assert rows[0] == ["Topic", "Status", "Since"]
        [[topic, status, since]] = rows[1:]
        assert (topic, status) == (TOPIC, "confirmed")
        assert since.endswith("UTC")
        assert [a.text for a in shown.find_all("a", href="/console/subscriptions")] == [
            "Subscriptions",
            "Manage subscriptions",
        ]

    async def test_a_topic_is_shown_as_text_never_markup(
        self, ops: httpx.AsyncClient, app: FastAPI
    ) -> None:
        # /sns accepts no such topic; a row written some other way (a restored or edited
        # database) must still not become markup.
        hostile = 'arn:aws:sns:us-east-1:123456789012:<img src=x onerror="alert(1)">'
        now = datetime.now(UTC)
        async with app.state.services.database.session() as session:
            session.add(
                Subscription(
                    topic_arn=hostile,
                    status="pending",
                    last_message_id="m-1",
                    created_at=now,
                    updated_at=now,
                )
            )
        response = await ops.get("/console")
        assert "<img" not in response.text
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in response.text
        [[topic, status, _]] = parse(response.text).table("Subscriptions")[1:]
        assert (topic, status) == (hostile, "pending")
