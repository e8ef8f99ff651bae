"""Regenerate the README's screenshot of the console's overview from a live, seeded bouncer:

    python -m tests.browser.screenshot docs/console-overview.png

A month of a small sender's mail: about 1,200 recipients a day, a few bounces, one day
whose bounces crossed SES's 5 % review level, a handful of complaints; entries of every
reason; a confirmed and a pending subscription. The SES events go to /sns signed as SNS
signs them, the entries through /v1. The sends are written with the send log's own store
(bouncer records a send when it happens, so the API cannot date one a month back).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import sync_playwright

from app.activity.send_log import record_send
from app.db import Database
from app.vocabulary import SendOutcome
from tests.browser.chromium import CHROMIUM, MISSING, launch
from tests.browser.live_console import PENDING_TOPIC, moto_sns, running_console
from tests.browser.pages import heading
from tests.browser.seeding import RECIPIENTS_PER_MESSAGE, Day, post_history
from tests.conftest import TOPIC, WRITE_TOKEN
from tests.databases import DatabaseFactory
from tests.signing import shared_signer

REVIEW_DAY = 9  # its bounces cross the review level


def realistic_month(seed: int = 18) -> tuple[Day, ...]:
    rng = random.Random(seed)
    days = []
    for ago in range(30):
        sent = rng.randrange(1050, 1350)
        hard = round(sent * 0.056) if ago == REVIEW_DAY else rng.randrange(0, 7)
        soft = rng.randrange(0, 5)
        complaints = 1 if rng.random() < 0.2 else 0
        days.append(Day(ago, sent - hard - soft, hard, soft, complaints))
    return tuple(days)


def sends_of(day: Day) -> int:
    """What SES accepted that day: every message it reported on, and a few not yet."""
    return day.deliveries + day.hard_bounces + day.soft_bounces + day.complaints + 3


async def record_sends(database_url: str, days: Sequence[Day], now: datetime) -> None:
    database = Database(database_url)
    try:
        async with database.session() as session:
            for day in days:
                total = sends_of(day)
                for start in range(0, total, RECIPIENTS_PER_MESSAGE):
                    count = min(RECIPIENTS_PER_MESSAGE, total - start)
                    await record_send(
                        session,
                        sender="news@example.com",
                        sent_to=[f"reader{start + n}@example.org" for n in range(count)],
                        suppressed=[],
                        configuration_set="newsletter",
                        outcome=SendOutcome.SENT,
                        now=day.moment(now),
                        ses_message_id=f"0100-{uuid.uuid4()}",
                    )
    finally:
        await database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="where the PNG goes")
    parser.add_argument("--width", type=int, default=1200)
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        sys.stderr.write(MISSING + "\n")
        return 1
    with tempfile.TemporaryDirectory(prefix="bouncer-screenshot-") as folder:
        root = Path(folder)
        databases = DatabaseFactory(root / "databases")
        try:
            shoot(databases, root, args.output, args.width)
        finally:
            databases.close()
    sys.stdout.write(f"wrote {args.output}\n")
    return 0


def shoot(databases: DatabaseFactory, root: Path, output: Path, width: int) -> None:
    now = datetime.now(UTC)
    month = realistic_month()
    with (
        moto_sns() as endpoint,
        running_console(databases, root / "data", shared_signer(), endpoint) as console,
    ):
        asyncio.run(record_sends(console.database_url, month, now))
        post_history(console, month, now)
        for email, reason, note in (
            ("ceo@example.com", "manual", "asked by phone to stop"),
            ("old-list@example.com", "manual", "bought list: never mail"),
            ("left@example.org", "unsubscribe", "unsubscribed from every list"),
        ):
            console.put(email, reason, note=note)
        console.subscribe(TOPIC)
        console.confirm(TOPIC)
        console.subscribe(PENDING_TOPIC)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(base_url=console.url, viewport={"width": width, "height": 900})
            page.goto("/console/sign-in")
            page.get_by_label("API token").fill(WRITE_TOKEN)
            page.get_by_role("button", name="Sign in").click()
            heading(page, "Overview").wait_for()
            output.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=output, full_page=True)
            browser.close()


if __name__ == "__main__":
    sys.exit(main())
