"""QueueIngest.take against the real database and the real signature path: what each body
comes to, what is stored, and that one SES event has one effect whatever path it took."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db import Database
from app.errors import DatabaseUnavailable
from app.ingest import QueueIngest, Taken
from app.models import Event, ReceivedSnsMessage, Suppression
from app.services import Edges, build_queue_ingest, build_subscribing
from app.settings import Settings
from tests.batches import make_batch, post_in_order, snapshot
from tests.conftest import TOPIC, AppMaker, make_settings
from tests.outages import unreachable_database
from tests.queue.test_queue_bodies import eventbridge
from tests.ses_payloads import bounce, complaint
from tests.signing import SnsSigner

Maker = Callable[..., Any]


@pytest.fixture
async def make_queue_ingest(settings: Settings) -> AsyncIterator[Maker]:
    """``await make(**setting_overrides, transport=…, database=…)`` -> QueueIngest."""
    opened: list[tuple[Database, httpx.AsyncClient]] = []

    async def make(
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        database: Database | None = None,
        **changes: Any,
    ) -> QueueIngest:
        chosen = make_settings(**(settings.model_dump() | changes))
        database = database or Database(chosen.database_url)
        edges = Edges(
            http_transport=transport or httpx.MockTransport(_no_outbound),
            sns_client_factory=None,
        )
        http = edges.http_client()
        opened.append((database, http))
        subscribing = build_subscribing(chosen, database, http, edges)
        return build_queue_ingest(
            chosen, database, http, subscribing, edges, accept_unsigned=chosen.SQS_ACCEPT_UNSIGNED
        )

    yield make
    for database, http in opened:
        await http.aclose()
        await database.dispose()


def _no_outbound(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected request to {request.url}")


def body(envelope: dict[str, Any]) -> str:
    return json.dumps(envelope)


async def count(url: str, model: Any) -> int:
    database = Database(url)
    try:
        async with database.session() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await database.dispose()


def statuses(taken: list[Taken]) -> list[tuple[str, str | None]]:
    return [(t.status, t.cause) for t in taken]


async def test_a_batch_answers_each_body_in_order(
    make_queue_ingest: Maker, signer: SnsSigner, settings: Settings
) -> None:
    ingest = await make_queue_ingest()
    good = signer.make_notification(bounce(["ann@example.com"]), topic_arn=TOPIC)
    tampered = dict(good, MessageId="f0000000-0000-0000-0000-000000000000")
    foreign = signer.make_notification(bounce(["bob@example.com"]), topic_arn=TOPIC + "-other")
    old = signer.make_notification(
        bounce(["old@example.com"]),
        topic_arn=TOPIC,
        timestamp=datetime.now(UTC) - timedelta(days=15),
    )
    taken = await ingest.take(
        [
            body(good),
            body(good),
            body(tampered),
            body(foreign),
            body(old),
            bounce(["cy@example.com"], shape="event"),
            "{not json",
        ]
    )
    assert statuses(taken) == [
        ("processed", None),
        ("duplicate", None),
        ("refused", "signature"),
        ("refused", "topic"),
        ("refused", "expired"),
        ("refused", "unsigned"),
        ("refused", "malformed"),
    ]
    assert [t.done for t in taken] == [True, True] + [False] * 5
    assert taken[0].id == good["MessageId"]
    assert taken[0].shape == "sns"
    assert taken[6].shape == "unknown"
    assert taken[6].reason
    url = settings.database_url
    assert await count(url, Suppression) == 1
    assert await count(url, ReceivedSnsMessage) == 1


def two_days_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=2)


async def test_a_queue_keeps_messages_for_days_so_their_age_limit_is_longer(
    make_queue_ingest: Maker, signer: SnsSigner
) -> None:
    # Two days old: /sns refuses it (SNS_MAX_AGE_SECONDS), a queue still holds it.
    late = signer.make_notification(
        bounce(["late@example.com"]),
        topic_arn=TOPIC,
        timestamp=datetime.now(UTC) - timedelta(days=2),
    )
    ingest = await make_queue_ingest()
    assert statuses(await ingest.take([body(late)])) == [("processed", None)]
    strict = await make_queue_ingest(SQS_MAX_AGE_SECONDS=3600)
    again = signer.make_notification(
        bounce(["late@example.com"]),
        topic_arn=TOPIC,
        timestamp=datetime.now(UTC) - timedelta(days=2),
    )
    assert statuses(await strict.take([body(again)])) == [("refused", "expired")]


async def test_one_ses_event_by_every_path_has_one_effect(
    make_queue_ingest: Maker, make_client: AppMaker, signer: SnsSigner, settings: Settings
) -> None:
    # The same bounce (one feedbackId) as a bare event, through EventBridge, in an SNS
    # envelope on the queue, and posted to /sns.
    event = bounce(["dee@example.com", "eve@example.com"], feedback_id="fb-42", shape="event")
    client, _ = await make_client()
    posted = await client.post(
        "/sns", content=body(signer.make_notification(event, topic_arn=TOPIC))
    )
    assert posted.json() == {"status": "processed"}
    ingest = await make_queue_ingest(SQS_ACCEPT_UNSIGNED=True)
    queued = signer.make_notification(event, topic_arn=TOPIC)
    taken = await ingest.take([event, eventbridge(json.loads(event)), body(queued), event])
    # A new SNS MessageId is a new message (SPEC §2) even when its event is not: it is
    # stored, and its event has no second effect.
    assert [t.status for t in taken] == ["duplicate", "duplicate", "processed", "duplicate"]
    assert [t.shape for t in taken] == ["ses", "eventbridge", "sns", "ses"]
    url = settings.database_url
    assert await count(url, Event) == 2  # one row per recipient
    assert await count(url, Suppression) == 2


async def suppressed(url: str) -> dict[str, str]:
    database = Database(url)
    try:
        async with database.session() as session:
            rows = await session.execute(select(Suppression.email, Suppression.reason))
            return {row.email: row.reason for row in rows}
    finally:
        await database.dispose()


async def test_a_signed_envelope_carrying_an_eventbridge_event_takes_its_detail(
    make_queue_ingest: Maker, signer: SnsSigner, settings: Settings
) -> None:
    # SES → EventBridge → an SNS topic → the queue: signed, so trusted without
    # SQS_ACCEPT_UNSIGNED; the bounce in `detail` takes effect (once, whatever the path).
    ingest = await make_queue_ingest(SQS_ACCEPT_UNSIGNED=True)
    detail = json.loads(bounce(["eve@example.com"], feedback_id="fb-r16-eb", shape="event"))
    envelope = signer.make_notification(eventbridge(detail), topic_arn=TOPIC)
    taken = await ingest.take([body(envelope), eventbridge(detail), json.dumps(detail)])
    assert [t.status for t in taken] == ["processed", "duplicate", "duplicate"]
    assert await suppressed(settings.database_url) == {"eve@example.com": "bounce"}


async def test_a_signed_envelope_carrying_another_sources_event_is_recorded_only(
    make_queue_ingest: Maker, signer: SnsSigner, settings: Settings
) -> None:
    ingest = await make_queue_ingest()
    detail = json.loads(bounce(["fox@example.com"], shape="event"))
    envelope = signer.make_notification(eventbridge(detail, source="my.app"), topic_arn=TOPIC)
    [taken] = await ingest.take([body(envelope)])
    assert taken.status == "processed"
    assert await suppressed(settings.database_url) == {}
    database = Database(settings.database_url)
    try:
        async with database.session() as session:
            assert list(await session.scalars(select(Event.type))) == ["Unknown"]
    finally:
        await database.dispose()


async def test_unsigned_events_first_seen_on_the_queue_take_effect_once(
    make_queue_ingest: Maker, settings: Settings
) -> None:
    ingest = await make_queue_ingest(SQS_ACCEPT_UNSIGNED=True)
    hard = bounce(["fay@example.com"], shape="event")
    spam = complaint(["gus@example.com"], shape="event")
    first = await ingest.take([hard, eventbridge(json.loads(spam)), hard])
    assert [t.status for t in first] == ["processed", "processed", "duplicate"]
    again = await ingest.take([eventbridge(json.loads(hard)), spam])
    assert [t.status for t in again] == ["duplicate", "duplicate"]
    database = Database(settings.database_url)
    try:
        async with database.session() as session:
            reasons = dict(
                (await session.execute(select(Suppression.email, Suppression.reason))).all()
            )
    finally:
        await database.dispose()
    assert reasons == {"fay@example.com": "bounce", "gus@example.com": "complaint"}
    # Unsigned events have no SNS message to keep.
    assert await count(settings.database_url, ReceivedSnsMessage) == 0


async def test_a_batch_from_a_queue_leaves_what_posting_it_leaves(
    make_queue_ingest: Maker, make_client: AppMaker, signer: SnsSigner, databases: Any
) -> None:
    envelopes = make_batch(signer, 120, topic_arn=TOPIC)
    posted_url, queued_url = databases.fresh(), databases.fresh()
    try:
        client, _ = await make_client(DATABASE_URL=posted_url)
        await post_in_order(client, envelopes)
        ingest = await make_queue_ingest(DATABASE_URL=queued_url)
        bodies = [body(e) for e in envelopes]
        for start in range(0, len(bodies), 10):  # SQS hands out at most 10 at a time
            taken = await ingest.take(bodies[start : start + 10])
            assert {t.status for t in taken} == {"processed"}
        assert await snapshot(queued_url) == await snapshot(posted_url)
        # At least once and out of order: all of it again, reversed, changes nothing.
        retaken = await ingest.take(bodies[::-1])
        assert {t.status for t in retaken} == {"duplicate"}
        assert await snapshot(queued_url) == await snapshot(posted_url)
    finally:
        databases.release(posted_url)
        databases.release(queued_url)


async def test_an_outage_stores_nothing_of_the_batch(
    make_queue_ingest: Maker, signer: SnsSigner, settings: Settings, tmp_path: Path
) -> None:
    down = unreachable_database(settings.database_url, tmp_path)
    ingest = await make_queue_ingest(database=down)
    batch = [body(signer.make_notification(bounce(["hal@example.com"]), topic_arn=TOPIC))]
    with pytest.raises(DatabaseUnavailable):
        await ingest.take(batch)
    # The refused ones need no database, and raise nothing on their own.
    assert statuses(await ingest.take(["[]"])) == [("refused", "malformed")]
    up = await make_queue_ingest()
    assert statuses(await up.take(batch)) == [("processed", None)]


async def test_an_unreachable_certificate_host_leaves_the_message_for_later(
    make_queue_ingest: Maker, signer: SnsSigner, settings: Settings
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    ingest = await make_queue_ingest(SNS_CERT_DIR=None, transport=httpx.MockTransport(down))
    envelope = signer.make_notification(bounce(["ivy@example.com"]), topic_arn=TOPIC)
    [taken] = await ingest.take([body(envelope)])
    assert (taken.status, taken.done, taken.id) == ("retry", False, envelope["MessageId"])
    assert await count(settings.database_url, ReceivedSnsMessage) == 0


@pytest.mark.parametrize(("auto", "status"), [(False, "pending"), (True, "confirmed")])
async def test_a_subscription_confirmation_on_a_queue_is_handled_as_sns_does(
    make_queue_ingest: Maker, signer: SnsSigner, auto: bool, status: str
) -> None:
    confirmed: list[str] = []

    def subscribe_url(request: httpx.Request) -> httpx.Response:
        confirmed.append(str(request.url))
        return httpx.Response(200, text="<ConfirmSubscriptionResponse/>")

    ingest = await make_queue_ingest(
        SNS_AUTO_CONFIRM=auto, transport=httpx.MockTransport(subscribe_url)
    )
    confirmation = signer.make_subscription_confirmation(topic_arn=TOPIC)
    [taken] = await ingest.take([body(confirmation)])
    assert (taken.status, taken.done) == (status, True)
    assert len(confirmed) == (1 if auto else 0)


async def test_a_confirmation_that_cannot_be_made_is_its_own_answer_not_the_batchs(
    make_queue_ingest: Maker, signer: SnsSigner, settings: Settings
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    ingest = await make_queue_ingest(transport=httpx.MockTransport(down))
    confirmation = signer.make_subscription_confirmation(topic_arn=TOPIC)
    foreign_url = dict(confirmation, SubscribeURL="https://example.com/confirm")
    notification = signer.make_notification(bounce(["jo@example.com"]), topic_arn=TOPIC)
    taken = await ingest.take(
        [body(confirmation), body(signer.sign(foreign_url)), body(notification)]
    )
    assert statuses(taken)[0] == ("retry", "unavailable")
    assert statuses(taken)[2] == ("processed", None)
    assert taken[1].status == "refused"
    assert await count(settings.database_url, Suppression) == 1


async def test_a_confirmation_sns_refuses_is_refused_not_retried_for_ever(
    make_queue_ingest: Maker, signer: SnsSigner
) -> None:
    # A SubscriptionConfirmation's token lasts three days; a dead-letter queue replayed
    # later, or a queue drained after a long outage, holds confirmations SNS now answers
    # 403 to. As "retry" it would never leave the queue, even with SQS_DELETE_REFUSED=true,
    # and `bouncer replay` would exit 3 ("replay again later") on every run.
    def expired(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            text="<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code>"
            "<Message>Token expired</Message></Error></ErrorResponse>",
        )

    ingest = await make_queue_ingest(transport=httpx.MockTransport(expired), SNS_AUTO_CONFIRM=True)
    confirmation = signer.make_subscription_confirmation(topic_arn=TOPIC)
    [taken] = await ingest.take([body(confirmation)])
    assert (taken.status, taken.cause) == ("refused", "confirmation_refused")
    assert taken.reason is not None
    assert "Token expired" in taken.reason
    assert "SNS will retry" not in taken.reason
