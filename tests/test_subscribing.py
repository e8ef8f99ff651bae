"""Subscribing: confirming a pending subscription hands the confirmer what the row kept
(topic, token, SubscribeURL), never a made-up SNS message; a failure to reach SNS is kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.db import Database
from app.errors import Unavailable
from app.sns.confirmation import Confirmation
from app.sns.envelope import SnsMessage, parse_envelope
from app.sns_records import subscriptions as rows
from app.subscribing import Subscribing
from app.vocabulary import ConfirmedVia
from tests.conftest import TOPIC
from tests.signing import SnsSigner, post_args

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
TOKEN = "2336412f37fb687f5d51e6e2425ba1f2" * 4


class RecordingConfirmer:
    """Stands in for SubscriptionConfirmer: records what it is given, answers ``answer``."""

    def __init__(self) -> None:
        self.given: list[Any] = []
        self.failure: Exception | None = None

    async def confirm(self, subscription: Any) -> ConfirmedVia:
        self.given.append(subscription)
        if self.failure is not None:
            raise self.failure
        return ConfirmedVia.URL


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def confirmer() -> RecordingConfirmer:
    return RecordingConfirmer()


def make_subscribing(database: Database, confirmer: RecordingConfirmer) -> Subscribing:
    return Subscribing(
        database=database,
        confirmer=confirmer,  # type: ignore[arg-type]
        auto_confirm=False,
        clock=lambda: NOW,
    )


def confirmation_message(signer: SnsSigner) -> SnsMessage:
    envelope = signer.make_subscription_confirmation(topic_arn=TOPIC, token=TOKEN)
    return parse_envelope(*post_args(envelope))


class TestConfirmPending:
    async def test_the_confirmer_gets_what_the_row_kept(
        self, database: Database, confirmer: RecordingConfirmer, signer: SnsSigner
    ) -> None:
        subscribing = make_subscribing(database, confirmer)
        message = confirmation_message(signer)
        assert await subscribing.subscribe(message) == "pending"
        assert confirmer.given == []  # SNS_AUTO_CONFIRM=false

        assert await subscribing.confirm_pending(TOPIC) == "confirmed"
        assert confirmer.given == [Confirmation(TOPIC, TOKEN, message.subscribe_url or "")]
        assert type(confirmer.given[0]) is Confirmation
        [row] = await subscribing.list()
        assert (row.status, row.confirmed_via) == ("confirmed", "url")

    async def test_a_failure_is_kept_with_the_message_it_came_in(
        self, database: Database, confirmer: RecordingConfirmer, signer: SnsSigner
    ) -> None:
        subscribing = make_subscribing(database, confirmer)
        message = confirmation_message(signer)
        await subscribing.subscribe(message)
        confirmer.failure = Unavailable("the SubscribeURL answered HTTP 500; SNS will retry")
        with pytest.raises(Unavailable):
            await subscribing.confirm_pending(TOPIC)
        async with database.session() as session:
            row = await rows.get_subscription(session, TOPIC)
        assert row is not None
        assert (row.status, row.token, row.subscribe_url) == (
            "failed",
            TOKEN,
            message.subscribe_url,
        )
        assert row.last_message_id == message.message_id
        assert row.last_error is not None
        assert "HTTP 500" in row.last_error


class TestConfirmation:
    def test_of_an_unsubscribe_confirmation_is_refused(self, signer: SnsSigner) -> None:
        envelope = signer.make_unsubscribe_confirmation(topic_arn=TOPIC)
        with pytest.raises(ValueError, match="only a SubscriptionConfirmation is confirmed"):
            Confirmation.of(parse_envelope(*post_args(envelope)))

    def test_region_is_the_topics(self) -> None:
        confirmation = Confirmation("arn:aws:sns:eu-west-1:123456789012:t", TOKEN, "https://x")
        assert confirmation.region == "eu-west-1"
