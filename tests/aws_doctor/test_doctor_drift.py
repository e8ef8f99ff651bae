"""The doctor's SPEC §7 drift: bouncer's list against SES's account-level list in the
region, when a database is there (the live SES list fake of tests/ses_sync, since moto
has no suppressed-destination operations), skipped without one, never creating one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aws_doctor.conftest import Aws, doctor, good_account, named
from tests.cli_runs import invoke
from tests.ses_sync.fake_ses import FakeSes, running_fake_ses


@pytest.fixture
def fake_ses(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSes]:
    """SES v2 (its suppression list) at the fake; SNS and SES v1 stay at moto_server."""
    with running_fake_ses() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", fake.url)
        yield fake


@pytest.mark.parametrize(("mode", "severity"), [("off", "info"), ("both", "warning")])
def test_drift_with_a_database(
    aws: Aws,
    fake_ses: FakeSes,
    database_url: str,
    tmp_path: Path,
    mode: str,
    severity: str,
) -> None:
    settings = good_account(aws) | {"DATABASE_URL": database_url}
    added = invoke(settings, "suppressions", "add", "ann@example.com", "--reason", "bounce")
    assert added.exit_code == 0, added.output
    fake_ses.hold("dee@example.com", "COMPLAINT")
    code, findings = doctor(settings | {"SES_SYNC": mode}, tmp_path)
    assert code == 0, findings
    [drift] = named(findings, "drift")
    assert (drift["severity"], drift["resource"]) == (severity, "us-east-1")
    assert "1 only in bouncer's, 1 only in SES's, 0 with different reasons" in drift["message"]
    assert "ListSuppressedDestinations" in fake_ses.operations()
    # Only read: the drift changed neither list.
    assert set(fake_ses.entries) == {"dee@example.com"}
    assert invoke(settings, "suppressions", "show", "dee@example.com").exit_code == 0


def test_no_drift_no_finding(
    aws: Aws, fake_ses: FakeSes, database_url: str, tmp_path: Path
) -> None:
    settings = good_account(aws) | {"DATABASE_URL": database_url}
    code, findings = doctor(settings, tmp_path)
    assert code == 0
    assert findings == []
    assert fake_ses.operations() == ["ListSuppressedDestinations"]


def test_a_refused_list_read_names_the_permission(
    aws: Aws, fake_ses: FakeSes, database_url: str, tmp_path: Path
) -> None:
    fake_ses.fail("ListSuppressedDestinations", code="AccessDeniedException", status=403)
    settings = good_account(aws) | {"DATABASE_URL": database_url}
    code, findings = doctor(settings, tmp_path)
    assert code == 0
    [refused] = named(findings, "access")
    assert (
        refused["fix"] == "allow ses:ListSuppressedDestinations to these credentials (IAM policy)"
    )
    assert named(findings, "drift") == []


def test_a_configured_database_that_is_missing_is_a_warning_and_stays_missing(
    aws: Aws, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.db"
    settings = good_account(aws) | {"DATABASE_URL": f"sqlite+aiosqlite:///{missing}"}
    code, findings = doctor(settings, tmp_path)
    assert code == 0
    [drift] = named(findings, "drift")
    assert drift["severity"] == "warning"
    assert "drift not checked" in drift["message"]
    assert "does not exist" in drift["message"]
    assert not missing.exists()
