"""When a failed SES call may be retried, how long to wait, and what to tell the operator."""

from __future__ import annotations

import random
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as ConnectFailed

from app.errors import SesRejected

# Throttling is SES refusing before it sends, so a retry cannot send twice. The daily quota
# also throttles, but waiting seconds will not lift it:
# https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html
_THROTTLING = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})
_CREDENTIALS = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
    }
)
_ADVICE = {
    "MessageRejected": "SES rejected the message: {detail}. Check that the From address or its "
    "domain is verified in {region} (in the SES sandbox, every recipient too) and that the "
    "content carries no virus or blocked attachment",
    "MailFromDomainNotVerifiedException": "SES refused the custom MAIL FROM domain of the "
    "sender: {detail}. Check its MX and SPF records",
    "AccountSendingPausedException": "SES has paused sending for this AWS account in "
    "{region}: {detail}. See the reputation dashboard in the SES console, fix the cause, "
    "then ask AWS to resume sending",
    "AccountSuspendedException": "SES has permanently restricted sending for this AWS account "
    "in {region}: {detail}. Contact AWS Support",
    "SendingPausedException": "sending is paused for this account or for configuration set "
    "{configuration_set} in {region}: {detail}. Resume it in the SES console",
    "NotFoundException": "SES could not find something the request names in {region} "
    "(configuration set {configuration_set}, template {template}): {detail}",
    "BadRequestException": "SES found the request invalid: {detail}",
    "LimitExceededException": "SES says a limit was exceeded: {detail}. Check the sending "
    "quota of the account in {region}",
    "Throttling": "SES throttled the send ({detail}) and {attempts} attempt(s) did not get "
    "through. Slow down, or ask AWS for a higher sending quota in {region}",
}


@dataclass(frozen=True)
class FailureContext:
    region: str
    endpoint: str
    configuration_set: str | None
    template: str | None
    attempts: int


def is_retryable(err: Exception) -> bool:
    """Failures after which SES certainly did not send: throttling, no connection made."""
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        daily = "daily" in str(error.get("Message", "")).lower()
        return error.get("Code") in _THROTTLING and not daily
    return isinstance(err, ConnectFailed)


def rejection(err: ClientError | BotoCoreError, context: FailureContext) -> SesRejected:
    """What went wrong, in words an operator can act on, with SES's own code."""
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        detail = str(error.get("Message") or code)
        if code in _CREDENTIALS:
            template = "SES refused bouncer's AWS credentials ({code}: {detail}). Check the " + (
                "credential chain and that it may call ses:SendEmail in {region}"
            )
        else:
            template = _ADVICE.get("Throttling" if code in _THROTTLING else code, "")
            template = template or "SES refused the send ({code}): {detail}"
        return SesRejected(
            template.format(code=code, detail=detail.rstrip("."), **vars(context)), ses_code=code
        )
    code = type(err).__name__
    if isinstance(err, ConnectFailed):
        message = (
            f"could not connect to SES at {context.endpoint} ({context.attempts} attempt(s)): "
            f"{err}. Check AWS_REGION, SES_ENDPOINT_URL and the network path to SES"
        )
    elif isinstance(err, ReadTimeoutError):
        message = (
            f"SES did not answer in time ({err}); the message may have been sent, so check "
            "the SES sending activity before sending it again"
        )
    elif "Credential" in code:
        message = (
            f"no usable AWS credentials ({err}): configure the standard AWS credential chain "
            "(environment variables, a profile or an instance role)"
        )
    else:
        message = f"calling SES failed: {err}"
    return SesRejected(message, ses_code=code)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with "equal jitter": half the step fixed, half random.

    https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
    """

    retries: int = 3
    base: float = 0.5
    cap: float = 8.0

    def delay(self, retry: int) -> float:
        step = min(self.cap, self.base * 2.0 ** (retry - 1))
        return step / 2 + random.uniform(0, step / 2)  # noqa: S311  (jitter, not a secret)
