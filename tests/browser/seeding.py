"""Seeded histories for the console: 30 days of SES events posted to /sns as SNS signs them,
entries of every reason through /v1, a confirmed and a pending subscription."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.browser.live_console import PENDING_TOPIC, LiveConsole
from tests.conftest import TOPIC
from tests.ses_payloads import bounce, complaint, delivery

# SES lists at most 50 recipients in one message.
# https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_Destination.html
RECIPIENTS_PER_MESSAGE = 50
# Every day's events happen this long before its midnight-free moment: the 24 h, 7 d and
# 30 d windows never cut a day in two, however long the test takes.
OFFSET = timedelta(hours=2)


@dataclass(frozen=True)
class Day:
    ago: int  # whole days before now
    deliveries: int
    hard_bounces: int = 0
    soft_bounces: int = 0
    complaints: int = 0

    def moment(self, now: datetime) -> datetime:
        return now - timedelta(days=self.ago) - OFFSET


@dataclass(frozen=True)
class Totals:
    deliveries: int
    hard_bounces: int
    soft_bounces: int
    complaints: int

    @property
    def events(self) -> int:
        return self.deliveries + self.hard_bounces + self.soft_bounces + self.complaints


WINDOW_DAYS = {"24h": 1, "7d": 7, "30d": 30}


def totals(days: Sequence[Day], window: str) -> Totals:
    inside = [day for day in days if day.ago < WINDOW_DAYS[window]]
    return Totals(
        deliveries=sum(day.deliveries for day in inside),
        hard_bounces=sum(day.hard_bounces for day in inside),
        soft_bounces=sum(day.soft_bounces for day in inside),
        complaints=sum(day.complaints for day in inside),
    )


def _chunks(addresses: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(addresses), RECIPIENTS_PER_MESSAGE):
        yield addresses[start : start + RECIPIENTS_PER_MESSAGE]


def ses_messages(days: Sequence[Day], now: datetime) -> Iterator[str]:
    """Each day's SES notifications, timed at that day's moment."""
    for day in days:
        at = day.moment(now)
        delivered = [f"reader{n}@example.org" for n in range(day.deliveries)]
        for chunk in _chunks(delivered):
            yield delivery(chunk, at=at)
        bounced = [f"gone{day.ago}-{n}@example.net" for n in range(day.hard_bounces)]
        for chunk in _chunks(bounced):
            yield bounce(chunk, subtype="NoEmail", at=at)
        for n in range(day.soft_bounces):
            full = f"full{day.ago}-{n}@example.com"
            yield bounce(
                [full], bounce_type="Transient", subtype="MailboxFull", status="4.2.2", at=at
            )
        for n in range(day.complaints):
            yield complaint([f"annoyed{day.ago}-{n}@example.org"], at=at)


def post_history(console: LiveConsole, days: Sequence[Day], now: datetime) -> None:
    for message in ses_messages(days, now):
        console.post_ses(message)


# The tests' month: 20 deliveries a day; one bounce today (24 h: 1 of 21, "warning"); two
# bounces five days ago (that day 2 of 22, 9.1 %: over the 5 % review level, under pause);
# a soft bounce two days ago; a complaint ten days ago (30 d: 1 of 605, over 0.1 %).
TEST_MONTH: tuple[Day, ...] = tuple(
    Day(
        ago,
        deliveries=20,
        hard_bounces={0: 1, 5: 2}.get(ago, 0),
        soft_bounces=1 if ago == 2 else 0,
        complaints=1 if ago == 10 else 0,
    )
    for ago in range(30)
)
# The day whose bounce rate crosses the review level, and its rate.
REVIEW_DAY, REVIEW_DAY_RATE = 5, 2 / 22

MANUAL = "ceo@example.com"
UNSUBSCRIBED = "left@example.com"
BOUNCED = "gone5-0@example.net"
BULK = 100  # imported entries, so the list has a second page


def seed_console(console: LiveConsole, *, now: datetime | None = None) -> tuple[Day, ...]:
    """The tests' month of events, entries of four reasons (and enough to page), a
    confirmed and a pending subscription. Returns the days posted."""
    post_history(console, TEST_MONTH, now or datetime.now(UTC))
    console.put(MANUAL, "manual", note="asked by phone to stop")
    console.put(UNSUBSCRIBED, "unsubscribe", note="unsubscribed from every list")
    bulk = "email,reason,note\n" + "".join(
        f"bulk{n:03d}@example.com,manual,imported\n" for n in range(BULK)
    )
    response = console.api.post(
        "/v1/suppressions/import", content=bulk, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == BULK, response.text
    console.subscribe(TOPIC)
    console.confirm(TOPIC)
    console.subscribe(PENDING_TOPIC)
    return TEST_MONTH
