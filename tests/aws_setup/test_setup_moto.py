"""``bouncer aws setup`` against moto_server on loopback: an empty account, twice, a dry
run, drift put back, bad input, and AWS that cannot be asked.

moto answers SignatureVersion and identity notification topics here only because the
fixture (conftest) teaches it to, from its own model; every other answer is moto's own.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.aws_setup.conftest import (
    ACCOUNT,
    ARNS,
    ENDPOINT,
    SNS_TOPIC_ARNS,
    client,
    read_back,
    setup_cli,
    step_lines,
)
from tests.cli_runs import spawn
from tests.ses.conftest import REGION

README = Path(__file__).resolve().parents[2] / "README.md"
DOMAIN = "example.com"


def _verified(moto: str, *identities: str) -> None:
    ses = client(moto, "ses")
    for identity in identities:
        ses.verify_domain_identity(Domain=identity)


def _readme_delivery_policy() -> object:
    text = README.read_text(encoding="utf-8")
    start = text.index("--attribute-name DeliveryPolicy --attribute-value '") + len(
        "--attribute-name DeliveryPolicy --attribute-value '"
    )
    return json.loads(text[start : text.index("'", start)])


def test_an_empty_account_gets_every_resource(moto: str, tmp_path: Path) -> None:
    _verified(moto, DOMAIN)
    env = {"DATA_DIR": str(tmp_path / "no-data-dir")}
    # The console script itself, as its own process, with no database configured.
    run = spawn(tmp_path, env, "aws", "setup", "--endpoint", ENDPOINT, "--identity", DOMAIN)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "no-data-dir").exists()
    lines = run.stdout.splitlines()
    assert lines[0] == f"account {ACCOUNT} (arn:aws:sts::{ACCOUNT}:user/moto), region {REGION}"
    assert lines[-1] == SNS_TOPIC_ARNS
    assert lines[1:-1] == [
        "topic ses-bounces: created",
        "topic ses-complaints: created",
        "topic ses-deliveries: created",
        f"subscription of ses-bounces to {ENDPOINT}: created",
        f"subscription of ses-complaints to {ENDPOINT}: created",
        f"subscription of ses-deliveries to {ENDPOINT}: created",
        "identity example.com Bounce notifications to ses-bounces: updated (was none)",
        "identity example.com Complaint notifications to ses-complaints: updated (was none)",
        "identity example.com Delivery notifications to ses-deliveries: updated (was none)",
        "identity example.com feedback forwarding off: updated (was on)",
    ]

    wiring = read_back(moto, (DOMAIN,))
    assert set(wiring.topics) == set(ARNS.values())
    for arn, topic in wiring.topics.items():
        assert topic["SignatureVersion"] == "2"
        [statement] = topic["Policy"]["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
        assert statement["Action"] == "SNS:Publish"
        assert statement["Resource"] == arn
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:ses:*:{ACCOUNT}:*"},
        }
        [subscription] = wiring.subscriptions[arn]
        assert subscription["Protocol"] == "https"
        assert subscription["Endpoint"] == ENDPOINT
        assert subscription["RawMessageDelivery"] == "false"
        # README step 6's policy, as the README writes it.
        assert subscription["DeliveryPolicy"] == _readme_delivery_policy()
    notifications = wiring.identities[DOMAIN]
    assert notifications["BounceTopic"] == ARNS["bounces"]
    assert notifications["ComplaintTopic"] == ARNS["complaints"]
    assert notifications["DeliveryTopic"] == ARNS["deliveries"]
    assert notifications["ForwardingEnabled"] is False


def test_running_twice_changes_nothing(moto: str, tmp_path: Path) -> None:
    _verified(moto, DOMAIN, "example.org")
    args = ("--endpoint", ENDPOINT, "--identity", DOMAIN, "--identity", "example.org")
    first = setup_cli(tmp_path, *args)
    assert first.exit_code == 0, first.output
    after_first = read_back(moto, (DOMAIN, "example.org"))

    second = setup_cli(tmp_path, *args)
    assert second.exit_code == 0, second.output
    steps = step_lines(second)
    assert len(steps) == 6 + 2 * 4
    assert all(line.endswith(": exists") for line in steps), steps
    assert read_back(moto, (DOMAIN, "example.org")) == after_first
    assert second.stdout.splitlines()[-1] == first.stdout.splitlines()[-1] == SNS_TOPIC_ARNS


def test_a_dry_run_changes_nothing(moto: str, tmp_path: Path) -> None:
    _verified(moto, DOMAIN)
    before = read_back(moto, (DOMAIN,))
    run = setup_cli(tmp_path, "--endpoint", ENDPOINT, "--identity", DOMAIN, "--dry-run")
    assert run.exit_code == 0, run.output
    steps = step_lines(run)
    assert steps[0] == "topic ses-bounces: would be created"
    assert steps[3] == f"subscription of ses-bounces to {ENDPOINT}: would be created"
    assert steps[-1] == "identity example.com feedback forwarding off: would be updated (was on)"
    assert "dry run: nothing was changed" in run.stderr
    assert read_back(moto, (DOMAIN,)) == before
    assert before.topics == {}


def test_drift_is_put_back(moto: str, tmp_path: Path) -> None:
    _verified(moto, DOMAIN)
    args = ("--endpoint", ENDPOINT, "--identity", DOMAIN)
    assert setup_cli(tmp_path, *args).exit_code == 0
    wired = read_back(moto, (DOMAIN,))

    sns, ses = client(moto, "sns"), client(moto, "ses")
    bounces_sub = sns.list_subscriptions_by_topic(TopicArn=ARNS["bounces"])["Subscriptions"][0]
    sns.set_subscription_attributes(
        SubscriptionArn=bounces_sub["SubscriptionArn"],
        AttributeName="RawMessageDelivery",
        AttributeValue="true",
    )
    complaints_sub = sns.list_subscriptions_by_topic(TopicArn=ARNS["complaints"])
    sns.set_subscription_attributes(
        SubscriptionArn=complaints_sub["Subscriptions"][0]["SubscriptionArn"],
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps({"healthyRetryPolicy": {"numRetries": 3}}),
    )
    sns.set_topic_attributes(
        TopicArn=ARNS["deliveries"], AttributeName="SignatureVersion", AttributeValue="1"
    )
    anyone = {"Statement": [{"Sid": "Anyone", "Effect": "Allow", "Principal": "*",
                             "Action": "SNS:Publish", "Resource": ARNS["deliveries"]}]}  # fmt: skip
    sns.set_topic_attributes(
        TopicArn=ARNS["deliveries"], AttributeName="Policy", AttributeValue=json.dumps(anyone)
    )
    elsewhere = sns.create_topic(Name="somebody-elses")["TopicArn"]
    ses.set_identity_notification_topic(
        Identity=DOMAIN, NotificationType="Bounce", SnsTopic=elsewhere
    )
    ses.set_identity_feedback_forwarding_enabled(Identity=DOMAIN, ForwardingEnabled=True)

    dry = setup_cli(tmp_path, *args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert read_back(moto, (DOMAIN,)) != wired  # the dry run put nothing back

    run = setup_cli(tmp_path, *args)
    assert run.exit_code == 0, run.output
    changed = [line for line in step_lines(run) if not line.endswith(": exists")]
    assert changed == [
        "topic ses-deliveries: updated (was SignatureVersion 1; a policy with statements Anyone)",
        f"subscription of ses-bounces to {ENDPOINT}: updated (was RawMessageDelivery true)",
        f"subscription of ses-complaints to {ENDPOINT}: updated (was another DeliveryPolicy)",
        f"identity example.com Bounce notifications to ses-bounces: updated (was {elsewhere})",
        "identity example.com feedback forwarding off: updated (was on)",
    ]
    assert [line.replace("would be updated", "updated") for line in step_lines(dry)] == (
        step_lines(run)
    )
    after = read_back(moto, (DOMAIN,))
    after.topics.pop(elsewhere)
    after.subscriptions.pop(elsewhere)
    assert after == wired


@pytest.mark.parametrize(
    ("endpoint", "said"),
    [
        ("http://bouncer.example.com/sns", "is not a valid https:// URL"),
        ("bouncer.example.com/sns", "is not a valid https:// URL"),
        ("https://bouncer.example.com/", "does not end in /sns"),
        ("https://bouncer.example.com/sns/extra", "does not end in /sns"),
        ("https://sns:secret@bouncer.example.com/v1", "does not end in /sns"),
    ],
)
def test_a_bad_endpoint_is_refused_before_aws_is_asked(
    moto: str, tmp_path: Path, endpoint: str, said: str
) -> None:
    run = setup_cli(tmp_path, "--endpoint", endpoint)
    assert run.exit_code == 2
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith("error: --endpoint ")
    assert said in line
    assert "secret" not in line
    assert client(moto, "sns").list_topics()["Topics"] == []


def test_allow_http_subscribes_an_emulator_over_http(moto: str, tmp_path: Path) -> None:
    endpoint = "http://127.0.0.1:8000/sns"
    run = setup_cli(tmp_path, "--endpoint", endpoint, "--allow-http")
    assert run.exit_code == 0, run.output
    wiring = read_back(moto)
    assert [s["Protocol"] for subs in wiring.subscriptions.values() for s in subs] == ["http"] * 3


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--topic-prefix", "ses bounces"), "--topic-prefix"),
        (("--topic-prefix", "x" * 54), "--topic-prefix"),
        (("--configuration-set", "a/b"), "--configuration-set"),
        (("--identity", ""), "--identity"),
        (("--region", "Mars"), "region 'Mars'"),
    ],
)
def test_other_bad_input_is_exit_2(
    moto: str, tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    run = setup_cli(tmp_path, "--endpoint", ENDPOINT, *args)
    assert run.exit_code == 2, run.output
    [line] = run.stderr.splitlines()
    assert said in line
    assert client(moto, "sns").list_topics()["Topics"] == []


def test_an_unknown_identity_stops_before_any_change(moto: str, tmp_path: Path) -> None:
    run = setup_cli(tmp_path, "--endpoint", ENDPOINT, "--identity", "not-verified.example")
    assert run.exit_code == 1
    last = run.stderr.splitlines()[-1]
    assert last.startswith("error: identity not-verified.example: not an SES identity in us-east-1")
    assert client(moto, "sns").list_topics()["Topics"] == []


def test_no_credentials_is_one_line(
    moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    run = setup_cli(tmp_path, "--endpoint", ENDPOINT)
    assert run.exit_code == 1
    [line] = run.stderr.splitlines()
    assert line.startswith("error: reading the account: no usable AWS credentials")
    assert "AWS_PROFILE" in line
    assert "Traceback" not in run.output


def test_an_unreachable_endpoint_is_one_line(
    moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", closed)
    run = setup_cli(tmp_path, "--endpoint", ENDPOINT)
    assert run.exit_code == 1
    last = run.stderr.splitlines()[-1]
    assert last.startswith(f"error: reading topic ses-bounces: could not reach {closed}")
    assert "AWS_ENDPOINT_URL_SNS" in last
    assert "Traceback" not in run.output
    assert run.stdout.splitlines()[1:] == []  # the account line only: no step was taken


@pytest.mark.parametrize("region", [None, "us-east-1"])
def test_a_profile_that_does_not_exist_is_one_line(
    moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, region: str | None
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    run = setup_cli(tmp_path, "--endpoint", ENDPOINT, *(("--region", region) if region else ()))
    assert run.exit_code == 1
    [line] = run.stderr.splitlines()
    assert line.startswith("error: reading the AWS configuration: ")
    assert "no-such-profile" in line
    assert "AWS_PROFILE" in line
