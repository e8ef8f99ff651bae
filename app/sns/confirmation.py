"""Confirm an SNS subscription: through the ConfirmSubscription API, else its SubscribeURL."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
from botocore.exceptions import BotoCoreError, ClientError

from app.errors import ConfirmationRefused, Forbidden, Unavailable
from app.sns.certificates import check_subscribe_url
from app.sns.envelope import SUBSCRIPTION_CONFIRMATION, SnsMessage
from app.sns.topics import region_of_topic
from app.vocabulary import ConfirmedVia

SnsClientFactory = Callable[[str], Any]

log = logging.getLogger("bouncer.sns")

# A 4xx from SNS is a refusal (the token expired after its three days, the topic is
# gone, bouncer may not call ConfirmSubscription) that asking again will not change,
# except these, which say "too fast" or "too slow": retried as a 5xx is.
# https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html
_TRY_AGAIN_STATUSES = frozenset({408, 429})
_THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "Throttled", "ThrottledException", "RequestLimitExceeded"}
)
_XML_FIELD = {name: re.compile(f"<{name}>([^<]{{1,200}})</{name}>") for name in ("Code", "Message")}


@dataclass(frozen=True)
class Confirmation:
    """What confirming a subscription takes: from a SubscriptionConfirmation just verified,
    or from the subscription row an operator confirms later."""

    topic_arn: str
    token: str
    subscribe_url: str

    @property
    def region(self) -> str:
        return region_of_topic(self.topic_arn)

    @classmethod
    def of(cls, message: SnsMessage) -> Confirmation:
        if message.type != SUBSCRIPTION_CONFIRMATION or message.token is None:
            # An UnsubscribeConfirmation's SubscribeURL would re-subscribe: never follow it.
            raise ValueError(f"only a SubscriptionConfirmation is confirmed, not {message.type}")
        return cls(message.topic_arn, message.token, message.subscribe_url or "")


class SubscriptionConfirmer:
    """Confirms a subscription whose SubscriptionConfirmation has already been verified."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        sns_client_factory: SnsClientFactory | None,
        timeout: float = 5.0,
    ) -> None:
        self._http = http
        self._sns_client_factory = sns_client_factory
        self._timeout = timeout

    async def confirm(self, subscription: Confirmation | SnsMessage) -> ConfirmedVia:
        """Confirms a verified SubscriptionConfirmation (any other message is a ValueError), or
        what was kept of one; returns how. Raises Forbidden for a foreign SubscribeURL, or
        Unavailable."""
        if isinstance(subscription, SnsMessage):
            subscription = Confirmation.of(subscription)
        if self._sns_client_factory is not None:
            await self._confirm_by_api(subscription, self._sns_client_factory)
            return ConfirmedVia.API
        await self._confirm_by_url(subscription)
        return ConfirmedVia.URL

    async def _confirm_by_api(self, subscription: Confirmation, factory: SnsClientFactory) -> None:
        # AuthenticateOnUnsubscribe makes unsubscribing need AWS credentials, so a link
        # scanner that follows UnsubscribeURL in a forwarded message cannot drop us.
        # https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html
        def call() -> None:
            factory(subscription.region).confirm_subscription(
                TopicArn=subscription.topic_arn,
                Token=subscription.token,
                AuthenticateOnUnsubscribe="true",
            )

        try:
            await asyncio.to_thread(call)
        except ClientError as err:
            error = err.response.get("Error", {})
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = error.get("Code", "unknown")
            what = (
                f"ConfirmSubscription for {subscription.topic_arn} in {subscription.region} "
                f"({code}: {error.get('Message', '')})"
            )
            if _is_refusal(status, code):
                raise ConfirmationRefused(
                    f"SNS refused {what}: check that bouncer's AWS credentials allow "
                    "sns:ConfirmSubscription on the topic, or, if its token expired (three "
                    "days), subscribe the endpoint again"
                ) from err
            raise Unavailable(f"SNS could not answer {what}; SNS will retry") from err
        except BotoCoreError as err:
            raise Unavailable(
                f"could not call ConfirmSubscription for {subscription.topic_arn} in "
                f"{subscription.region}: {err}; SNS will retry"
            ) from err

    async def _confirm_by_url(self, subscription: Confirmation) -> None:
        url = subscription.subscribe_url
        check_subscribe_url(url, topic_region=subscription.region)
        try:
            response = await self._http.get(url, follow_redirects=False, timeout=self._timeout)
        except httpx.InvalidURL as err:
            # Passed the host rule but cannot be requested (httpx caps a URL at 64 KiB);
            # SNS's own SubscribeURLs are a few hundred characters.
            raise Forbidden(
                f"SubscribeURL cannot be requested ({err}); it was not requested"
            ) from err
        except httpx.HTTPError as err:
            raise Unavailable(
                f"could not request the SubscribeURL of {subscription.topic_arn}: "
                f"{type(err).__name__}: {err}; SNS will retry"
            ) from err
        if response.status_code == 200:
            return
        answered = (
            f"the SubscribeURL of {subscription.topic_arn} answered HTTP {response.status_code}"
        )
        code, message = (_xml_field(response.text, name) for name in ("Code", "Message"))
        if _is_refusal(response.status_code, code):
            said = ": ".join(part for part in (code, message) if part)
            raise ConfirmationRefused(
                f"{answered}{f' ({said})' if said else ''}: SNS refused to confirm the "
                "subscription; if its token expired (three days), subscribe the endpoint again"
            )
        raise Unavailable(f"{answered}; SNS will retry")


def _is_refusal(status: int | None, code: str | None) -> bool:
    """A 4xx that asking again will not change (not a throttle nor a time-out)."""
    if status is None or not 400 <= status < 500:
        return False
    return status not in _TRY_AGAIN_STATUSES and code not in _THROTTLED


def _xml_field(text: str, name: str) -> str | None:
    """The ``Code`` or ``Message`` of SNS's XML error answer, if it has one."""
    found = _XML_FIELD[name].search(text[:4096])
    return found.group(1).strip() if found else None


def make_sns_client_factory() -> SnsClientFactory | None:
    """A per-region SNS client factory, or None when no AWS credentials are available.

    Looking credentials up may ask the instance metadata service, so call it at start-up.
    A lookup that fails (a proxy in the way of the metadata service, a broken profile) is
    a warning and the SubscribeURL fallback, never a service that does not start (SPEC §4
    Edges). botocore bounds each metadata request (AWS_METADATA_SERVICE_TIMEOUT, 1 s, and
    AWS_METADATA_SERVICE_NUM_ATTEMPTS, 1), so the lookup takes seconds, not a TCP timeout.
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-imds-credentials.html
    """
    try:
        session = boto3.Session()
        credentials = session.get_credentials()
    except Exception as err:  # any failure here means: no credentials
        # botocore raises ProxyConnectionError (a BotoCoreError) for a refusing proxy, but a
        # profile or credential_process can fail with anything; the text names the cause.
        log.warning(
            "could not look up AWS credentials (%s: %s): subscriptions will be confirmed by "
            "requesting their SubscribeURL instead of the SNS API",
            type(err).__name__,
            str(err)[:300],
        )
        return None
    if credentials is None:
        return None
    clients: dict[str, Any] = {}
    # boto3 sessions are not thread-safe, its clients are: build each region's once.
    # https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients
    lock = threading.Lock()

    def factory(region: str) -> Any:
        with lock:
            if region not in clients:
                clients[region] = session.client("sns", region_name=region)
            return clients[region]

    return factory
