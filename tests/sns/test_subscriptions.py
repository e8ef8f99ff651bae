"""Confirming subscriptions: the SNS API (botocore Stubber) or the SubscribeURL (MockTransport)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import httpx
import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from app.errors import ConfirmationRefused, Forbidden, Unavailable
from app.sns.confirmation import SubscriptionConfirmer, make_sns_client_factory
from app.sns.envelope import SnsMessage, parse_envelope
from tests.signing import SnsSigner, post_args
from tests.sns.conftest import RecordingHost

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"
TOKEN = "2336412f37fb687f5d51e6e2425ba1f2" * 4


def parse(envelope: dict[str, Any]) -> SnsMessage:
    return parse_envelope(*post_args(envelope))


@pytest.fixture
def confirmation(signer: SnsSigner) -> SnsMessage:
    return parse(signer.make_subscription_confirmation(topic_arn=TOPIC, token=TOKEN))


class StubbedSns:
    """A factory handing out one real botocore SNS client whose calls a Stubber answers."""

    def __init__(self) -> None:
        self.regions: list[str] = []
        self.client = botocore.session.get_session().create_client(
            "sns",
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.stubber = Stubber(self.client)

    def __call__(self, region: str) -> Any:
        self.regions.append(region)
        return self.client


@pytest.fixture
def sns() -> Iterator[StubbedSns]:
    stubbed = StubbedSns()
    with stubbed.stubber:
        yield stubbed
    stubbed.stubber.assert_no_pending_responses()


class TestConfirmThroughTheApi:
    async def test_calls_confirm_subscription_in_the_topics_region(
        self,
        sns: StubbedSns,
        confirmation: SnsMessage,
        host: RecordingHost,
        http: httpx.AsyncClient,
    ) -> None:
        sns.stubber.add_response(
            "confirm_subscription",
            {"SubscriptionArn": f"{TOPIC}:5eed"},
            expected_params={
                "TopicArn": TOPIC,
                "Token": TOKEN,
                "AuthenticateOnUnsubscribe": "true",
            },
        )
        confirmer = SubscriptionConfirmer(http, sns_client_factory=sns)
        assert await confirmer.confirm(confirmation) == "api"
        assert sns.regions == ["eu-west-1"]
        assert host.requests == []

    async def test_an_api_error_is_unavailable_and_named(
        self, sns: StubbedSns, confirmation: SnsMessage, http: httpx.AsyncClient
    ) -> None:
        sns.stubber.add_client_error(
            "confirm_subscription",
            service_error_code="AuthorizationError",
            service_message="not authorized to perform sns:ConfirmSubscription",
            http_status_code=403,
        )
        confirmer = SubscriptionConfirmer(http, sns_client_factory=sns)
        with pytest.raises(Unavailable, match="AuthorizationError") as caught:
            await confirmer.confirm(confirmation)
        assert caught.value.__cause__ is not None

    async def test_a_refusal_is_told_apart_from_a_failure(
        self, sns: StubbedSns, confirmation: SnsMessage, http: httpx.AsyncClient
    ) -> None:
        # 4xx: asking again changes nothing (a queue refuses it); /sns still answers 503.
        sns.stubber.add_client_error(
            "confirm_subscription",
            service_error_code="InvalidParameter",
            service_message="Invalid token",
            http_status_code=400,
        )
        confirmer = SubscriptionConfirmer(http, sns_client_factory=sns)
        with pytest.raises(ConfirmationRefused, match="Invalid token") as caught:
            await confirmer.confirm(confirmation)
        assert caught.value.status_code == 503
        assert "SNS will retry" not in caught.value.message
        assert "subscribe the endpoint again" in caught.value.message

    @pytest.mark.parametrize(
        ("code", "status"),
        [("InternalError", 500), ("Throttled", 429), ("Throttling", 400)],
    )
    async def test_a_failure_or_a_throttle_is_tried_again(
        self,
        sns: StubbedSns,
        confirmation: SnsMessage,
        http: httpx.AsyncClient,
        code: str,
        status: int,
    ) -> None:
        sns.stubber.add_client_error(
            "confirm_subscription", service_error_code=code, http_status_code=status
        )
        confirmer = SubscriptionConfirmer(http, sns_client_factory=sns)
        with pytest.raises(Unavailable, match=f"{code}.*SNS will retry") as caught:
            await confirmer.confirm(confirmation)
        assert not isinstance(caught.value, ConfirmationRefused)

    async def test_a_botocore_failure_is_unavailable(
        self, confirmation: SnsMessage, http: httpx.AsyncClient
    ) -> None:
        def no_credentials(region: str) -> Any:
            raise NoCredentialsError()

        confirmer = SubscriptionConfirmer(http, sns_client_factory=no_credentials)
        with pytest.raises(Unavailable, match="Unable to locate credentials") as caught:
            await confirmer.confirm(confirmation)
        assert isinstance(caught.value.__cause__, NoCredentialsError)


def answering(status: int) -> RecordingHost:
    return RecordingHost(lambda request: httpx.Response(status, text="<ConfirmSubscription/>"))


class TestConfirmThroughTheUrl:
    async def test_requests_the_subscribe_url_once(
        self, confirmation: SnsMessage, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        host.answer = answering(200).answer
        confirmer = SubscriptionConfirmer(http, sns_client_factory=None, timeout=3.0)
        assert await confirmer.confirm(confirmation) == "url"
        [request] = host.requests
        assert request.method == "GET"
        assert str(request.url) == confirmation.subscribe_url
        assert request.url.host == "sns.eu-west-1.amazonaws.com"
        assert request.extensions["timeout"]["read"] == 3.0

    @pytest.mark.parametrize(
        "url",
        [
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",
            "https://evil.com/?Action=ConfirmSubscription&Token=x",
            "https://sns.eu-west-1.amazonaws.com.evil.com/?Action=ConfirmSubscription",
            "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
        ],
    )
    async def test_a_foreign_subscribe_url_is_never_requested(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient, url: str
    ) -> None:
        envelope = signer.make_subscription_confirmation(topic_arn=TOPIC)
        message = parse(signer.sign(envelope | {"SubscribeURL": url}))
        confirmer = SubscriptionConfirmer(http, sns_client_factory=None)
        with pytest.raises(Forbidden, match="it was not requested"):
            await confirmer.confirm(message)
        assert host.requests == []

    @pytest.mark.parametrize("status", [408, 429, 500, 503])
    async def test_an_error_answer_is_unavailable(
        self, confirmation: SnsMessage, host: RecordingHost, http: httpx.AsyncClient, status: int
    ) -> None:
        host.answer = answering(status).answer
        confirmer = SubscriptionConfirmer(http, sns_client_factory=None)
        with pytest.raises(Unavailable, match=f"answered HTTP {status}; SNS will retry") as caught:
            await confirmer.confirm(confirmation)
        assert not isinstance(caught.value, ConfirmationRefused)

    @pytest.mark.parametrize("status", [400, 403, 404])
    async def test_a_refusal_is_refused_naming_what_sns_said(
        self, confirmation: SnsMessage, host: RecordingHost, http: httpx.AsyncClient, status: int
    ) -> None:
        # An expired token: SNS's XML error answer names it. An Unavailable still (so /sns
        # answers 503 as before), told apart so a queue or a file can refuse it.
        host.answer = lambda request: httpx.Response(
            status,
            text="<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code>"
            "<Message>Token expired</Message></Error></ErrorResponse>",
        )
        confirmer = SubscriptionConfirmer(http, sns_client_factory=None)
        with pytest.raises(ConfirmationRefused) as caught:
            await confirmer.confirm(confirmation)
        message = caught.value.message
        assert f"answered HTTP {status} (AuthorizationError: Token expired)" in message
        assert "SNS will retry" not in message
        assert isinstance(caught.value, Unavailable)
        assert caught.value.cause == "confirmation_refused"

    async def test_a_refusal_without_sns_words_is_refused_too(
        self, confirmation: SnsMessage, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        host.answer = answering(403).answer
        confirmer = SubscriptionConfirmer(http, sns_client_factory=None)
        with pytest.raises(ConfirmationRefused, match=r"answered HTTP 403: SNS refused"):
            await confirmer.confirm(confirmation)

    async def test_a_redirect_is_not_followed(
        self, confirmation: SnsMessage, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        host.answer = lambda request: httpx.Response(302, headers={"Location": "https://evil.com"})
        confirmer = SubscriptionConfirmer(http, sns_client_factory=None)
        with pytest.raises(Unavailable, match="answered HTTP 302"):
            await confirmer.confirm(confirmation)
        assert len(host.requests) == 1

    @pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ReadTimeout])
    async def test_a_network_failure_is_unavailable(
        self,
        confirmation: SnsMessage,
        host: RecordingHost,
        http: httpx.AsyncClient,
        error: type[httpx.TransportError],
    ) -> None:
        def fail(request: httpx.Request) -> httpx.Response:
            raise error("boom", request=request)

        host.answer = fail
        confirmer = SubscriptionConfirmer(http, sns_client_factory=None)
        with pytest.raises(Unavailable, match="could not request the SubscribeURL") as caught:
            await confirmer.confirm(confirmation)
        assert isinstance(caught.value.__cause__, error)


class TestOnlySubscriptionConfirmations:
    @pytest.mark.parametrize("through", ["api", "url"])
    async def test_an_unsubscribe_confirmation_is_never_confirmed(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient, through: str
    ) -> None:
        message = parse(signer.make_unsubscribe_confirmation(topic_arn=TOPIC))

        def unused(region: str) -> Any:
            raise AssertionError("no client should be built")

        factory = unused if through == "api" else None
        confirmer = SubscriptionConfirmer(http, sns_client_factory=factory)
        with pytest.raises(ValueError, match="only a SubscriptionConfirmation is confirmed"):
            await confirmer.confirm(message)
        assert host.requests == []


_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in _CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


class TestMakeSnsClientFactory:
    def test_none_without_credentials(self, no_aws_credentials: pytest.MonkeyPatch) -> None:
        assert make_sns_client_factory() is None

    def test_one_client_per_region_with_credentials(
        self, no_aws_credentials: pytest.MonkeyPatch
    ) -> None:
        no_aws_credentials.setenv("AWS_ACCESS_KEY_ID", "testing")
        no_aws_credentials.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        factory = make_sns_client_factory()
        assert factory is not None
        client = factory("eu-west-1")
        assert client.meta.region_name == "eu-west-1"
        assert client.meta.service_model.service_name == "sns"
        assert factory("eu-west-1") is client
        assert factory("us-east-1").meta.region_name == "us-east-1"
