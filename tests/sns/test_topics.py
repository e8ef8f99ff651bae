"""SNS_TOPIC_ARNS matching and topic ARN parsing."""

from __future__ import annotations

import logging

import pytest

from app.arns import check_pattern
from app.errors import EnvelopeInvalid, TopicNotAllowed
from app.sns.topics import TopicAllowlist, region_of_topic
from tests.conftest import AppMaker

ACCOUNT_WIDE = "arn:aws:sns:*:123456789012:*"


class TestTopicAllowlist:
    def test_exact_arn_allows_only_itself(self) -> None:
        allowlist = TopicAllowlist(["arn:aws:sns:us-east-1:123456789012:ses"])
        assert allowlist.is_allowed("arn:aws:sns:us-east-1:123456789012:ses")
        assert not allowlist.is_allowed("arn:aws:sns:us-east-1:123456789012:ses2")
        assert not allowlist.is_allowed("arn:aws:sns:us-east-1:123456789012:se")
        assert not allowlist.is_allowed("arn:aws:sns:us-west-2:123456789012:ses")

    @pytest.mark.parametrize(
        "arn",
        [
            "arn:aws:sns:us-east-1:123456789012:ses",
            "arn:aws:sns:eu-central-1:123456789012:bounces-prod",
            "arn:aws:sns:us-gov-west-1:123456789012:x",
        ],
    )
    def test_account_wildcard_allows_that_accounts_topics(self, arn: str) -> None:
        assert TopicAllowlist([ACCOUNT_WIDE]).is_allowed(arn)

    @pytest.mark.parametrize(
        "arn",
        [
            "arn:aws:sns:us-east-1:1234567890123:x",
            "arn:aws:sns:us-east-1:023456789012:x",
            "arn:aws:sns:us-east-1:12345678901:x",
            "arn:aws:sns:us-east-1:923456789012:123456789012",
            "arn:aws:sqs:us-east-1:123456789012:x",
            "arn:aws-cn:sns:cn-north-1:123456789012:x",
        ],
    )
    def test_account_wildcard_refuses_near_misses(self, arn: str) -> None:
        assert not TopicAllowlist([ACCOUNT_WIDE]).is_allowed(arn)

    def test_name_prefix_wildcard(self) -> None:
        allowlist = TopicAllowlist(["arn:aws:sns:us-east-1:123456789012:ses-*"])
        assert allowlist.is_allowed("arn:aws:sns:us-east-1:123456789012:ses-bounces")
        assert not allowlist.is_allowed("arn:aws:sns:us-east-1:123456789012:other")

    def test_regex_characters_in_an_entry_are_literal(self) -> None:
        allowlist = TopicAllowlist(["arn:aws:sns:us-east-1:123456789012:a.b"])
        assert allowlist.is_allowed("arn:aws:sns:us-east-1:123456789012:a.b")
        assert not allowlist.is_allowed("arn:aws:sns:us-east-1:123456789012:aXb")

    def test_star_alone_allows_any_topic(self) -> None:
        allowlist = TopicAllowlist(["*"])
        assert allowlist.allows_any
        assert allowlist.is_allowed("arn:aws:sns:ap-south-1:999999999999:anything")
        allowlist.check("arn:aws:sns:ap-south-1:999999999999:anything")

    def test_a_wildcard_entry_is_not_allows_any(self) -> None:
        assert not TopicAllowlist([ACCOUNT_WIDE]).allows_any

    def test_empty_list_refuses_and_names_the_topic_to_add(self) -> None:
        arn = "arn:aws:sns:us-east-1:123456789012:ses"
        with pytest.raises(TopicNotAllowed) as caught:
            TopicAllowlist([]).check(arn)
        assert caught.value.message == (
            f"SNS_TOPIC_ARNS is empty: no topic is accepted; add {arn} to accept this one"
        )

    def test_blank_entries_are_ignored(self) -> None:
        allowlist = TopicAllowlist(["", "  "])
        assert allowlist.patterns == ()
        assert not allowlist.is_allowed("")

    def test_unlisted_topic_is_refused_with_the_fix(self) -> None:
        arn = "arn:aws:sns:us-east-1:999999999999:ses"
        with pytest.raises(TopicNotAllowed) as caught:
            TopicAllowlist([ACCOUNT_WIDE]).check(arn)
        assert caught.value.message == (
            f"topic {arn} is not in SNS_TOPIC_ARNS: add it to accept its messages"
        )

    def test_entries_are_trimmed(self) -> None:
        allowlist = TopicAllowlist([" arn:aws:sns:us-east-1:123456789012:ses "])
        assert allowlist.is_allowed("arn:aws:sns:us-east-1:123456789012:ses")


class TestRegionOfTopic:
    @pytest.mark.parametrize(
        ("arn", "region"),
        [
            ("arn:aws:sns:us-east-1:123456789012:ses", "us-east-1"),
            ("arn:aws-cn:sns:cn-north-1:123456789012:ses", "cn-north-1"),
            ("arn:aws-us-gov:sns:us-gov-west-1:123456789012:ses", "us-gov-west-1"),
            ("arn:aws:sns:eu-central-1:123456789012:ses.fifo", "eu-central-1"),
        ],
    )
    def test_reads_the_region(self, arn: str, region: str) -> None:
        assert region_of_topic(arn) == region

    @pytest.mark.parametrize(
        "arn",
        [
            "",
            "arn:aws:sns:us-east-1:12345678901:ses",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:a:b",
            "arn:aws:sqs:us-east-1:123456789012:ses",
            "arn:aws:sns:US-EAST-1:123456789012:ses",
            "arn:aws:sns:us-east-1:123456789012:ses\n",
            "arn:aws:sns::123456789012:ses",
            "arn:aws:sns:us-east-1:123456789012:s e s",
        ],
    )
    def test_refuses_what_is_not_a_topic_arn(self, arn: str) -> None:
        with pytest.raises(EnvelopeInvalid, match="is not an SNS topic ARN"):
            region_of_topic(arn)


ACCOUNT = "123456789012"
LONG_NAME = "N" * 251 + "-_x9z"  # 256 characters, the longest name SNS allows


class TestWildcardsStayInOneField:
    """``*`` matches within one ARN field (no ":"), as IAM resource ARNs do, so no pattern
    reaches across the account field into a topic name."""

    @pytest.mark.parametrize(
        ("pattern", "arn", "allowed"),
        [
            # The pattern: it names no field, so it matches no topic at all.
            (f"*{ACCOUNT}*", f"arn:aws:sns:us-east-1:999999999999:x{ACCOUNT}", False),
            (f"*{ACCOUNT}*", f"arn:aws:sns:us-east-1:{ACCOUNT}:ses", False),
            (f"arn:aws:sns:*:{ACCOUNT}:*", f"arn:aws:sns:us-east-1:{ACCOUNT}:ses", True),
            (f"arn:aws:sns:*:{ACCOUNT}:*", f"arn:aws:sns:us-east-1:{ACCOUNT}:{LONG_NAME}", True),
            (f"arn:aws:sns:*:{ACCOUNT}:*", f"arn:aws:sns:us-east-1:{ACCOUNT}:ses.fifo", True),
            (
                f"arn:aws:sns:*:{ACCOUNT}:*",
                f"arn:aws:sns:us-east-1:9{ACCOUNT[1:]}:{ACCOUNT}",
                False,
            ),
            # "*" in the region field cannot swallow the account.
            (f"arn:aws:sns:*{ACCOUNT}:*", f"arn:aws:sns:us-east-1:{ACCOUNT}:ses", False),
            (f"arn:aws:sns:*:*{ACCOUNT[6:]}:*", f"arn:aws:sns:us-east-1:{ACCOUNT}:ses", True),
            (
                f"arn:aws:sns:*:*{ACCOUNT[6:]}:*",
                f"arn:aws:sns:us-east-1:999999:{ACCOUNT[6:]}",
                False,
            ),
            # A name wildcard stays in the name.
            (
                f"arn:aws:sns:us-east-1:{ACCOUNT}:ses-*",
                f"arn:aws:sns:us-east-1:{ACCOUNT}:ses-b",
                True,
            ),
            ("arn:aws:sns:us-east-1:*:ses-*", "arn:aws:sns:us-east-1:999999999999:ses-b", True),
            (
                "arn:aws:sns:us-east-1:1*:*",
                f"arn:aws:sns:us-east-1:{ACCOUNT}:{LONG_NAME}.fifo",
                True,
            ),
            ("arn:aws:sns:us-east-1:1*:*", f"arn:aws:sns:us-east-1:2{ACCOUNT[1:]}:1x", False),
            (f"arn:*:sns:us-east-1:{ACCOUNT}:ses", f"arn:aws-cn:sns:us-east-1:{ACCOUNT}:ses", True),
            (f"arn:*:sns:us-east-1:{ACCOUNT}:ses", f"arn:aws:sns:us-east-1:{ACCOUNT}:a:ses", False),
            ("arn:aws:sns:*:*:*", f"arn:aws:sns:us-east-1:{ACCOUNT}:{LONG_NAME}", True),
        ],
    )
    def test_pattern_against_arn(self, pattern: str, arn: str, allowed: bool) -> None:
        assert TopicAllowlist([pattern]).is_allowed(arn) is allowed


class TestEveryAccountIsWarned:
    @pytest.mark.parametrize(
        "pattern",
        [
            "*",
            "arn:aws:sns:*:*:*",
            "arn:aws:sns:us-east-1:*:*",
            "arn:aws:sns:us-east-1:**:ses",
            "arn:*:*:*:*:*",
            # A wildcard anywhere in the account field: anyone can open AWS accounts until
            # one's id fits (about one in ten starts with 1), then create the topic.
            "arn:aws:sns:*:1*:*",
            "arn:aws:sns:*:12345678901*:*",
        ],
    )
    def test_a_pattern_for_every_account_is_as_wide_as_star(self, pattern: str) -> None:
        allowlist = TopicAllowlist([f"arn:aws:sns:us-east-1:{ACCOUNT}:ses", pattern])
        assert allowlist.allows_any
        warning = allowlist.warning()
        assert warning is not None
        assert pattern in warning
        assert "any AWS account" in warning

    @pytest.mark.parametrize(
        "pattern",
        [
            f"arn:aws:sns:*:{ACCOUNT}:*",
            f"arn:aws:sns:us-east-1:{ACCOUNT}:x",
            # An account id is 12 digits: stars around all 12 still name one account.
            f"arn:aws:sns:*:*{ACCOUNT}*:*",
        ],
    )
    def test_one_account_is_not_warned(self, pattern: str) -> None:
        allowlist = TopicAllowlist([pattern])
        assert not allowlist.allows_any
        assert allowlist.warning() is None


class TestPatternsThatMatchNothing:
    @pytest.mark.parametrize(
        "pattern",
        [
            f"*{ACCOUNT}*",
            "arn:aws:sns:us-east-1:123456789012",
            f"arn:aws:sns:us-east-1:{ACCOUNT}:ses:extra",
            f"arn:aws:sns::{ACCOUNT}:ses",
            "ses-bounces",
        ],
    )
    def test_refused_at_start_naming_the_setting(self, pattern: str) -> None:
        with pytest.raises(ValueError, match="SNS_TOPIC_ARNS") as caught:
            check_pattern(pattern)
        assert "arn:aws:sns:<region>:<account>:<topic>" in str(caught.value)


class TestStartUpWarning:
    @pytest.mark.parametrize("pattern", ["*", "arn:aws:sns:*:*:*", "arn:aws:sns:us-east-1:*:ses"])
    async def test_logged_when_the_service_starts(
        self, pattern: str, make_client: AppMaker, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="bouncer")
        client, _ = await make_client(SNS_TOPIC_ARNS=pattern)
        assert (await client.get("/healthz")).status_code == 200
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("any AWS account" in w and f"SNS_TOPIC_ARNS={pattern}:" in w for w in warnings)

    async def test_not_logged_for_one_account(
        self, make_client: AppMaker, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="bouncer")
        await make_client(SNS_TOPIC_ARNS=f"arn:aws:sns:*:{ACCOUNT}:*")
        assert not [r for r in caplog.records if "any AWS account" in r.getMessage()]
