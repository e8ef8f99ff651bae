"""SES's account-level suppression list on the wire: list, get, put and delete (SPEC §7).

Plain functions over a boto3 ``sesv2`` client, one region each (each region keeps its own
list). boto3 blocks, so callers run them in a thread (``asyncio.to_thread``), as
app.sending does with SendEmail. Every failure that survives the bounded back-off becomes
one ``SesListUnavailable`` whose message says what to check; a missing address is an
answer (``None``, ``False``), not an error.

https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_ListSuppressedDestinations.html
https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_GetSuppressedDestination.html
https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_PutSuppressedDestination.html
https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_DeleteSuppressedDestination.html
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as ConnectFailed

from app.errors import SesListUnavailable
from app.ses.failures import Backoff

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client

SesReason = Literal["BOUNCE", "COMPLAINT"]
"""The two reasons SES's list knows, spelt as SES spells them (SuppressionListReason)."""

# The IAM actions a sync needs, named in every "access denied" message.
ACTIONS = (
    "ses:ListSuppressedDestinations",
    "ses:GetSuppressedDestination",
    "ses:PutSuppressedDestination",
    "ses:DeleteSuppressedDestination",
)
# The page size asked for: the bigger the page, the fewer calls against the account's API
# request rate, which SES enforces per region with TooManyRequestsException (HTTP 429):
# https://docs.aws.amazon.com/ses/latest/dg/quotas.html
MAX_PAGE_SIZE = 1000
# botocore makes one attempt; the retries are this module's (below), so the bound is one
# number, counted, and what a test scripts is what production does. All four operations
# are idempotent (a Put again rewrites the same entry, a Delete again answers
# NotFoundException), so retrying after a time-out cannot do harm.
SUPPRESSION_CONFIG = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "total_max_attempts": 1},
)
# SES's management API shares the account's per-second request rate with every other
# caller, so a sync backs off longer than a send: 24 to 47 s in all before giving up.
SYNC_BACKOFF = Backoff(retries=6, base=1.0, cap=16.0)

# TooManyRequestsException is SES v2's own (HTTP 429); the rest are the codes botocore's
# standard retry mode treats as throttling (botocore/retries/standard.py).
_THROTTLING = frozenset(
    {"TooManyRequestsException", "Throttling", "ThrottlingException", "ThrottledException"}
    | {"RequestThrottledException", "RequestLimitExceeded", "RequestThrottled", "SlowDown"}
    | {"PriorRequestNotComplete"}
)
_TRANSIENT = frozenset({"RequestTimeout", "RequestTimeoutException", "InternalFailure"})
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
_CREDENTIALS = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "ExpiredToken"}
    | {"InvalidClientTokenId", "ExpiredTokenException", "SignatureDoesNotMatch"}
    | {"InvalidSignatureException"}
)

T = TypeVar("T")


@dataclass(frozen=True)
class Pacing:
    """How the calls retry: the back-off, and the sleep that waits it out (a test's records)."""

    backoff: Backoff = SYNC_BACKOFF
    sleep: Callable[[float], None] = time.sleep


PACING = Pacing()


@dataclass(frozen=True)
class SesEntry:
    """One entry of SES's list for one region."""

    email: str
    """Exactly as SES holds it: its management API matches case exactly."""
    reason: str
    """``BOUNCE`` or ``COMPLAINT`` as SES spells it (kept as SES sent it if it ever adds
    another; app.suppression.ses_plan reports such an entry)."""
    last_update: datetime
    """SES's LastUpdateTime, aware, in UTC."""


def make_client(region: str, *, endpoint_url: str | None = None) -> SESV2Client:
    """A sesv2 client for one region's list, with SUPPRESSION_CONFIG."""
    # A session of its own: boto3's default session is not thread-safe to create.
    # https://boto3.amazonaws.com/v1/documentation/api/latest/guide/session.html
    return boto3.session.Session().client(
        "sesv2", region_name=region, endpoint_url=endpoint_url, config=SUPPRESSION_CONFIG
    )


def list_suppressed(
    client: SESV2Client,
    *,
    start_date: datetime | None = None,
    on_page: Callable[[int], None] | None = None,
    page_size: int = MAX_PAGE_SIZE,
    pacing: Pacing = PACING,
) -> list[SesEntry]:
    """Every entry of the client's region, page after page (ListSuppressedDestinations).

    ``start_date``: only entries SES added or updated after it, for an incremental pull.
    SES's filter is coarse, so pass the previous pass's start less a margin: an entry seen
    twice is harmless (the plan is idempotent), one missed is not. ``on_page(n)`` is called
    after each page with the number of entries it held (a progress bar's advance).
    """
    params: dict[str, Any] = {"PageSize": page_size}
    if start_date is not None:
        params["StartDate"] = start_date
    entries: list[SesEntry] = []
    while True:
        page = _call(client, "ListSuppressedDestinations", pacing, absent_ok=False)(
            lambda: client.list_suppressed_destinations(**params)
        )
        summaries = page.get("SuppressedDestinationSummaries", [])
        entries += [_entry(summary) for summary in summaries]
        if on_page is not None:
            on_page(len(summaries))
        if not (token := page.get("NextToken")):
            return entries
        params["NextToken"] = token


def get_suppressed(client: SESV2Client, email: str, *, pacing: Pacing = PACING) -> SesEntry | None:
    """SES's entry for exactly ``email`` (case included), or None when SES holds none."""
    try:
        answer = _call(client, "GetSuppressedDestination", pacing, absent_ok=True)(
            lambda: client.get_suppressed_destination(EmailAddress=email)
        )
    except _Absent:
        return None
    return _entry(answer["SuppressedDestination"])


def put_suppressed(
    client: SESV2Client, email: str, reason: SesReason, *, pacing: Pacing = PACING
) -> None:
    """Add ``email`` to the region's list (or rewrite its entry) with ``reason``."""
    _call(client, "PutSuppressedDestination", pacing, absent_ok=False)(
        lambda: client.put_suppressed_destination(EmailAddress=email, Reason=reason)
    )


def delete_suppressed(client: SESV2Client, email: str, *, pacing: Pacing = PACING) -> bool:
    """Remove exactly ``email`` (SES matches case exactly); False when SES held no such entry
    (already gone: the goal is met, so not an error)."""
    try:
        _call(client, "DeleteSuppressedDestination", pacing, absent_ok=True)(
            lambda: client.delete_suppressed_destination(EmailAddress=email)
        )
    except _Absent:
        return False
    return True


class _Absent(Exception):
    """SES answered NotFoundException where that is an answer (get, delete)."""


def _entry(summary: Any) -> SesEntry:
    # botocore parses LastUpdateTime (epoch seconds on the wire) into an aware datetime.
    last_update: datetime = summary["LastUpdateTime"]
    if last_update.tzinfo is None:
        last_update = last_update.replace(tzinfo=UTC)
    return SesEntry(
        email=summary["EmailAddress"],
        reason=summary["Reason"],
        last_update=last_update.astimezone(UTC),
    )


def _call(
    client: SESV2Client, operation: str, pacing: Pacing, *, absent_ok: bool
) -> Callable[[Callable[[], T]], T]:
    """A runner of one SES call, retried with back-off while SES throttles or is briefly
    unreachable; any other failure becomes SesListUnavailable."""

    def run(call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except (ClientError, BotoCoreError) as err:
                if absent_ok and _code(err) == "NotFoundException":
                    raise _Absent from err
                if attempt <= pacing.backoff.retries and _is_transient(err):
                    pacing.sleep(pacing.backoff.delay(attempt))
                    continue
                raise _unavailable(err, client, operation, attempts=attempt) from err

    return run


def _code(err: Exception) -> str:
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code") or "Unknown")
    return type(err).__name__


def _is_unreachable(err: Exception) -> bool:
    """No connection, no answer in time, or SES failing on its side (5xx)."""
    if isinstance(err, ClientError):
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return _code(err) in _TRANSIENT or status in _TRANSIENT_STATUS
    return isinstance(err, ConnectFailed | ReadTimeoutError)


def _is_transient(err: Exception) -> bool:
    return _code(err) in _THROTTLING or _is_unreachable(err)


def _unavailable(
    err: Exception, client: SESV2Client, operation: str, *, attempts: int
) -> SesListUnavailable:
    """What went wrong, in words an operator can act on, with SES's own code."""
    region = client.meta.region_name
    code = _code(err)
    detail = str(err)
    if isinstance(err, ClientError):
        detail = str(err.response.get("Error", {}).get("Message") or code).rstrip(".")
    region_wide = True
    if code in _CREDENTIALS:
        message = (
            f"SES refused bouncer's AWS credentials for {operation} in {region} ({code}: "
            f"{detail}). Check the credential chain and that its IAM policy allows "
            f"{', '.join(ACTIONS)} in {region}"
        )
    elif code in _THROTTLING:
        # https://docs.aws.amazon.com/ses/latest/dg/quotas.html
        message = (
            f"SES kept throttling {operation} in {region} ({code}) through {attempts} "
            "attempts: the account's API request rate is shared with every other caller. "
            "Try again later, sync less often (SES_SYNC_INTERVAL_SECONDS), or ask AWS for a "
            "higher rate"
        )
    elif _is_unreachable(err):
        message = (
            f"could not reach SES at {client.meta.endpoint_url} for {operation} "
            f"({attempts} attempts): {detail}. Check the region (SES_SYNC_REGIONS, "
            "AWS_REGION), SES_ENDPOINT_URL and the network path to SES"
        )
    elif "Credential" in code:
        message = (
            f"no usable AWS credentials for SES in {region} ({detail}): configure the "
            "standard AWS credential chain (environment variables, a profile or an "
            "instance role)"
        )
    elif isinstance(err, ClientError):
        region_wide = False
        message = f"SES refused {operation} in {region} ({code}): {detail}"
    else:
        # botocore refused before sending (a parameter SES's model does not allow).
        region_wide = False
        message = f"bouncer could not call SES {operation} in {region}: {detail}"
    return SesListUnavailable(message, ses_code=code, region=region, is_region_wide=region_wide)
