"""LOG_LEVEL=DEBUG is bouncer's own detail: botocore, urllib3 and the other libraries stay
at LOG_LEVEL_LIBRARIES (WARNING), because at DEBUG botocore logs every request's
parameters (a subscription's Token, a message's body and recipients)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from app.logs import LIBRARY_LOGGERS
from app.sns.confirmation import make_sns_client_factory
from tests.conftest import TOPIC, WRITE, AppMaker
from tests.ses.conftest import SENDER, running_moto_ses, use_fake_aws_credentials
from tests.signing import SnsSigner, post_args

TOKEN = "5ecret5ubscr1pt10nT0ken" * 4
BODY = "The parcel code is Q7-SECRET-BODY-4471."
RECIPIENT = "private.person.7731@example.org"


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    use_fake_aws_credentials(monkeypatch, tmp_path)
    with running_moto_ses():
        boto3.client("sns", region_name="us-east-1").create_topic(Name=TOPIC.rsplit(":", 1)[1])
        yield


async def confirm_and_send(make_client: AppMaker, signer: SnsSigner, **settings: Any) -> None:
    client, _ = await make_client(sns_client_factory=make_sns_client_factory(), **settings)
    envelope = signer.make_subscription_confirmation(topic_arn=TOPIC, token=TOKEN)
    body, headers = post_args(envelope)
    confirmed = await client.post("/sns", content=body, headers=headers)
    assert confirmed.json() == {"status": "confirmed"}
    sent = await client.post(
        "/v1/send",
        json={"from": SENDER, "to": [RECIPIENT], "subject": "Shipped", "text": BODY},
        headers=WRITE,
    )
    assert sent.status_code == 200, sent.text


def secrets_in(records: list[logging.LogRecord]) -> list[str]:
    text = "\n".join(f"{r.name} {r.getMessage()} {r.__dict__}" for r in records)
    return [secret for secret in (TOKEN, BODY, RECIPIENT) if secret in text]


class TestDebugKeepsLibrariesQuiet:
    async def test_no_token_body_or_recipient_through_botocore(
        self,
        moto: None,
        make_client: AppMaker,
        signer: SnsSigner,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        await confirm_and_send(make_client, signer, LOG_LEVEL="DEBUG")
        assert any(r.name.startswith("bouncer") for r in caplog.records)
        assert secrets_in(caplog.records) == []
        assert not [
            r for r in caplog.records if r.name.split(".")[0] in LIBRARY_LOGGERS and r.levelno < 30
        ]

    async def test_asked_for_the_libraries_are_heard(
        self,
        moto: None,
        make_client: AppMaker,
        signer: SnsSigner,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        # The opposite, so the quiet above is the setting's doing and the capture works.
        await confirm_and_send(make_client, signer, LOG_LEVEL="DEBUG", LOG_LEVEL_LIBRARIES="DEBUG")
        assert any(r.name.startswith("botocore") for r in caplog.records)
        assert TOKEN in secrets_in(caplog.records)


class TestTheSetting:
    @pytest.mark.parametrize("libraries", LIBRARY_LOGGERS)
    async def test_every_library_logger_is_at_warning(
        self, libraries: str, make_client: AppMaker
    ) -> None:
        await make_client(LOG_LEVEL="DEBUG")
        assert logging.getLogger(libraries).getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("bouncer").getEffectiveLevel() == logging.DEBUG
        assert logging.getLogger("some.other.library").getEffectiveLevel() == logging.WARNING
