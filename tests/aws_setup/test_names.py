"""What the wiring is, from the prefix (pure): names, policies, endpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.aws_wiring import names
from app.aws_wiring.setup_request import check_endpoint, masked, same_endpoint
from app.errors import InvalidInput

README = Path(__file__).resolve().parents[2] / "README.md"
ARN = "arn:aws:sns:us-east-1:123456789012:ses-bounces"


def test_the_delivery_policy_is_the_readmes() -> None:
    text = README.read_text(encoding="utf-8")
    marker = "--attribute-name DeliveryPolicy --attribute-value '"
    start = text.index(marker) + len(marker)
    assert json.loads(text[start : text.index("'", start)]) == names.DELIVERY_POLICY


def test_the_longest_prefix_still_names_destinations_ses_accepts() -> None:
    prefix = names.check_prefix("p" * names.MAX_PREFIX)
    wanted = names.destinations(prefix, delivery=True, subscription=True)
    assert max(len(d.name) for d in wanted) == 64  # SES's limit for a destination name
    with pytest.raises(InvalidInput, match="--topic-prefix"):
        names.check_prefix("p" * (names.MAX_PREFIX + 1))


def test_leaving_kinds_out() -> None:
    both = names.destinations("ses", delivery=True, subscription=True)
    assert [(d.name, d.event_types) for d in both] == [
        ("ses-bounces", ("BOUNCE",)),
        ("ses-complaints", ("COMPLAINT", "SUBSCRIPTION")),
        ("ses-deliveries", ("DELIVERY",)),
    ]
    neither = names.destinations("ses", delivery=False, subscription=False)
    assert [(d.name, d.event_types) for d in neither] == [
        ("ses-bounces", ("BOUNCE",)),
        ("ses-complaints", ("COMPLAINT",)),
    ]
    assert names.notification_types(delivery=False) == ("Bounce", "Complaint")


def test_a_policy_as_aws_may_answer_it_is_the_same_policy() -> None:
    wanted = names.topic_policy(ARN, partition="aws", account="123456789012")
    answered = json.loads(json.dumps(wanted))
    answered["Statement"][0]["Action"] = ["SNS:Publish"]  # a list of one, as IAM may write it
    assert names.same_policy(json.dumps(answered, indent=2), wanted)
    answered["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] = "999999999999"
    assert not names.same_policy(json.dumps(answered), wanted)
    assert not names.same_policy(None, wanted)
    assert not names.same_policy("not json", wanted)
    assert names.describe_policy(None) == "no policy"


def test_a_delivery_policy_with_keys_sns_adds_is_not_drift() -> None:
    extra = names.DELIVERY_POLICY | {"sicklyRetryPolicy": None, "guaranteed": False}
    assert names.has_delivery_policy(json.dumps(extra))
    fewer = json.loads(json.dumps(names.DELIVERY_POLICY))
    fewer["healthyRetryPolicy"]["numRetries"] = 3
    assert not names.has_delivery_policy(json.dumps(fewer))
    assert not names.has_delivery_policy(None)


def test_endpoints() -> None:
    with_password = "https://sns:s3cret@bouncer.example.com/sns"
    assert masked(with_password) == "https://sns:****@bouncer.example.com/sns"
    assert same_endpoint("https://sns:****@bouncer.example.com/sns", with_password)
    assert not same_endpoint("https://other.example.com/sns", with_password)
    assert check_endpoint("https://h.example/base/sns?x=1", allow_http=False).protocol == "https"
    assert check_endpoint("http://127.0.0.1:4566/sns", allow_http=True).protocol == "http"
    for bad in (
        "http://h.example/sns",
        "https:///sns",
        "https://h.example/sns#top",
        "ftp://h/sns",
        "https://h.example:99999/sns",
        "https://sns:s3cret@[::1/sns",
    ):
        with pytest.raises(InvalidInput) as caught:
            check_endpoint(bad, allow_http=False)
        assert caught.value.field == "endpoint"
        assert "s3cret" not in caught.value.message
