"""The AWS clients ``bouncer aws doctor`` reads through, and what a refused read becomes.

The clients come from the standard AWS credential chain; an emulator is reached through
``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_SNS`` / ``_SES`` / ``_SESV2`` (SPEC §11), which
boto3 reads itself. A read AWS refuses (AccessDenied) is a warning naming the IAM
permission it needs, and the checks that needed its answer are left out; no
credentials, or no answer at all, stops the run (``AwsUnreachable``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from app.aws_wiring.findings import CheckName, Finding, warning

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client
    from types_boto3_sns.client import SNSClient

T = TypeVar("T")

# A read is safe to repeat: botocore's standard retries (throttling, 5xx) with short
# time-outs, so an unreachable endpoint is said within seconds.
_CONFIG = Config(
    connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 3}
)
# SNS says AuthorizationError; SES v1 AccessDenied; SES v2 AccessDeniedException.
_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation"}
)

_DETAIL = 300


class AwsUnreachable(Exception):
    """No credentials, or AWS (or the emulator) did not answer: nothing can be checked."""


@dataclass
class DoctorClients:
    """SNS, SES v1 (identity notifications, configuration sets' event destinations) and
    SES v2 (the account) in one region. ``ses`` is typed Any: no stubs for SES v1 here."""

    region: str
    sns: SNSClient
    ses: Any
    sesv2: SESV2Client

    def close(self) -> None:
        for client in (self.sns, self.ses, self.sesv2):
            client.close()


def connect(region: str) -> DoctorClients:
    """Clients for ``region``; each its own session (boto3's default one is not thread-safe)."""
    sns = boto3.session.Session().client("sns", region_name=region, config=_CONFIG)
    ses = boto3.session.Session().client("ses", region_name=region, config=_CONFIG)
    sesv2 = boto3.session.Session().client("sesv2", region_name=region, config=_CONFIG)
    return DoctorClients(region, sns, ses, sesv2)


def permission(client: Any, operation: str) -> str:
    """The IAM action an operation needs: ``sns:ListTopics``, ``ses:GetAccount`` (SES v1
    and v2 share the ``ses`` prefix, their signing name)."""
    return f"{client.meta.service_model.signing_name}:{operation}"


@dataclass(frozen=True)
class _Failure:
    operation: str
    permission: str
    code: str
    detail: str
    denied: bool


@dataclass
class Reads:
    """Runs reads, keeping what AWS refused or failed to answer: one finding per failure,
    naming every resource it kept from being checked (a refused permission refuses the
    same call on each topic)."""

    _failed: dict[_Failure, list[str]] = field(default_factory=dict)

    @property
    def problems(self) -> list[Finding]:
        return [_finding(failure, resources) for failure, resources in self._failed.items()]

    def call(
        self,
        client: Any,
        operation: str,
        resource: str,
        read: Callable[[], T],
        *,
        absent: T | None = None,
    ) -> T | None:
        """``read()``; ``absent`` when AWS says the resource does not exist; None after
        noting why it could not be read."""
        try:
            return read()
        except (NoCredentialsError, NoRegionError) as err:
            raise AwsUnreachable(
                f"no usable AWS credentials or region ({err}): configure the standard AWS "
                "credential chain (environment variables, a profile or an instance role)"
            ) from err
        # A refused connection, or one that never answers (packets dropped, a host that
        # takes it and says nothing): no answer from AWS either way, not a check skipped.
        except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as err:
            raise AwsUnreachable(
                f"could not reach {client.meta.endpoint_url} ({err}): check the region, "
                "AWS_ENDPOINT_URL* and the network path to AWS"
            ) from err
        except ClientError as err:
            if absent is not None and is_not_found(err):
                return absent
            error = err.response.get("Error", {})
            code = error.get("Code", "")
            failure = _Failure(
                operation,
                permission(client, operation),
                code,
                _line(error.get("Message", "") or str(err)),
                code in _DENIED,
            )
        except BotoCoreError as err:
            failure = _Failure(operation, permission(client, operation), "", _line(str(err)), False)
        resources = self._failed.setdefault(failure, [])
        if resource not in resources:
            resources.append(resource)
        return None


def _line(text: str) -> str:
    """One line, however AWS (or an emulator's HTML error page) wrote it."""
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL else text[: _DETAIL - 1] + "…"


def _finding(failure: _Failure, resources: list[str]) -> Finding:
    shown = ", ".join(resources[:3]) + (
        f" and {len(resources) - 3} more" if len(resources) > 3 else ""
    )
    said = f"{failure.code}: {failure.detail}" if failure.code else failure.detail
    if failure.denied:
        return warning(
            CheckName.ACCESS,
            shown,
            f"could not check {shown}: {failure.permission} was refused ({said})",
            f"allow {failure.permission} to these credentials (IAM policy)",
        )
    return warning(CheckName.ACCESS, shown, f"could not check {shown}: {failure.operation}: {said}")


def is_not_found(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code", "") in {"NotFound", "NotFoundException"}
