"""apply_batch: many SES events in one transaction leave what applying each alone leaves.

The reference is ``apply_event``, one event per transaction in arrival order (the path the
policy suites prove). Each case applies the same events both ways, on two fresh databases
of the kind under test, and compares every row of every table the events write (ids
aside: a batch numbers its rows in another order) and what each event reports.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.db import Database, table_of
from app.feedback import Applied, Notice, apply_batch, apply_event
from app.models import Event, RecipientState, Suppression, SuppressionChange
from app.ses.events import parse_ses_event
from app.suppression import entry_store, policy
from app.suppression.effects import Entry
from tests.databases import DatabaseFactory
from tests.ses_payloads import bounce, complaint, delivery

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
RULES = policy.Rules()
TABLES = (Event, RecipientState, Suppression, SuppressionChange)


def mixed_events(seed: int, size: int) -> list[str]:
    """SES bodies over a few addresses, so that batches name addresses twice: hard and
    soft bounces (runs reaching the limit, deliveries breaking them), complaints,
    message-level bounces, several recipients, a recipient that is no address, the same
    event again in the other shape, and events without recipients."""
    rng = random.Random(seed)
    pool = [f"user{n}@example.com" for n in range(12)] + ["Mixed.Case@Example.COM"]
    bodies: list[str] = []
    for n in range(size):
        people = rng.sample(pool, rng.choice([1, 1, 1, 2, 3]))
        at = NOW - timedelta(hours=rng.randrange(0, 72))
        kind = rng.choice(["hard", "soft", "soft", "soft", "complaint", "delivery", "other"])
        if kind == "hard":
            bodies.append(bounce(people, feedback_id=f"fb-{seed}-{n}", at=at))
        elif kind == "soft":
            soft = {"bounce_type": "Transient", "status": "4.2.2", "subtype": "MailboxFull"}
            bodies.append(bounce(people, feedback_id=f"fb-{seed}-{n}", at=at, **soft))
        elif kind == "complaint":
            bodies.append(complaint(people, feedback_id=f"fb-{seed}-{n}"))
        elif kind == "delivery":
            bodies.append(delivery(people, at=at))
        else:
            odd = rng.choice(["message_level", "not_an_address", "no_recipients"])
            if odd == "message_level":
                bodies.append(bounce(people, subtype="MessageTooLarge", status="5.3.4", at=at))
            elif odd == "not_an_address":
                bodies.append(bounce([*people, "not an address"], at=at))
            else:
                bodies.append(delivery([], at=at))
        if rng.random() < 0.15:
            bodies.append(rng.choice(bodies))  # the same event again (SNS MessageId differs)
    return bodies


async def seed_entries(database: Database) -> None:
    """Entries some events meet: a manual one, an expired soft bounce, an active one."""
    async with database.session() as session:
        for email, reason, expires in [
            ("user0@example.com", "manual", None),
            ("user1@example.com", "soft_bounce", NOW - timedelta(days=1)),
            ("user2@example.com", "soft_bounce", NOW + timedelta(days=3)),
        ]:
            entry = Entry(email, email, reason, "api", expires_at=expires)
            await entry_store.put(
                session, entry, actor="test", now=NOW - timedelta(days=2), replace_active=True
            )


async def one_by_one(database: Database, notices: Sequence[Notice]) -> list[Applied]:
    applied = []
    for notice in notices:
        async with database.session() as session:
            applied.append(
                await apply_event(
                    session,
                    notice.event,
                    sns_message_id=notice.sns_message_id,
                    rules=RULES,
                    now=NOW,
                )
            )
    return applied


async def in_batches(
    database: Database, notices: Sequence[Notice], sizes: random.Random
) -> list[Applied]:
    applied: list[Applied] = []
    start = 0
    while start < len(notices):
        chunk = notices[start : start + sizes.choice([1, 2, 5, 17, 40, 100])]
        async with database.session() as session:
            applied += await apply_batch(session, chunk, rules=RULES, now=NOW)
        start += len(chunk)
    return applied


async def rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    async with database.session() as session:
        for model in TABLES:
            table = table_of(model)
            columns = [column for column in table.columns if column.name != "id"]
            result = await session.execute(select(*columns))
            found[table.name] = sorted(map(tuple, result), key=repr)
    return found


@pytest.mark.parametrize("seed", range(4))
async def test_a_batch_leaves_what_one_by_one_leaves(seed: int, databases: DatabaseFactory) -> None:
    notices = [
        Notice(parse_ses_event(body), f"sns-{seed}-{n}")
        for n, body in enumerate(mixed_events(seed, 120))
    ]
    urls = [databases.fresh(), databases.fresh()]
    reference, batched = Database(urls[0]), Database(urls[1])
    try:
        await seed_entries(reference)
        await seed_entries(batched)
        expected = await one_by_one(reference, notices)
        got = await in_batches(batched, notices, random.Random(seed))
        assert got == expected
        assert await rows(batched) == await rows(reference)
        # The case is not vacuous: it suppressed, counted and met duplicates.
        assert sum(len(a.suppressed) for a in got) > 5
        assert sum(a.duplicates for a in got) > 0
        assert any(a.skipped for a in got)
    finally:
        await reference.dispose()
        await batched.dispose()
        for url in urls:
            databases.release(url)
