"""Every page renders the seeded data, as the /v1 API reports it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.live_console import PENDING_TOPIC, LiveConsole
from tests.browser.pages import (
    heading,
    number,
    percent,
    read_table,
    row_of,
    sign_in,
    sign_in_read,
    status_of,
    table,
)
from tests.browser.seeding import (
    BOUNCED,
    BULK,
    MANUAL,
    REVIEW_DAY_RATE,
    UNSUBSCRIBED,
    Day,
    seed_console,
    totals,
)
from tests.conftest import TOPIC

WINDOWS = {"Last 24 hours": "24h", "Last 7 days": "7d", "Last 30 days": "30d"}


@pytest.fixture(scope="module")
def seeded(console: LiveConsole) -> tuple[Day, ...]:
    return seed_console(console)


def close_to(shown: str, fraction: float) -> bool:
    """The page's percent is ``fraction`` rounded down to the decimals it shows (a rate
    just under an SES level never reads as the level: console.chart.rate_text)."""
    found = re.search(r"\d+(?:[.,](\d+))?\s*%", shown)
    assert found, shown
    decimals = len(found.group(1) or "")
    under = fraction * 100 - percent(shown)
    return -1e-9 <= under < 10.0**-decimals + 1e-9


def api_stats(console: LiveConsole, window: str) -> dict[str, Any]:
    response = console.read_api.get("/v1/stats", params={"window": window})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestOverview:
    def test_the_rates_table_shows_each_window_as_the_api_counts_it(
        self, page: Page, console: LiveConsole, seeded: tuple[Day, ...]
    ) -> None:
        sign_in_read(page)
        expect(heading(page, "Overview")).to_be_visible()
        rates = table(page, "Bounce and complaint rates")
        rows = read_table(rates)
        for label, window in WINDOWS.items():
            stats = api_stats(console, window)
            seeded_totals = totals(seeded, window)
            assert stats["deliveries"] == seeded_totals.deliveries  # the seeding landed
            assert stats["hard_bounces"] == seeded_totals.hard_bounces
            row = next(r for r in rows if label in r.values())
            assert number(row["Sends"]) == stats["sends"], row
            assert number(row["Deliveries"]) == stats["deliveries"], row
            assert number(row["Hard bounces"]) == stats["hard_bounces"], row
            assert number(row["Complaints"]) == stats["complaints"], row
            assert close_to(row["Bounce rate"], stats["bounce_rate"]), row
            assert close_to(row["Complaint rate"], stats["complaint_rate"]), row
            badges = rates.get_by_role("row").filter(has_text=label)
            for kind in ("bounce", "complaint"):
                standing = stats[f"{kind}_standing"]
                expect(badges.locator(f".standing-{standing}").first).to_be_visible()
        # 24 h: 1 hard bounce in 21 events, 4.8 %: half the review level or more.
        assert api_stats(console, "24h")["bounce_standing"] == "warning"
        assert api_stats(console, "30d")["complaint_standing"] == "review"
        # No sends through bouncer: the rates are over the events, and the page says so.
        expect(page.get_by_role("main")).to_contain_text(api_stats(console, "24h")["note"])

    def test_the_charts_draw_both_rates_with_their_daily_figures(
        self, page: Page, seeded: tuple[Day, ...]
    ) -> None:
        sign_in_read(page)
        for name in ("Daily bounce rate, last 30 days", "Daily complaint rate, last 30 days"):
            expect(page.get_by_role("img", name=name)).to_be_visible()
        figures = page.get_by_role("group").filter(
            has=page.get_by_text("The daily figures", exact=True)
        )
        expect(figures).to_have_count(2)
        bounce_days, complaint_days = figures.nth(0), figures.nth(1)
        bounce_days.get_by_text("The daily figures", exact=True).click()
        days = read_table(bounce_days.get_by_role("table"))
        assert len(days) >= 30, days
        # One day crosses the 5 % review level: five days ago, 2 bounces in 22 events.
        over = [r for r in days if any("%" in v and percent(v) > 5 for v in r.values())]
        assert len(over) == 1, over
        assert any("%" in v and close_to(v, REVIEW_DAY_RATE) for v in over[0].values()), over
        complaint_days.get_by_text("The daily figures", exact=True).click()
        complaints = read_table(complaint_days.get_by_role("table"))
        over = [r for r in complaints if any("%" in v and percent(v) > 0.1 for v in r.values())]
        assert len(over) == 1, over  # the complaint ten days ago

    def test_entries_by_reason_and_subscriptions_are_listed(
        self, page: Page, console: LiveConsole, seeded: tuple[Day, ...]
    ) -> None:
        sign_in_read(page)
        reasons = read_table(table(page, "Entries by reason"))
        for reason in ("bounce", "complaint", "manual", "unsubscribe"):
            listed = console.read_api.get(
                "/v1/suppressions", params={"reason": reason, "limit": 1000}
            )
            count = len(listed.json()["items"])
            row = next(r for r in reasons if r["Reason"].lower().replace(" ", "_") == reason)
            assert number(row["Entries"]) == count, (reason, reasons)
        subscriptions = read_table(table(page, "Subscriptions"))
        assert {row["Topic"]: row["Status"].lower() for row in subscriptions} == {
            TOPIC: "confirmed",
            PENDING_TOPIC: "pending",
        }
        page.get_by_role("link", name="Manage subscriptions").click()
        expect(heading(page, "Subscriptions")).to_be_visible()


class TestSuppressions:
    def test_the_list_pages_a_hundred_at_a_time(
        self, page: Page, console: LiveConsole, seeded: tuple[Day, ...]
    ) -> None:
        sign_in_read(page)
        page.get_by_role("navigation", name="Console").get_by_role(
            "link", name="Suppressions"
        ).click()
        expect(heading(page, "Suppressions")).to_be_visible()
        first = read_table(table(page, "Suppressed addresses"))
        assert len(first) == 100
        assert set(first[0]) >= {"Address", "Reason", "Source", "Created", "Expires"}
        page.get_by_role("link", name="Next page").click()
        second = read_table(table(page, "Suppressed addresses"))
        expect(page.get_by_role("link", name="Next page")).to_have_count(0)
        shown = {row["Address"] for row in first + second}
        everything = console.read_api.get("/v1/suppressions", params={"limit": 1000})
        assert shown == {item["email"] for item in everything.json()["items"]}
        assert len(shown) >= BULK + 6

    def test_the_filters_narrow_the_list_as_the_api_does(
        self, page: Page, console: LiveConsole, seeded: tuple[Day, ...]
    ) -> None:
        sign_in_read(page, next_path="/console/suppressions")
        page.get_by_label("Reason").select_option("bounce")
        page.get_by_label("Domain").fill("example.net")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"reason=bounce"))
        rows = read_table(table(page, "Suppressed addresses"))
        api = console.read_api.get(
            "/v1/suppressions", params={"reason": "bounce", "domain": "example.net"}
        )
        assert {r["Address"] for r in rows} == {i["email"] for i in api.json()["items"]}
        assert len(rows) == 3
        page.get_by_label("Reason").select_option(label="Any reason")
        page.get_by_label("Domain").fill("")
        page.get_by_label("Address starts with").fill("ceo")
        page.get_by_role("button", name="Filter").click()
        rows = read_table(table(page, "Suppressed addresses"))
        assert [r["Address"] for r in rows] == [MANUAL]
        page.get_by_role("link", name=MANUAL).click()
        expect(heading(page, MANUAL)).to_be_visible()

    def test_a_bad_filter_is_a_422_page_naming_the_field(self, page: Page) -> None:
        sign_in_read(page)
        assert status_of(page, "/console/suppressions?since=not-a-date") == 422
        expect(page.get_by_role("alert")).to_contain_text(re.compile("since", re.IGNORECASE))
        expect(page.get_by_role("button", name="Filter")).to_be_visible()

    def test_the_look_up_form_opens_an_address(self, page: Page, seeded: tuple[Day, ...]) -> None:
        sign_in_read(page, next_path="/console/suppressions")
        page.get_by_label("Address", exact=True).fill(f"  {UNSUBSCRIBED.upper()} ")
        page.get_by_role("button", name="Look up").click()
        expect(page).to_have_url(re.compile(r"/console/address\?email="))
        expect(heading(page, UNSUBSCRIBED)).to_be_visible()


class TestAddress:
    def test_a_bounced_address_shows_its_entry_events_and_history(
        self, page: Page, console: LiveConsole, seeded: tuple[Day, ...]
    ) -> None:
        sign_in_read(page, next_path=f"/console/address?email={BOUNCED}")
        expect(heading(page, BOUNCED)).to_be_visible()
        entry = console.entry(BOUNCED).json()
        facts = page.get_by_role("main").locator("dl.facts")
        for term in ("Reason", "Subtype", "Source", "Created", "Expires", "Note"):
            expect(facts.get_by_text(term, exact=True)).to_be_visible()
        expect(facts).to_contain_text(entry["reason"])
        expect(facts).to_contain_text(entry["source"])
        events = read_table(table(page, "Events"))
        assert len(events) == len(entry["events"]) >= 1
        assert "bounce" in events[0]["Type"].lower()
        history = read_table(table(page, "History"))
        assert len(history) == len(entry["history"]) >= 1
        assert "added" in history[0]["Change"].lower()

    def test_an_address_not_on_the_list_says_so_and_offers_the_add_form(
        self, page: Page, seeded: tuple[Day, ...]
    ) -> None:
        sign_in(page, next_path="/console/address?email=nobody@example.com")
        expect(heading(page, "nobody@example.com")).to_be_visible()
        expect(page.get_by_text("Not suppressed", exact=True)).to_be_visible()
        expect(page.get_by_label("Address", exact=True)).to_have_value("nobody@example.com")
        expect(page.get_by_role("button", name="Add to the list")).to_be_visible()

    def test_an_invalid_address_is_a_422_page(self, page: Page) -> None:
        sign_in_read(page)
        assert status_of(page, "/console/address?email=not-an-address") == 422
        expect(page.get_by_role("alert")).to_be_visible()


class TestOtherPages:
    def test_import_and_export_offers_both_downloads(self, page: Page) -> None:
        sign_in(page, next_path="/console/transfer")
        expect(heading(page, "Import and export")).to_be_visible()
        csv = page.get_by_role("link", name="Download CSV")
        expect(csv).to_have_attribute("href", "/console/export?format=csv")
        ndjson = page.get_by_role("link", name="Download NDJSON")
        expect(ndjson).to_have_attribute("href", "/console/export?format=ndjson")
        expect(page.get_by_label("File")).to_be_visible()
        expect(page.get_by_label("Format")).to_have_value("")
        expect(page.get_by_role("button", name="Import")).to_be_visible()

    def test_subscriptions_lists_both_with_confirm_for_the_pending_one(
        self, page: Page, seeded: tuple[Day, ...]
    ) -> None:
        sign_in(page, next_path="/console/subscriptions")
        rows = read_table(table(page, "SNS subscriptions"))
        status = row_of(rows, "Topic", PENDING_TOPIC)["Status"]
        assert "pending" in status.lower()
        assert "confirmed" in row_of(rows, "Topic", TOPIC)["Status"].lower()
        expect(page.get_by_role("button", name="Confirm")).to_have_count(1)

    def test_add_starts_with_manual_chosen(self, page: Page) -> None:
        sign_in(page, next_path="/console/add")
        expect(heading(page, "Add an address")).to_be_visible()
        expect(page.get_by_label("Reason")).to_have_value("manual")
        expect(page.get_by_label("Expires")).to_have_attribute("type", "date")
        expect(page.get_by_role("button", name="Add to the list")).to_be_visible()
