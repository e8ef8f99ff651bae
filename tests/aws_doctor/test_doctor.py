"""`bouncer aws doctor` on a good account (exit 0) and on one broken in each way SPEC §11
lists (the finding named, its severity, exit 1 for an error), through the CLI's entry
point against moto_server (and the Stubber for what moto lacks: see conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.aws_doctor.conftest import (
    ENDPOINT,
    Aws,
    doctor,
    good_account,
    named,
    severities,
)
from tests.cli_runs import invoke


class TestGoodAccount:
    def test_exit_0_with_only_the_drift_skipped(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        code, findings = doctor(settings, tmp_path)
        assert code == 0, findings
        [skipped] = findings
        assert (skipped["severity"], skipped["check"]) == ("info", "drift")
        assert "no database" in skipped["message"]
        assert aws.unused() == []  # every scripted answer was read
        assert not (tmp_path / "no-database-here").exists()  # none created

    def test_an_account_wide_pattern_trusts_the_topics(self, aws: Aws, tmp_path: Path) -> None:
        good_account(aws)
        code, findings = doctor({"SNS_TOPIC_ARNS": "arn:aws:sns:*:123456789012:*"}, tmp_path)
        assert code == 0, findings
        assert named(findings, "trust") == []
        assert aws.unused() == []  # the topics were read as those SES publishes to

    def test_the_given_endpoint_is_the_one_subscribed(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        code, _ = doctor(settings, tmp_path, "--endpoint", ENDPOINT)
        assert code == 0

    def test_text_output_groups_by_severity(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        aws.identity("shop.example", forwarding=True)  # publishes nothing: an error
        aws.account["ProductionAccessEnabled"] = False  # info
        aws.account["SuppressionAttributes"] = {"SuppressedReasons": []}  # a warning
        result = invoke(
            {"AWS_REGION": "us-east-1", "DATA_DIR": str(tmp_path), **settings}, "aws", "doctor"
        )
        assert result.exit_code == 1, result.output
        out = result.stdout
        assert out.index("errors (1)") < out.index("warnings (1)") < out.index("info (2)")
        assert "identity shop.example publishes no bounces or complaints" in out
        assert "fix: bouncer aws setup --endpoint https://bouncer.example.com/sns" in out
        assert out.rstrip().endswith("us-east-1: 1 error(s), 1 warning(s), 2 info")


class TestPublishing:
    def test_an_identity_publishing_nothing_is_an_error(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        aws.identity("news.example.com")
        code, findings = doctor(settings, tmp_path)
        assert code == 1
        [gap] = named(findings, "identity")
        assert (gap["severity"], gap["resource"]) == ("error", "news.example.com")
        assert "no bounces or complaints" in gap["message"]
        assert gap["fix"] == (
            "bouncer aws setup --endpoint https://bouncer.example.com/sns --region us-east-1 "
            "--identity news.example.com"
        )

    @pytest.mark.parametrize("status", ["Pending", "Failed", "TemporaryFailure", "NotStarted"])
    def test_an_identity_not_verified_is_not_judged(
        self, aws: Aws, tmp_path: Path, status: str
    ) -> None:
        """ListIdentities lists identities whatever their verification status; one not
        verified sends nothing, and SES refuses its notification topics (the fix would
        fail): info, not an error."""
        settings = good_account(aws)
        aws.identity("stale.example", status=status)
        code, findings = doctor(settings, tmp_path)
        assert code == 0, findings
        assert named(findings, "identity") == []
        [unverified] = named(findings, "unverified-identity")
        assert (unverified["severity"], unverified["resource"]) == ("info", "stale.example")
        assert status in unverified["message"]

    def test_complaints_alone_missing_is_named(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        bounces = settings["SNS_TOPIC_ARNS"].split(",")[0]
        aws.identity("half.example", bounce=bounces)
        code, findings = doctor(settings, tmp_path)
        assert code == 1
        [gap] = named(findings, "identity")
        assert "publishes no complaints to SNS" in gap["message"]

    def test_a_topic_bouncer_does_not_trust_is_an_error(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        other = aws.topic("marketing-feedback")
        aws.subscribe(other)
        aws.identity("promo.example", bounce=other, complaint=other)
        code, findings = doctor(settings, tmp_path)
        assert code == 1
        [untrusted] = named(findings, "trust")
        assert untrusted["severity"] == "error"
        assert other in untrusted["message"]
        assert "SNS_TOPIC_ARNS" in untrusted["message"]
        assert untrusted["fix"] == f"add {other} to SNS_TOPIC_ARNS and restart bouncer"

    def test_an_empty_sns_topic_arns_is_an_error(self, aws: Aws, tmp_path: Path) -> None:
        good_account(aws)
        code, findings = doctor({"SNS_TOPIC_ARNS": ""}, tmp_path)
        assert code == 1
        assert any(
            f["resource"] == "SNS_TOPIC_ARNS" and "refuses every SNS message" in f["message"]
            for f in named(findings, "trust")
        )

    def test_feedback_forwarding_is_a_warning(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        topics = settings["SNS_TOPIC_ARNS"].split(",")
        aws.identity("ann@example.org", bounce=topics[0], complaint=topics[1], forwarding=True)
        code, findings = doctor(settings, tmp_path)
        assert code == 0
        [forwarding] = named(findings, "feedback-forwarding")
        assert forwarding["severity"] == "warning"
        assert "double mail" in forwarding["message"]
        assert forwarding["fix"].endswith("--identity ann@example.org")

    def test_identity_and_configuration_set_both_publishing_is_harmless(
        self, aws: Aws, tmp_path: Path
    ) -> None:
        settings = good_account(aws)
        bounces, complaints, _ = settings["SNS_TOPIC_ARNS"].split(",")
        aws.configuration_set(
            "transactional", b=[bounces, "bounce"], c=[complaints, "complaint", "delivery"]
        )
        code, findings = doctor(settings, tmp_path)
        assert code == 0
        [both] = named(findings, "both-publishing")
        assert (both["severity"], both["resource"], both["fix"]) == (
            "info", "transactional", None,
        )  # fmt: skip
        assert "harmless" in both["message"]
        assert "bouncer counts each bounce and complaint once" in both["message"]

    def test_a_configuration_set_not_publishing(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        bounces = settings["SNS_TOPIC_ARNS"].split(",")[0]
        aws.configuration_set("metrics-only", b=[bounces, "bounce"])
        code, findings = doctor(settings, tmp_path)
        # Every identity's notifications still carry its complaints: a warning.
        assert code == 0
        [gap] = named(findings, "configuration-set")
        assert gap["severity"] == "warning"
        assert "configuration set metrics-only publishes no complaints" in gap["message"]
        assert gap["fix"].endswith("--configuration-set metrics-only")

        aws.identity("bare.example")  # now one identity publishes nothing either
        code, findings = doctor(settings, tmp_path)
        assert code == 1
        assert {f["severity"] for f in named(findings, "configuration-set")} == {"error"}

    def test_an_identity_covered_by_ses_configuration_set(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        bounces = settings["SNS_TOPIC_ARNS"].split(",")[0]
        aws.configuration_set("bouncer", d=[bounces, "bounce", "complaint"])
        aws.identity("bulk.example")
        code, findings = doctor(settings | {"SES_CONFIGURATION_SET": "bouncer"}, tmp_path)
        assert code == 0, findings
        [gap] = named(findings, "identity")
        assert gap["severity"] == "warning"
        assert "configuration set bouncer (SES_CONFIGURATION_SET)" in gap["message"]

    def test_ses_configuration_set_that_does_not_exist(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        code, findings = doctor(settings | {"SES_CONFIGURATION_SET": "gone"}, tmp_path)
        assert code == 1
        [missing] = named(findings, "configuration-set")
        assert "does not exist" in missing["message"]
        assert missing["fix"].startswith("aws sesv2 create-configuration-set")


class TestTopics:
    def test_no_subscription_to_bouncer(self, aws: Aws, tmp_path: Path) -> None:
        topics = [aws.topic(f"ses-{k}") for k in ("bounces", "complaints")]
        aws.subscribe(topics[0])
        aws.subscribe(topics[1], "https://elsewhere.example/hooks")
        aws.identity("example.com", bounce=topics[0], complaint=topics[1], delivery=topics[0])
        code, findings = doctor({"SNS_TOPIC_ARNS": ",".join(topics)}, tmp_path)
        assert code == 1
        [missing] = named(findings, "subscription")
        assert (missing["severity"], missing["resource"]) == ("error", topics[1])
        # A topic `bouncer aws setup` would manage: its prefix, and the endpoint in use.
        assert missing["fix"] == (
            "bouncer aws setup --endpoint https://bouncer.example.com/sns --region us-east-1 "
            "--topic-prefix ses"
        )

    def test_the_endpoint_given_must_be_the_one_subscribed(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        code, findings = doctor(settings, tmp_path, "--endpoint", "https://new.example/sns")
        assert code == 1
        assert len(named(findings, "subscription")) == 3
        assert all("https://new.example/sns" in f["message"] for f in findings if f["fix"])

    def test_another_topic_name_gets_the_aws_cli_fix(self, aws: Aws, tmp_path: Path) -> None:
        topic = aws.topic("feedback")
        aws.identity("example.com", bounce=topic, complaint=topic, delivery=topic)
        code, findings = doctor({"SNS_TOPIC_ARNS": topic}, tmp_path)
        assert code == 1
        [missing] = named(findings, "subscription")
        assert missing["fix"] == (
            f"aws sns subscribe --region us-east-1 --topic-arn {topic} --protocol https "
            "--notification-endpoint https://YOUR-BOUNCER-HOST/sns"
        )

    def test_a_pending_subscription(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        late = aws.topic("late-bounces")
        aws.subscribe(late, pending=True)
        aws.identity("late.example", bounce=late, complaint=late, delivery=late)
        code, findings = doctor(
            settings | {"SNS_TOPIC_ARNS": f"{settings['SNS_TOPIC_ARNS']},{late}"}, tmp_path
        )
        assert code == 1
        [pending] = named(findings, "pending-confirmation")
        assert (pending["severity"], pending["resource"]) == ("error", late)
        # Subscribing again makes SNS resend the confirmation: bouncer holds no token to
        # confirm with when it refused the first (403: the topic not yet trusted).
        assert pending["fix"] == (
            "bouncer aws setup --endpoint https://bouncer.example.com/sns --region us-east-1 "
            "--topic-prefix late"
        )
        assert f"bouncer subscriptions confirm {late}" in pending["message"]
        assert named(findings, "subscription") == []

    def test_raw_delivery_is_an_error(self, aws: Aws, tmp_path: Path) -> None:
        topic = aws.topic("ses-bounces")
        subscription = aws.subscribe(topic, raw=True)
        aws.identity("example.com", bounce=topic, complaint=topic, delivery=topic)
        code, findings = doctor({"SNS_TOPIC_ARNS": topic}, tmp_path)
        assert code == 1
        [raw] = named(findings, "raw-delivery")
        assert raw["resource"] == subscription
        assert "no signature" in raw["message"]
        assert "--attribute-name RawMessageDelivery --attribute-value false" in raw["fix"]

    @pytest.mark.parametrize("version", ["1", None])
    def test_signature_version_1_is_a_warning(
        self, aws: Aws, tmp_path: Path, version: str | None
    ) -> None:
        topic = aws.topic("ses-bounces", signature=version)
        aws.subscribe(topic)
        aws.identity("example.com", bounce=topic, complaint=topic, delivery=topic)
        code, findings = doctor({"SNS_TOPIC_ARNS": topic}, tmp_path)
        assert code == 0
        [signing] = named(findings, "signature-version")
        assert (signing["severity"], signing["resource"]) == ("warning", topic)
        assert "SignatureVersion 1" in signing["message"]
        assert "--attribute-name SignatureVersion --attribute-value 2" in signing["fix"]

    def test_a_topic_that_does_not_exist(self, aws: Aws, tmp_path: Path) -> None:
        # No topic scripted: GetTopicAttributes goes to moto, which says NotFound.
        gone = "arn:aws:sns:us-east-1:123456789012:ses-deleted"
        aws.identity("example.com", bounce=gone, complaint=gone)
        code, findings = doctor({"SNS_TOPIC_ARNS": gone}, tmp_path)
        assert code == 1
        [missing] = named(findings, "topic")
        assert missing["message"] == (
            f"topic {gone} does not exist (named by identity example.com)"
        )
        assert missing["fix"].endswith("--region us-east-1 --identity example.com")


class TestAccount:
    @pytest.mark.parametrize(
        ("answer", "severity", "words"),
        [
            ({"SendingEnabled": False}, "error", "sending is disabled"),
            ({"EnforcementStatus": "SHUTDOWN", "SendingEnabled": False}, "error", "SHUTDOWN"),
            ({"EnforcementStatus": "PROBATION"}, "warning", "(EnforcementStatus PROBATION)"),
        ],
    )  # fmt: skip
    def test_sending(
        self, aws: Aws, tmp_path: Path, answer: dict[str, object], severity: str, words: str
    ) -> None:
        settings = good_account(aws)
        aws.account.update(answer)
        code, findings = doctor(settings, tmp_path)
        assert code == (1 if severity == "error" else 0)
        [sending] = named(findings, "sending")
        assert sending["severity"] == severity
        assert words in sending["message"]

    def test_the_sandbox_is_info(self, aws: Aws, tmp_path: Path) -> None:
        settings = good_account(aws)
        aws.account["ProductionAccessEnabled"] = False
        code, findings = doctor(settings, tmp_path)
        assert code == 0
        [sandbox] = named(findings, "sandbox")
        assert sandbox["severity"] == "info"
        assert "Request production access" in sandbox["fix"]

    @pytest.mark.parametrize(
        ("reasons", "words"), [([], "off in"), (["BOUNCE"], "off for complaints")]
    )
    def test_the_account_suppression_list_off(
        self, aws: Aws, tmp_path: Path, reasons: list[str], words: str
    ) -> None:
        settings = good_account(aws)
        aws.account["SuppressionAttributes"] = {"SuppressedReasons": reasons}
        code, findings = doctor(settings, tmp_path)
        assert code == 0
        [listed] = named(findings, "account-suppression-list")
        assert listed["severity"] == "warning"
        assert words in listed["message"]
        assert listed["fix"] == (
            "aws sesv2 put-account-suppression-attributes --region us-east-1 "
            "--suppressed-reasons BOUNCE COMPLAINT"
        )


def test_json_is_a_list_of_findings_errors_first(aws: Aws, tmp_path: Path) -> None:
    settings = good_account(aws)
    aws.identity("bare.example")
    aws.account.update(ProductionAccessEnabled=False, EnforcementStatus="PROBATION")
    code, findings = doctor(settings, tmp_path)
    assert code == 1
    assert all(set(f) == {"severity", "check", "resource", "message", "fix"} for f in findings)
    order = [f["severity"] for f in findings]
    assert order == sorted(order, key=["error", "warning", "info"].index)
    assert severities(findings) == {"error", "warning", "info"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--endpoint", "bouncer.example.com/sns"), "--endpoint"),
        (("--endpoint", "https://[::1/sns"), "--endpoint"),
        (("--endpoint", "https://bouncer.example.com:99999/sns"), "--endpoint"),
        (("--endpoint", "ftp://sns:s3cret@bouncer.example.com/sns"), "--endpoint"),
        (("--region", "moon-1"), "--region"),
        (("--simulate", "--from", "not an address"), "--from"),
        (("--format", "yaml"), "--format"),
    ],
)
def test_bad_input_exits_2(aws: Aws, tmp_path: Path, args: tuple[str, ...], words: str) -> None:
    result = invoke({"DATA_DIR": str(tmp_path)}, "aws", "doctor", *args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert "Traceback" not in result.output
    assert "s3cret" not in result.output
    assert aws.stubbers == []  # AWS never asked


def test_the_endpoints_password_is_never_shown(aws: Aws, tmp_path: Path) -> None:
    """SNS shows a basic-auth password as ****; so does the doctor, in what it found and
    in the fix commands (whose **** the operator fills in)."""
    settings = good_account(aws)
    given = "https://sns:s3cret@new.example/sns"
    result = invoke(
        {"AWS_REGION": "us-east-1", "DATA_DIR": str(tmp_path), **settings},
        "aws", "doctor", "--endpoint", given,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "s3cret" not in result.output
    assert "has no subscription to bouncer (https://sns:****@new.example/sns)" in result.stdout
    assert "fix: bouncer aws setup --endpoint 'https://sns:****@new.example/sns'" in result.stdout
