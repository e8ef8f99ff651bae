"""A batch of signed SES notifications, and the database state one clean pass of it leaves.

The replica and outage suites post the same batch under stress and then compare the
database with a clean, undisturbed pass: equal state means nothing was lost and
nothing was counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from app.db import Database
from app.models import Event, ReceivedSnsMessage, RecipientState, Suppression
from tests.ses_payloads import bounce_storm
from tests.signing import SnsSigner, post_args

# The tables whose row counts say whether anything was lost or stored twice.
COUNTED = (Event, ReceivedSnsMessage, Suppression, RecipientState)


def make_batch(signer: SnsSigner, size: int, *, topic_arn: str) -> list[dict[str, Any]]:
    """``size`` signed Notifications carrying a bounce storm (tests.ses_payloads)."""
    return [signer.make_notification(m, topic_arn=topic_arn) for m in bounce_storm(size)]


async def post_in_order(client: httpx.AsyncClient, envelopes: Sequence[dict[str, Any]]) -> None:
    """The clean pass: each envelope once, in order, each answered 200."""
    for envelope in envelopes:
        body, headers = post_args(envelope)
        answer = await client.post("/sns", content=body, headers=headers)
        assert answer.status_code == 200, answer.text


async def snapshot(url: str) -> dict[str, Any]:
    """Everything that must match, minus wall-clock columns."""
    database = Database(url)
    try:
        async with database.session() as session:
            rows = list(await session.scalars(select(Suppression)))
            entries = sorted((r.email, r.reason, r.expires_at) for r in rows)
            # Which of several equivalent events an entry names as its cause may differ
            # with arrival order; that it names one of this address's events may not.
            causes = {
                (e.feedback_id, e.email)
                for e in await session.scalars(select(Event).where(Event.feedback_id.is_not(None)))
            }
            orphans = [r.email for r in rows if (r.feedback_id, r.email) not in causes]
            states = sorted(
                (r.email, r.soft_bounce_count, r.last_soft_bounce_at, r.soft_reset_at)
                for r in await session.scalars(select(RecipientState))
            )
            counts = {
                model.__tablename__: await session.scalar(select(func.count()).select_from(model))
                for model in COUNTED
            }
            events = sorted((e.dedupe_key, e.verdict) for e in await session.scalars(select(Event)))
            message_ids = set(await session.scalars(select(ReceivedSnsMessage.message_id)))
    finally:
        await database.dispose()
    return {
        "entries": entries,
        "states": states,
        "counts": counts,
        "events": events,
        "orphans": orphans,
        "message_ids": message_ids,
    }


async def stored_message_ids(url: str) -> set[str]:
    """The MessageIds in sns_message: a message is stored exactly when its id is."""
    database = Database(url)
    try:
        async with database.session() as session:
            return set(await session.scalars(select(ReceivedSnsMessage.message_id)))
    finally:
        await database.dispose()


@dataclass(frozen=True)
class Comparison:
    """A stressed run's final state against the clean pass's."""

    lost: int  # rows (messages, events, entries, states) the clean pass has and it lacks
    duplicates: int  # rows it has beyond the clean pass's
    equal: bool  # every compared part equal

    @property
    def equal_text(self) -> str:
        return "yes" if self.equal else "no"


def compare(stressed: dict[str, Any], clean: dict[str, Any]) -> Comparison:
    lost = duplicates = 0
    for table, expected in clean["counts"].items():
        got = stressed["counts"][table]
        lost += max(0, expected - got)
        duplicates += max(0, got - expected)
    lost = max(lost, len(clean["message_ids"] - stressed["message_ids"]))
    equal = all(stressed[part] == clean[part] for part in clean) and not clean["orphans"]
    return Comparison(lost=lost, duplicates=duplicates, equal=equal)


def assert_same_state(stressed: dict[str, Any], clean: dict[str, Any]) -> None:
    """Part by part, so a failure names what differs."""
    assert stressed["counts"] == clean["counts"]
    assert stressed["message_ids"] == clean["message_ids"]
    assert stressed["events"] == clean["events"]
    assert stressed["entries"] == clean["entries"]
    assert stressed["states"] == clean["states"]
    assert stressed["orphans"] == clean["orphans"] == []
