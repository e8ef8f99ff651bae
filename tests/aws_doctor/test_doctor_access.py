"""A read AWS refuses is a warning naming the IAM permission, and the checks that needed
it are left out (never guessed); no credentials or no AWS at all stop the run (exit 4).
moto never refuses: the refusals are botocore Stubber answers (see conftest)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from botocore.config import Config

from tests.aws_doctor.conftest import Aws, doctor, good_account, named
from tests.cli_runs import invoke
from tests.live import free_port


@pytest.mark.parametrize(
    ("service", "method", "code", "permission", "left_out"),
    [
        ("sesv2", "get_account", "AccessDeniedException", "ses:GetAccount", "sandbox"),
        ("ses", "list_identities", "AccessDenied", "ses:ListIdentities", "identity"),
        (  # then every identity is judged, verified or not
            "ses", "get_identity_verification_attributes", "AccessDenied",
            "ses:GetIdentityVerificationAttributes", "unverified-identity",
        ),
        (
            "ses", "get_identity_notification_attributes", "AccessDenied",
            "ses:GetIdentityNotificationAttributes", "identity",
        ),
        (
            "sns", "list_subscriptions_by_topic", "AuthorizationError",
            "sns:ListSubscriptionsByTopic", "subscription",
        ),
        (
            "sns", "get_topic_attributes", "AuthorizationError", "sns:GetTopicAttributes",
            "signature-version",
        ),
    ],
)  # fmt: skip
def test_a_refused_read_is_a_warning_naming_the_permission(
    aws: Aws,
    tmp_path: Path,
    service: str,
    method: str,
    code: str,
    permission: str,
    left_out: str,
) -> None:
    settings = good_account(aws)
    # What the refused read would have reported, had it been allowed:
    aws.account["ProductionAccessEnabled"] = False  # sandbox, from GetAccount
    aws.identity("bare.example")  # an identity publishing nothing
    aws.sns.create_topic(Name="ses-unsubscribed")
    unsubscribed = "arn:aws:sns:us-east-1:123456789012:ses-unsubscribed"
    aws.signatures[unsubscribed] = "1"
    aws.refuse(service, method, code, "User is not authorized to perform this action")
    code_, findings = doctor(
        {"SNS_TOPIC_ARNS": f"{settings['SNS_TOPIC_ARNS']},{unsubscribed}"}, tmp_path
    )
    [refused] = named(findings, "access")
    assert refused["severity"] == "warning"
    assert permission in refused["message"]
    assert code in refused["message"]
    assert refused["fix"] == f"allow {permission} to these credentials (IAM policy)"
    # The checks that needed the answer are left out, not guessed.
    assert named(findings, left_out) == []
    assert code_ == int(any(f["severity"] == "error" for f in findings))


def test_another_refusal_is_a_warning_without_a_permission(aws: Aws, tmp_path: Path) -> None:
    settings = good_account(aws)
    aws.refuse("sesv2", "get_account", "BadRequestException", "The request is invalid")
    code, findings = doctor(settings, tmp_path)
    assert code == 0
    [refused] = named(findings, "access")
    assert refused["message"] == (
        "could not check account: GetAccount: BadRequestException: The request is invalid"
    )
    assert refused["fix"] is None


def test_no_credentials_exits_4(aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = invoke({"DATA_DIR": str(tmp_path), **good_account(aws)}, "aws", "doctor")
    assert result.exit_code == 4, result.output
    assert "no usable AWS credentials" in result.stderr
    assert result.stdout == ""


def test_no_answer_from_aws_exits_4(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", nowhere)
    result = invoke({"DATA_DIR": str(tmp_path), "SNS_TOPIC_ARNS": ""}, "aws", "doctor")
    assert result.exit_code == 4, result.output
    assert f"could not reach {nowhere}" in result.stderr


def test_an_endpoint_that_never_answers_exits_4(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A firewall that drops the packets, or a host that takes the connection and says
    nothing, is no answer from AWS, as a refused connection is: not "0 errors"."""
    from app.aws_wiring import doctor_clients

    # Shorter than the operator's wait, so the test takes a second, not a minute.
    quick = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1})
    monkeypatch.setattr(doctor_clients, "_CONFIG", quick)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel takes the connection; nobody answers
        where = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", where)
        result = invoke({"DATA_DIR": str(tmp_path), **good_account(aws)}, "aws", "doctor")
    assert result.exit_code == 4, result.output
    assert f"could not reach {where}" in result.stderr
    assert result.stdout == ""
