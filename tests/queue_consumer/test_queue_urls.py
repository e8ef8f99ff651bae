"""What a queue URL says: region, name, and why a string is not one."""

from __future__ import annotations

import pytest

from app.sqs import queue_urls


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.us-east-1.amazonaws.com/123456789012/ses", "us-east-1"),
        ("https://sqs.eu-central-2.amazonaws.com/123456789012/ses", "eu-central-2"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/ses", "cn-north-1"),
        ("https://sqs.us-gov-west-1.amazonaws.com/123456789012/ses", "us-gov-west-1"),
        ("https://ap-southeast-2.queue.amazonaws.com/123456789012/ses", "ap-southeast-2"),
        (
            "https://vpce-0abc-1234.sqs.eu-west-1.vpce.amazonaws.com/123456789012/ses",
            "eu-west-1",
        ),
        ("http://127.0.0.1:4566/000000000000/ses", None),  # an emulator: AWS_REGION
        ("https://sqs.us-east-1.example.com/1/ses", None),  # not AWS's host
    ],
)
def test_region_of(url: str, region: str | None) -> None:
    assert queue_urls.region_of(url) == region


def test_name_of() -> None:
    assert queue_urls.name_of("https://sqs.us-east-1.amazonaws.com/123456789012/ses-q/") == "ses-q"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ses-queue", "is not an http(s) URL"),
        ("ftp://sqs.us-east-1.amazonaws.com/1/q", "is not an http(s) URL"),
        ("https://sqs.us-east-1.amazonaws.com", "names no queue"),
        ("https://sqs.us-east-1.amazonaws.com/", "names no queue"),
        ("https://[::1/1/q", "is not a URL"),
    ],
)
def test_problem_with(url: str, words: str) -> None:
    assert words in (queue_urls.problem_with(url) or "")


def test_a_queue_url_has_no_problem() -> None:
    assert queue_urls.problem_with("https://sqs.us-east-1.amazonaws.com/1/q") is None
