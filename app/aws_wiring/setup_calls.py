"""One AWS call of ``bouncer aws setup``, and any failure of it as one line naming the step.

A refusal names the permission (IAM action names are the API's operation names, under
the service's signing name: ``sns:CreateTopic``, ``ses:SetIdentityNotificationTopic``),
a missing or rejected credential names where the standard chain looks, an unreachable
endpoint names the URL and the setting that points at an emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# boto3 clients are built from service models at run time; no stubs cover SES v1 or STS.
Client = Any

# What each service answers when the credentials may not do what was asked.
_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "AuthorizationErrorException",
    "UnauthorizedOperation",
}
# ... and when it does not accept the credentials themselves.
_BAD_CREDENTIALS = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
}
_CHAIN = (
    "the standard chain: AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(and AWS_SESSION_TOKEN), or an instance or task role"
)


class SetupFailed(Exception):
    """AWS refused a step or could not be asked: ``message`` is the line to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Call:
    """One AWS API call, planned before it is made: ``service`` is a client's name."""

    service: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict)


def permission(client: Client, operation: str) -> str:
    return f"{client.meta.service_model.signing_name}:{operation}"


def _one_line(text: object, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _endpoint_setting(client: Client) -> str:
    service_id = client.meta.service_model.service_id
    return "AWS_ENDPOINT_URL_" + str(service_id).upper().replace(" ", "_")


def call(
    client: Client,
    step: str,
    operation: str,
    *,
    caller: str = "",
    absent: str | None = None,
    **params: Any,
) -> Any:
    """``client.<operation>(**params)``; any failure raises SetupFailed naming ``step``.

    With ``absent``, the error code that means "no such thing" answers None instead.
    """
    from botocore import xform_name
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    action = permission(client, operation)
    try:
        return getattr(client, xform_name(operation))(**params)
    except ClientError as err:
        if absent is not None and err.response.get("Error", {}).get("Code") == absent:
            return None
        raise SetupFailed(f"{step}: {_refused(err, action, caller)}") from None
    except (NoCredentialsError, PartialCredentialsError) as err:
        raise SetupFailed(
            f"{step}: no usable AWS credentials ({_one_line(err)}): set them "
            f"as the AWS CLI takes them, {_CHAIN}"
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as err:
        url = err.kwargs.get("endpoint_url") or client.meta.endpoint_url
        raise SetupFailed(
            f"{step}: could not reach {url} for {action} ({type(err).__name__}): check the "
            f"network and --region, or {_endpoint_setting(client)} when using an emulator"
        ) from None
    except BotoCoreError as err:
        raise SetupFailed(
            f"{step}: {action} failed ({type(err).__name__}: {_one_line(err)})"
        ) from None


def _refused(err: Any, action: str, caller: str) -> str:
    error = err.response.get("Error", {})
    code = str(error.get("Code", "?"))
    said = _one_line(error.get("Message", ""))
    if code in _DENIED:
        who = caller or "these credentials"
        return (
            f"AWS denied {action} to {who} ({code}): allow {action} in their IAM policy "
            "and run setup again"
        )
    if code in _BAD_CREDENTIALS:
        return f"AWS did not accept the credentials ({code}: {said}): check {_CHAIN}"
    return f"AWS refused {action} ({code}: {said})"
