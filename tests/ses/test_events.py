"""parse_ses_event: both SES shapes, AWS's sample payloads, and anything else SNS may carry."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ses.events import SETUP_NOTICE_TEXT, TYPES, SesEvent, SesRecipient, parse_ses_event
from app.suppression import policy
from app.vocabulary import EventType

DATA = Path(__file__).resolve().parent.parent / "data" / "ses"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)

DOC_EVENT_ID = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
DOC_EVENT_FEEDBACK = "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000"


@dataclass(frozen=True)
class Sample:
    """What one file in tests/data/ses must parse to, and what SPEC §3 makes of it."""

    file: str
    shape: str
    type: str
    subtype: str | None
    ses_message_id: str
    feedback_id: str | None
    recipients: tuple[str, ...]
    verdict: policy.Verdict
    # Recipient -> suppression reason, for the recipients that get suppressed.
    suppressed: dict[str, str] = field(default_factory=dict)


SAMPLES = [
    Sample(
        "doc_event_bounce.json",
        "event",
        "Bounce",
        "General",
        DOC_EVENT_ID,
        DOC_EVENT_FEEDBACK,
        ("recipient@example.com",),
        policy.Verdict.HARD_BOUNCE,
        {"recipient@example.com": "bounce"},
    ),
    Sample(
        "doc_event_click.json",
        "event",
        "Click",
        None,
        DOC_EVENT_ID,
        None,
        ("recipient@example.com",),
        policy.Verdict.RECORD_ONLY,
    ),
    Sample(
        "doc_event_complaint.json",
        "event",
        "Complaint",
        "abuse",
        DOC_EVENT_ID,
        DOC_EVENT_FEEDBACK,
        ("recipient@example.com",),
        policy.Verdict.COMPLAINT,
        {"recipient@example.com": "complaint"},
    ),
    Sample(
        "doc_event_delivery.json",
        "event",
        "Delivery",
        None,
        DOC_EVENT_ID,
        None,
        ("recipient@example.com",),
        policy.Verdict.DELIVERY,
    ),
    Sample(
        "doc_event_deliverydelay.json",
        "event",
        "DeliveryDelay",
        "TransientCommunicationFailure",
        DOC_EVENT_ID,
        None,
        ("recipient@example.com",),
        policy.Verdict.RECORD_ONLY,
    ),
    Sample(
        "doc_event_open.json",
        "event",
        "Open",
        None,
        DOC_EVENT_ID,
        None,
        ("recipient@example.com",),
        policy.Verdict.RECORD_ONLY,
    ),
    Sample(
        # AWS's example really lists sender@example.com as the destination.
        "doc_event_reject.json",
        "event",
        "Reject",
        None,
        DOC_EVENT_ID,
        None,
        ("sender@example.com",),
        policy.Verdict.RECORD_ONLY,
    ),
    Sample(
        "doc_event_rendering_failure.json",
        "event",
        "RenderingFailure",
        None,
        DOC_EVENT_ID,
        None,
        ("recipient@example.com",),
        policy.Verdict.RECORD_ONLY,
    ),
    Sample(
        "doc_event_send.json",
        "event",
        "Send",
        None,
        DOC_EVENT_ID,
        None,
        ("recipient@example.com",),
        policy.Verdict.RECORD_ONLY,
    ),
    Sample(
        "doc_event_subscription.json",
        "event",
        "Subscription",
        "UnsubscribeHeader",
        "EXAMPLEe4bccb684-777bc8de-afa7-4970-92b0-f515137b1497-000000",
        None,
        ("recipient@example.com",),
        policy.Verdict.UNSUBSCRIBE,
        {"recipient@example.com": "unsubscribe"},
    ),
    Sample(
        "doc_notification_bounce_with_dsn.json",
        "notification",
        "Bounce",
        "General",
        "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
        "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
        ("jane@example.com",),
        policy.Verdict.HARD_BOUNCE,
        {"jane@example.com": "bounce"},
    ),
    Sample(
        "doc_notification_bounce_with_dsn_current_via_relay.json",
        "notification",
        "Bounce",
        "General",
        "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
        "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
        ("jane@example.com",),
        policy.Verdict.HARD_BOUNCE,
        {"jane@example.com": "bounce"},
    ),
    Sample(
        "doc_notification_bounce_without_dsn.json",
        "notification",
        "Bounce",
        "General",
        "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
        "00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000",
        ("jane@example.com", "richard@example.com"),
        policy.Verdict.HARD_BOUNCE,
        {"jane@example.com": "bounce", "richard@example.com": "bounce"},
    ),
    Sample(
        "doc_notification_complaint_with_feedback.json",
        "notification",
        "Complaint",
        "abuse",
        "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
        "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
        ("richard@example.com",),
        policy.Verdict.COMPLAINT,
        {"richard@example.com": "complaint"},
    ),
    Sample(
        "doc_notification_complaint_without_feedback.json",
        "notification",
        "Complaint",
        None,
        "0000013786031775-163e3910-53eb-4c8e-a04a-f29debf88a84-000000",
        "0000013786031775-fea503bc-7497-49e1-881b-a0379bb037d3-000000",
        ("richard@example.com",),
        policy.Verdict.COMPLAINT,
        {"richard@example.com": "complaint"},
    ),
    Sample(
        "doc_notification_delivery.json",
        "notification",
        "Delivery",
        None,
        "0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000",
        None,
        ("jane@example.com",),
        policy.Verdict.DELIVERY,
    ),
    Sample(
        "simulator_bounce.json",
        "notification",
        "Bounce",
        "General",
        "0100018264c6505e-66ca92ab-0593-41de-8df9-38b09a02a206-000000",
        "0100018264c6525d-e8967b05-82f8-4575-9413-34faff769528-000000",
        ("bounce@simulator.amazonses.com",),
        policy.Verdict.HARD_BOUNCE,
        {"bounce@simulator.amazonses.com": "bounce"},
    ),
    Sample(
        "simulator_complaint.json",
        "notification",
        "Complaint",
        "abuse",
        "0100018264c99e08-1aae1638-c00a-4c2b-93dd-acf9752adf56-000000",
        "0100018264c9a044-451ca066-90ad-47ac-ae48-df21fb8a2fe8-000000",
        ("complaint@simulator.amazonses.com",),
        policy.Verdict.COMPLAINT,
        {"complaint@simulator.amazonses.com": "complaint"},
    ),
    Sample(
        "simulator_delivery_complaint.json",
        "notification",
        "Delivery",
        None,
        "0100018264c99e08-1aae1638-c00a-4c2b-93dd-acf9752adf56-000000",
        None,
        ("complaint@simulator.amazonses.com",),
        policy.Verdict.DELIVERY,
    ),
    Sample(
        "simulator_delivery_ooto.json",
        "notification",
        "Delivery",
        None,
        "0100018264c78eba-a9093e0f-c835-49b7-ae65-36cfc8f953e8-000000",
        None,
        ("ooto@simulator.amazonses.com",),
        policy.Verdict.DELIVERY,
    ),
    Sample(
        "simulator_delivery_success.json",
        "notification",
        "Delivery",
        None,
        "0100018264c36c7b-ac2351f4-6f04-48b4-b7e8-6103fd770c00-000000",
        None,
        ("success@simulator.amazonses.com",),
        policy.Verdict.DELIVERY,
    ),
    Sample(
        # Transient/General: one soft bounce is counted, nothing is suppressed yet.
        "simulator_ooto_bounce.json",
        "notification",
        "Bounce",
        "General",
        "0100018264c78eba-a9093e0f-c835-49b7-ae65-36cfc8f953e8-000000",
        "0100018264c790f6-4eca7ee8-dd82-4f94-8b91-3b4917f769ec-000000",
        ("ooto@simulator.amazonses.com",),
        policy.Verdict.SOFT_BOUNCE,
    ),
    Sample(
        "simulator_suppressionlist_bounce.json",
        "notification",
        "Bounce",
        "General",
        "0100018264cb1724-66162d8a-49a7-47dc-97bf-c2ff5ece42fe-000000",
        "0100018264cb1933-e973f0c7-a4ba-483e-b8bc-baa99e217b9f-000000",
        ("suppressionlist@simulator.amazonses.com",),
        policy.Verdict.HARD_BOUNCE,
        {"suppressionlist@simulator.amazonses.com": "bounce"},
    ),
]


def read_sample(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def index_rows() -> dict[str, tuple[str, str]]:
    """INDEX.md's table: file -> (field=value, suppress)."""
    rows: dict[str, tuple[str, str]] = {}
    for line in read_sample("INDEX.md").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].endswith(".json"):
            rows[cells[0]] = (cells[1], cells[3])
    return rows


def index_suppressed(column: str) -> set[str]:
    """The addresses INDEX's "suppress" column says a SPEC §3 handler suppresses."""
    if column.startswith("none"):
        # "none (transient: …)", or "none for bounce/complaint suppression; x opted out
        # (unsubscribe)", which names the one address an unsubscribe suppresses.
        return set(re.findall(r"(\S+@\S+) opted out", column))
    return {part.strip() for part in column.split(";")}


def suppressing_reasons(event: SesEvent) -> dict[str, str]:
    """{recipient: reason} for the recipients this one event suppresses at once."""
    reasons = {
        recipient.email: policy.PERMANENT_REASON.get(policy.classify(event, recipient))
        for recipient in event.recipients
    }
    return {email: reason for email, reason in reasons.items() if reason is not None}


def make_bounce_body(**bounce: Any) -> dict[str, Any]:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "jane@example.com"}],
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": "fb-1",
        }
        | bounce,
        "mail": {
            "timestamp": "2016-01-27T14:59:30.000Z",
            "messageId": "msg-1",
            "source": "john@example.com",
            "destination": ["jane@example.com", "mary@example.com", "richard@example.com"],
        },
    }


def make_event_body(event_type: str, detail_key: str, detail: Any) -> dict[str, Any]:
    return {
        "eventType": event_type,
        detail_key: detail,
        "mail": {
            "timestamp": "2017-08-05T00:40:02.012Z",
            "messageId": "msg-2",
            "destination": ["recipient@example.com"],
        },
    }


def parse(body: Any) -> SesEvent:
    return parse_ses_event(json.dumps(body))


class TestSamples:
    @pytest.mark.parametrize("sample", SAMPLES, ids=[s.file for s in SAMPLES])
    def test_parses_to_the_documented_fields(self, sample: Sample) -> None:
        event = parse_ses_event(read_sample(sample.file))

        assert (event.shape, event.type, event.subtype) == (
            sample.shape,
            sample.type,
            sample.subtype,
        )
        assert event.ses_message_id == sample.ses_message_id
        assert event.feedback_id == sample.feedback_id
        assert tuple(r.email for r in event.recipients) == sample.recipients
        assert event.occurred_at is not None
        assert event.sent_at is not None
        assert event.source is not None

    @pytest.mark.parametrize("sample", SAMPLES, ids=[s.file for s in SAMPLES])
    def test_classification_matches_spec(self, sample: Sample) -> None:
        event = parse_ses_event(read_sample(sample.file))
        verdicts = {policy.classify(event, recipient) for recipient in event.recipients}

        assert verdicts == {sample.verdict}
        assert suppressing_reasons(event) == sample.suppressed

    @pytest.mark.parametrize("name", sorted(index_rows()))
    def test_suppression_matches_the_index_column(self, name: str) -> None:
        field_value, column = index_rows()[name]
        event = parse_ses_event(read_sample(name))
        suppressed = set(suppressing_reasons(event))

        assert suppressed == index_suppressed(column)
        key, _, value = field_value.partition("=")
        assert event.shape == {"eventType": "event", "notificationType": "notification"}[key]
        assert event.type == value.replace(" ", "")

    def test_every_file_is_covered_by_the_table_and_the_index(self) -> None:
        files = {path.name for path in DATA.glob("*.json")}
        assert files == {sample.file for sample in SAMPLES}
        assert files == set(index_rows())

    def test_both_shapes_of_one_bounce_share_feedback_id_and_recipients(self) -> None:
        notification = parse_ses_event(read_sample("doc_notification_bounce_with_dsn.json"))
        body = json.loads(read_sample("doc_notification_bounce_with_dsn.json"))
        body["eventType"] = body.pop("notificationType")
        published = parse(body)

        assert (notification.shape, published.shape) == ("notification", "event")
        assert published.feedback_id == notification.feedback_id
        assert published.recipients == notification.recipients

    def test_recipient_details_come_from_the_dsn(self) -> None:
        event = parse_ses_event(read_sample("doc_notification_bounce_with_dsn.json"))
        assert event.recipients == (
            SesRecipient(
                email="jane@example.com",
                status="5.1.1",
                action="failed",
                diagnostic_code="smtp; 550 5.1.1 <jane@example.com>... User",
            ),
        )

    def test_event_publishing_message_ends_in_a_newline(self) -> None:
        event = parse_ses_event(read_sample("doc_event_bounce.json") + "\n")
        assert event.type == "Bounce"


class TestSetupNotices:
    @pytest.mark.parametrize(
        "message",
        [SETUP_NOTICE_TEXT, SETUP_NOTICE_TEXT + "\n", f"  {SETUP_NOTICE_TEXT} "],
    )
    def test_event_publishing_validation_text(self, message: str) -> None:
        event = parse_ses_event(message)
        assert (event.shape, event.type, event.recipients) == ("event", "SetupNotice", ())

    def test_identity_subscription_succeeded(self) -> None:
        event = parse(
            {
                "notificationType": "AmazonSnsSubscriptionSucceeded",
                "message": "You have successfully subscribed your Amazon SNS topic "
                "'arn:aws:sns:us-east-1:123456789012:bounces' to receive 'Bounce' "
                "notifications from Amazon SES for identity 'example.com'.",
            }
        )
        assert (event.shape, event.type, event.recipients) == ("notification", "SetupNotice", ())
        assert policy.classify(event, SesRecipient("x@example.com")) is policy.Verdict.RECORD_ONLY

    def test_other_plain_text_is_unknown(self) -> None:
        event = parse_ses_event("Successfully validated SNS topic for Amazon SES.")
        assert (event.shape, event.type) == ("unknown", "Unknown")


class TestRecipients:
    def test_a_bounce_names_only_the_bounced_recipients(self) -> None:
        event = parse(make_bounce_body())
        assert [r.email for r in event.recipients] == ["jane@example.com"]

    @pytest.mark.parametrize(
        "bounced",
        [None, [], {}, "jane@example.com", [1, None, [], {"emailAddress": 7}, {"email": "x@y"}]],
        ids=["null", "empty", "object", "string", "junk-entries"],
    )
    def test_a_bounce_never_falls_back_to_mail_destination(self, bounced: Any) -> None:
        event = parse(make_bounce_body(bouncedRecipients=bounced))
        assert event.type == "Bounce"
        assert event.recipients == ()

    def test_malformed_entries_are_skipped_and_good_ones_kept(self) -> None:
        bounced = [
            "x",
            {"emailAddress": ""},
            {"emailAddress": "jane@example.com", "status": 511, "action": ["failed"]},
        ]
        event = parse(make_bounce_body(bouncedRecipients=bounced))
        assert event.recipients == (SesRecipient(email="jane@example.com"),)

    def test_email_is_kept_as_ses_wrote_it(self) -> None:
        event = parse(make_bounce_body(bouncedRecipients=[{"emailAddress": " Jane@Example.COM"}]))
        assert event.recipients[0].email == " Jane@Example.COM"

    def test_complaint_names_the_complained_recipients(self) -> None:
        body = make_event_body(
            "Complaint",
            "complaint",
            {"complainedRecipients": [{"emailAddress": "a@x.com"}, {"emailAddress": "b@x.com"}]},
        )
        assert [r.email for r in parse(body).recipients] == ["a@x.com", "b@x.com"]

    def test_delivery_names_its_recipients_with_the_smtp_response(self) -> None:
        body = make_event_body(
            "Delivery", "delivery", {"recipients": ["a@x.com"], "smtpResponse": "250 ok"}
        )
        assert parse(body).recipients == (SesRecipient("a@x.com", diagnostic_code="250 ok"),)

    def test_delivery_delay_names_the_delayed_recipients(self) -> None:
        event = parse_ses_event(read_sample("doc_event_deliverydelay.json"))
        assert event.recipients == (
            SesRecipient(
                "recipient@example.com",
                status="4.4.1",
                diagnostic_code="smtp; 421 4.4.1 Unable to connect to remote host",
            ),
        )

    @pytest.mark.parametrize(
        ("event_type", "detail_key"),
        [
            ("Send", "send"),
            ("Open", "open"),
            ("Click", "click"),
            ("Subscription", "subscription"),
            ("Reject", "reject"),
            ("Rendering Failure", "failure"),
        ],
    )
    def test_types_without_their_own_list_use_mail_destination(
        self, event_type: str, detail_key: str
    ) -> None:
        event = parse(make_event_body(event_type, detail_key, {}))
        assert [r.email for r in event.recipients] == ["recipient@example.com"]

    def test_reject_and_rendering_failure_explain_themselves(self) -> None:
        reject = parse_ses_event(read_sample("doc_event_reject.json"))
        failure = parse_ses_event(read_sample("doc_event_rendering_failure.json"))
        assert reject.recipients[0].diagnostic_code == "Bad content"
        assert failure.recipients[0].diagnostic_code == (
            "Attribute 'attributeName' is not present in the rendering data."
        )

    def test_destination_entries_that_are_not_addresses_are_skipped(self) -> None:
        body = make_event_body("Send", "send", {})
        body["mail"]["destination"] = ["a@x.com", 3, None, "", "  ", {"a": 1}, "b@x.com"]
        assert [r.email for r in parse(body).recipients] == ["a@x.com", "b@x.com"]


class TestSubtypes:
    def test_bounce_subtype(self) -> None:
        event = parse(make_bounce_body(bounceType="Permanent", bounceSubType="Suppressed"))
        assert (event.bounce_type, event.bounce_subtype, event.subtype) == (
            "Permanent",
            "Suppressed",
            "Suppressed",
        )

    def test_complaint_subtype_wins_over_feedback_type(self) -> None:
        body = make_event_body(
            "Complaint",
            "complaint",
            {"complaintFeedbackType": "abuse", "complaintSubType": "OnAccountSuppressionList"},
        )
        event = parse(body)
        assert event.complaint_feedback_type == "abuse"
        assert event.complaint_subtype == "OnAccountSuppressionList"
        assert event.subtype == "OnAccountSuppressionList"

    def test_null_complaint_subtype_gives_the_feedback_type(self) -> None:
        event = parse_ses_event(read_sample("simulator_complaint.json"))
        assert (event.complaint_subtype, event.subtype) == (None, "abuse")

    def test_delivery_delay_type(self) -> None:
        event = parse_ses_event(read_sample("doc_event_deliverydelay.json"))
        assert (event.delay_type, event.subtype) == ("TransientCommunicationFailure",) * 2

    def test_subscription_source_and_unsubscribe_all(self) -> None:
        event = parse_ses_event(read_sample("doc_event_subscription.json"))
        assert (event.subscription_source, event.unsubscribe_all) == ("UnsubscribeHeader", True)

    @pytest.mark.parametrize("value", ["true", 1, None, [True]])
    def test_unsubscribe_all_must_be_a_json_boolean(self, value: Any) -> None:
        body = make_event_body(
            "Subscription", "subscription", {"newTopicPreferences": {"unsubscribeAll": value}}
        )
        assert parse(body).unsubscribe_all is None

    def test_fields_of_another_type_are_not_read(self) -> None:
        body = make_event_body("Send", "send", {})
        body["bounce"] = {"bounceType": "Permanent", "feedbackId": "fb"}
        event = parse(body)
        assert (event.bounce_type, event.feedback_id, event.subtype) == (None, None, None)


class TestTimestamps:
    def test_occurred_at_is_the_events_own_timestamp(self) -> None:
        event = parse(make_bounce_body())
        assert event.occurred_at == datetime(2016, 1, 27, 14, 59, 38, 237000, tzinfo=UTC)
        assert event.sent_at == datetime(2016, 1, 27, 14, 59, 30, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("doc_event_open.json", datetime(2017, 8, 9, 22, 0, 19, 652000, tzinfo=UTC)),
            ("doc_event_click.json", datetime(2017, 8, 9, 23, 51, 25, 570000, tzinfo=UTC)),
            ("doc_event_deliverydelay.json", datetime(2020, 6, 16, 0, 25, 40, 95000, tzinfo=UTC)),
            ("doc_event_subscription.json", datetime(2022, 1, 12, 1, 0, 17, 910000, tzinfo=UTC)),
            ("doc_event_send.json", datetime(2016, 10, 14, 5, 2, 16, 645000, tzinfo=UTC)),
        ],
    )
    def test_types_with_a_timestamp_use_it_and_others_use_mail(
        self, name: str, expected: datetime
    ) -> None:
        assert parse_ses_event(read_sample(name)).occurred_at == expected

    @pytest.mark.parametrize("value", ["yesterday", 1454000000, "", None, "2016-13-45T00:00:00Z"])
    def test_unreadable_event_timestamp_falls_back_to_mail(self, value: Any) -> None:
        event = parse(make_bounce_body(timestamp=value))
        assert event.occurred_at == event.sent_at

    def test_offsets_are_converted_to_utc(self) -> None:
        event = parse(make_bounce_body(timestamp="2016-01-27T16:59:38+02:00"))
        assert event.occurred_at == datetime(2016, 1, 27, 14, 59, 38, tzinfo=UTC)
        assert event.occurred_at is not None
        assert event.occurred_at.tzinfo is UTC

    def test_a_timestamp_without_offset_is_read_as_utc(self) -> None:
        event = parse(make_bounce_body(timestamp="2016-01-27T14:59:38"))
        assert event.occurred_at == datetime(2016, 1, 27, 14, 59, 38, tzinfo=UTC)

    def test_an_offset_past_the_calendar_edge_is_ignored(self) -> None:
        event = parse(make_bounce_body(timestamp="0001-01-01T00:00:00+01:00"))
        assert event.occurred_at == event.sent_at


class TestEventBridge:
    """SES's events on EventBridge carry the SES event in ``detail``; a rule may send them to
    an SNS topic, so a signed Message may hold this wrapper (SES → EventBridge → SNS)."""

    @staticmethod
    def wrap(detail: Any, **fields: Any) -> str:
        # https://docs.aws.amazon.com/ses/latest/dg/monitoring-eventbridge.html
        event = {
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "Email Bounced",
            "source": "aws.ses",
            "account": "123456789012",
            "time": "2016-10-19T23:20:52Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
        return json.dumps(event | fields)

    def test_the_ses_event_in_detail_is_read(self) -> None:
        text = read_sample("doc_event_bounce.json")
        assert parse_ses_event(self.wrap(json.loads(text))) == parse_ses_event(text)

    def test_an_identity_notification_in_detail_is_read_too(self) -> None:
        event = parse_ses_event(self.wrap(make_bounce_body()))
        assert (event.shape, event.type, event.feedback_id) == ("notification", "Bounce", "fb-1")

    @pytest.mark.parametrize(
        "fields",
        [
            {"source": "my.app"},
            {"source": ["aws.ses"]},
            {"source": None},
            {"detail": "{}"},
            {"detail": None},
        ],
    )
    def test_another_source_or_no_detail_object_is_unknown(self, fields: dict[str, Any]) -> None:
        wrapped = self.wrap(fields.pop("detail", make_bounce_body()), **fields)
        assert parse_ses_event(wrapped) == SesEvent("unknown", EventType.UNKNOWN)

    def test_unwrapped_once_only(self) -> None:
        twice = self.wrap(json.loads(self.wrap(make_bounce_body())))
        assert parse_ses_event(twice).type == EventType.UNKNOWN

    def test_an_ses_account_event_is_unknown(self) -> None:
        # SES sends account events too (Sending Status Disabled …): no email event inside.
        event = parse_ses_event(self.wrap({"status": "DISABLED"}))
        assert (event.type, event.recipients) == (EventType.UNKNOWN, ())


class TestUnreadableInput:
    @pytest.mark.parametrize(
        "message",
        ["", "   ", "not json", "{", "[1, 2]", "null", "42", '"Bounce"', "{}", "\ufeff{}"],
    )
    def test_is_an_unknown_event(self, message: str) -> None:
        assert parse_ses_event(message) == SesEvent("unknown", EventType.UNKNOWN)

    def test_deep_nesting_is_an_unknown_event(self) -> None:
        assert parse_ses_event("[" * 100_000 + "]" * 100_000).type == "Unknown"

    def test_non_text_is_an_unknown_event(self) -> None:
        assert parse_ses_event(b"{}").type == "Unknown"  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("body", "shape"),
        [
            ({"eventType": "Received"}, "event"),
            ({"notificationType": "Received", "receipt": {}}, "notification"),
            ({"eventType": "bounce"}, "event"),
            ({"eventType": "RenderingFailure"}, "event"),
            ({"eventType": 5, "notificationType": ["Bounce"]}, "unknown"),
            ({"Type": "Notification", "Message": "{}"}, "unknown"),
        ],
    )
    def test_unknown_types_keep_what_can_be_read(self, body: dict[str, Any], shape: str) -> None:
        body["mail"] = {"messageId": "m", "destination": ["a@x.com"]}
        event = parse(body)
        assert (event.shape, event.type, event.ses_message_id) == (shape, "Unknown", "m")
        assert [r.email for r in event.recipients] == ["a@x.com"]

    def test_event_type_wins_when_both_keys_are_present(self) -> None:
        event = parse({"eventType": "Open", "notificationType": "Bounce"})
        assert (event.shape, event.type) == ("event", "Open")

    @pytest.mark.parametrize(
        "mutation",
        [
            {"bounce": []},
            {"bounce": "Permanent"},
            {"mail": ["x"]},
            {"mail": {"messageId": 12, "timestamp": {}, "source": False, "destination": "a@x"}},
        ],
    )
    def test_wrong_typed_objects_are_ignored(self, mutation: dict[str, Any]) -> None:
        event = parse(make_bounce_body() | mutation)
        assert event.type == "Bounce"
        assert isinstance(event.recipients, tuple)


# Hypothesis: parse_ses_event never raises, whatever SNS carries.

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
SES_WORDS = st.sampled_from(
    [
        "eventType",
        "notificationType",
        "mail",
        "bounce",
        "complaint",
        "delivery",
        "deliveryDelay",
        "subscription",
        "failure",
        "reject",
        "bouncedRecipients",
        "complainedRecipients",
        "delayedRecipients",
        "recipients",
        "destination",
        "emailAddress",
        "status",
        "timestamp",
        "messageId",
        "feedbackId",
        "bounceType",
        "newTopicPreferences",
        "unsubscribeAll",
        "Bounce",
        "Permanent",
        "Transient",
        "5.1.1",
        "2016-01-27T14:59:38.237Z",
    ]
)
JSON_VALUES = st.recursive(
    JSON_SCALARS | SES_WORDS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(SES_WORDS | st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
SAMPLE_BODIES = [json.loads(read_sample(s.file)) for s in SAMPLES]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def replace_at(body: Any, path: tuple[Any, ...], value: Any, *, delete: bool) -> None:
    parent = body
    for step in path[:-1]:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return
    step = path[-1]
    present = (
        step in parent
        if isinstance(parent, dict)
        else (isinstance(parent, list) and isinstance(step, int) and step < len(parent))
    )
    if not present:
        return
    if delete:
        del parent[step]
    else:
        parent[step] = value


@st.composite
def mutated_samples(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(SAMPLE_BODIES)))
    for path in draw(st.lists(st.sampled_from(paths(body)), min_size=1, max_size=6)):
        replace_at(body, path, draw(JSON_VALUES), delete=draw(st.booleans()))
    return body


@st.composite
def ses_shaped(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["eventType", "notificationType"]))
    raw_types = [
        "Bounce",
        "Complaint",
        "Delivery",
        "Send",
        "Reject",
        "Open",
        "Click",
        "Rendering Failure",
        "DeliveryDelay",
        "Subscription",
        "AmazonSnsSubscriptionSucceeded",
    ]
    body: dict[str, Any] = {kind: draw(st.sampled_from(raw_types) | JSON_VALUES)}
    for key in draw(st.lists(SES_WORDS, max_size=4)):
        body[key] = draw(JSON_VALUES)
    return body


def assert_well_formed(event: SesEvent) -> None:
    assert isinstance(event, SesEvent)
    assert event.shape in ("notification", "event", "unknown")
    assert event.type in TYPES
    for text in (
        event.bounce_type,
        event.bounce_subtype,
        event.complaint_feedback_type,
        event.complaint_subtype,
        event.delay_type,
        event.subscription_source,
        event.ses_message_id,
        event.feedback_id,
        event.source,
        event.subtype,
    ):
        assert text is None or isinstance(text, str)
    assert event.unsubscribe_all in (None, True, False)
    for moment in (event.occurred_at, event.sent_at):
        assert moment is None or moment.utcoffset() == timedelta(0)
    assert isinstance(event.recipients, tuple)
    for recipient in event.recipients:
        assert isinstance(recipient, SesRecipient)
        assert isinstance(recipient.email, str)
        assert recipient.email.strip()
        for text in (recipient.status, recipient.action, recipient.diagnostic_code):
            assert text is None or isinstance(text, str)
        # The policy must cope with whatever the parser produced.
        policy.classify(event, recipient)


class TestNeverRaises:
    @given(st.text())
    def test_on_any_text(self, message: str) -> None:
        assert_well_formed(parse_ses_event(message))

    @given(JSON_VALUES)
    def test_on_any_json(self, value: Any) -> None:
        assert_well_formed(parse_ses_event(json.dumps(value)))

    @given(ses_shaped())
    def test_on_ses_shaped_objects(self, body: dict[str, Any]) -> None:
        assert_well_formed(parse_ses_event(json.dumps(body)))

    @given(mutated_samples())
    def test_on_real_samples_with_mutated_fields(self, body: dict[str, Any]) -> None:
        assert_well_formed(parse_ses_event(json.dumps(body)))

    @given(st.sampled_from(SAMPLES), st.integers(min_value=0), st.binary(max_size=3))
    def test_on_truncated_and_corrupted_samples(
        self, sample: Sample, cut: int, junk: bytes
    ) -> None:
        text = read_sample(sample.file)
        cut %= len(text) + 1
        assert_well_formed(parse_ses_event(text[:cut] + junk.decode("latin-1")))
