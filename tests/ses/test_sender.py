"""The send wrapper: the suppression list applied before SES, against moto and a Stubber."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from prometheus_client import REGISTRY
from pydantic import ValidationError
from sqlalchemy import select

from app.activity import send_log as sends
from app.db import Database
from app.errors import AllRecipientsSuppressed, SesRejected
from app.models import Send
from app.sending import (
    SES_CONFIG,
    Sender,
    SesSender,
    SuppressedRecipient,
    make_ses_client,
)
from app.ses.failures import Backoff
from app.ses.headers import strip_bcc
from app.ses.request import SendRequest
from app.vocabulary import SendOutcome
from tests.conftest import make_settings
from tests.ses.conftest import (
    REGION,
    SENDER,
    MotoSes,
    RecordedSleep,
    StubbedSes,
    make_request,
    send_rows,
    suppress,
)

NOW = datetime.now(UTC)


def sends_total(outcome: str) -> float:
    return REGISTRY.get_sample_value("bouncer_sends_total", {"outcome": outcome}) or 0.0


def problems(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each validation error, fields written as the caller wrote them."""
    with pytest.raises(ValidationError) as caught:
        SendRequest.model_validate(values)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in caught.value.errors()]


SIMPLE: dict[str, Any] = {"from": SENDER, "to": ["ann@example.org"], "subject": "Hi", "text": "x"}


class TestSendRequest:
    def test_missing_from_is_named(self) -> None:
        assert problems({k: v for k, v in SIMPLE.items() if k != "from"}) == [
            ("from", "from is required")
        ]

    def test_bad_cc_address_names_the_item(self) -> None:
        [(field, message)] = problems(SIMPLE | {"cc": ["carol@example.org", "carol at example"]})
        assert field == "cc.1"
        assert "'carol at example' is not a valid email address" in message

    def test_raw_and_text_together_are_refused(self) -> None:
        raw = "From: shop@example.com\r\nTo: ann@example.org\r\n\r\nHello\r\n"
        [(field, message)] = problems(SIMPLE | {"raw": raw})
        assert field == "raw"
        assert "exactly one of" in message

    def test_template_and_raw_together_are_refused(self) -> None:
        raw = "To: ann@example.org\r\n\r\nHello\r\n"
        values = {"from": SENDER, "raw": raw, "template": "Welcome"}
        assert [f for f, _ in problems(values)] == ["template"]

    def test_nothing_to_send(self) -> None:
        assert problems({"from": SENDER, "to": ["ann@example.org"]})[0][0] == "text"

    def test_simple_needs_subject_and_a_body(self) -> None:
        values = {"from": SENDER, "to": ["ann@example.org"], "html": "<p>x</p>"}
        assert [f for f, _ in problems(values)] == ["subject"]
        values = {"from": SENDER, "to": ["ann@example.org"], "subject": "Hi"}
        assert [f for f, _ in problems(values)] == ["text"]

    def test_subject_is_one_line(self) -> None:
        assert [f for f, _ in problems(SIMPLE | {"subject": "Hi\r\nBcc: x@evil.example"})] == [
            "subject"
        ]

    def test_at_least_one_recipient(self) -> None:
        assert problems(SIMPLE | {"to": []}) == [
            ("to", "no recipients: give at least one in to, cc or bcc")
        ]

    def test_at_most_fifty_distinct_recipients(self) -> None:
        fifty = [f"user{n}@example.org" for n in range(50)]
        # Case and display-name variants are one recipient.
        SendRequest.model_validate(SIMPLE | {"to": fifty, "bcc": ["USER1@Example.org"]})
        [(field, message)] = problems(SIMPLE | {"to": fifty, "cc": ["one.more@example.org"]})
        assert (field, message) == ("to", "SES takes at most 50 recipients a message, not 51")

    def test_raw_recipients_come_from_its_headers(self) -> None:
        request = SendRequest.model_validate({"raw": "From: s@example.com\nTo: a@x.org\n\nhi"})
        assert request.from_ is None

    def test_raw_without_recipients(self) -> None:
        [(field, message)] = problems({"from": SENDER, "raw": "Subject: hi\n\nhi"})
        assert field == "to"
        assert "To/Cc/Bcc headers of raw" in message

    def test_raw_without_from_or_from_header(self) -> None:
        assert [f for f, _ in problems({"raw": "To: a@example.org\n\nhi"})] == ["from"]

    def test_bad_address_in_a_raw_header_names_raw(self) -> None:
        [(field, message)] = problems({"from": SENDER, "raw": "To: a@x.org, <>\n\nhi"})
        assert field == "raw"
        assert "(in the To header of raw)" in message

    def test_reply_to_belongs_in_the_raw_message(self) -> None:
        values = {"raw": "From: s@x.org\nTo: a@x.org\n\nhi", "reply_to": ["r@x.org"]}
        assert [f for f, _ in problems(values)] == ["reply_to"]

    @pytest.mark.parametrize("data", ['{"name": "Ann"}', {"name": "Ann"}])
    def test_template_data_as_object_or_json_text(self, data: Any) -> None:
        request = SendRequest.model_validate(
            {"from": SENDER, "to": ["a@x.org"], "template": "T", "template_data": data}
        )
        assert request.template_json() == '{"name": "Ann"}'

    @pytest.mark.parametrize("data", ["[1, 2]", "not json", '"text"'])
    def test_template_data_must_be_a_json_object(self, data: str) -> None:
        values = {"from": SENDER, "to": ["a@x.org"], "template": "T", "template_data": data}
        assert problems(values) == [("template_data", "template_data must be a JSON object")]

    def test_template_data_needs_a_template(self) -> None:
        assert [f for f, _ in problems(SIMPLE | {"template_data": {}})] == ["template_data"]

    @pytest.mark.parametrize(
        ("name", "value"), [("a b", "x"), ("ok", "a:b"), ("ok", ""), ("é", "x"), ("n" * 257, "x")]
    )
    def test_tags_follow_the_ses_rules(self, name: str, value: str) -> None:
        assert [f for f, _ in problems(SIMPLE | {"tags": {name: value}})] == [f"tags.{name}"]

    def test_unknown_fields_are_refused(self) -> None:
        assert [f for f, _ in problems(SIMPLE | {"attachments": []})] == ["attachments"]

    def test_built_in_python_by_field_name(self) -> None:
        request = SendRequest(from_=SENDER, to=["a@x.org"], subject="Hi", text="x")
        assert request.model_dump(by_alias=True)["from"] == SENDER


class TestStripBcc:
    def test_bcc_fields_go_folded_lines_too_and_the_body_stays(self) -> None:
        raw = (
            "From: s@x.org\r\nBcc: b@x.org,\r\n c@x.org\r\nTo: a@x.org\r\nbcc: d@x.org\r\n"
            "\r\nBcc: this line is body text\r\n"
        )
        assert strip_bcc(raw) == (
            "From: s@x.org\r\nTo: a@x.org\r\n\r\nBcc: this line is body text\r\n"
        )

    def test_resent_bcc_goes_too(self) -> None:
        # RFC 5322 §3.6.6: Resent-Bcc is a Bcc for a resent message, its addresses as
        # blind; SES would show them to every recipient.
        raw = "From: s@x.org\r\nResent-Bcc: hidden@x.org\r\nTo: a@x.org\r\n\r\nbody\r\n"
        assert strip_bcc(raw) == "From: s@x.org\r\nTo: a@x.org\r\n\r\nbody\r\n"

    def test_without_bcc_nothing_changes(self) -> None:
        raw = "From: s@x.org\nTo: a@x.org\n\nbody\n"
        assert strip_bcc(raw) == raw


class TestMixedRecipients:
    async def test_suppressed_are_dropped_reported_and_never_reach_ses(
        self, moto_ses: MotoSes, database: Database
    ) -> None:
        await suppress(database, "bob@example.org", reason="bounce")
        await suppress(database, "carol@example.org", reason="complaint")
        request = make_request(
            to=["ann@example.org", "bob@example.org"],
            cc=["carol@example.org"],
            bcc=["dave@example.net"],
            configuration_set="transactional",
            tags={"campaign": "shipping"},
        )
        partial_before = sends_total("partial")

        result = await SesSender(moto_ses.client, database).send(request, actor="ops")

        assert result.sent_to == ["ann@example.org", "dave@example.net"]
        assert result.suppressed == [
            SuppressedRecipient("bob@example.org", "bounce"),
            SuppressedRecipient("carol@example.org", "complaint"),
        ]
        [message] = moto_ses.sent
        assert message.id == result.message_id
        assert message.source == SENDER
        assert message.destinations == {
            "ToAddresses": ["ann@example.org"],
            "BccAddresses": ["dave@example.net"],
        }
        assert (message.subject, message.body) == ("Your order has shipped", "It is on its way.")
        [wire] = moto_ses.requests
        assert wire["ConfigurationSetName"] == "transactional"
        assert wire["EmailTags"] == [{"Name": "campaign", "Value": "shipping"}]
        assert wire["Content"]["Simple"]["Body"]["Text"]["Charset"] == "UTF-8"
        [row] = await send_rows(database)
        assert (row.ses_message_id, row.outcome, row.sender) == (result.message_id, "sent", SENDER)
        assert row.sent_to == ["ann@example.org", "dave@example.net"]
        assert row.suppressed == [
            {"email": "bob@example.org", "reason": "bounce"},
            {"email": "carol@example.org", "reason": "complaint"},
        ]
        assert (row.recipient_count, row.configuration_set) == (2, "transactional")
        assert sends_total("partial") == partial_before + 1

    async def test_configuration_set_defaults_to_the_setting(
        self, moto_ses: MotoSes, database: Database
    ) -> None:
        sender = SesSender(moto_ses.client, database, configuration_set="default-set")
        await sender.send(make_request())
        await sender.send(make_request(configuration_set="per-call"))
        assert [w["ConfigurationSetName"] for w in moto_ses.requests] == ["default-set", "per-call"]
        assert [r.configuration_set for r in await send_rows(database)] == [
            "default-set",
            "per-call",
        ]

    async def test_html_with_text_and_reply_to(self, moto_ses: MotoSes, database: Database) -> None:
        request = make_request(html="<p>On its way</p>", reply_to=['"Help" <help@example.com>'])
        await SesSender(moto_ses.client, database).send(request)
        [wire] = moto_ses.requests
        assert set(wire["Content"]["Simple"]["Body"]) == {"Text", "Html"}
        assert wire["ReplyToAddresses"] == ["Help <help@example.com>"]
        assert moto_ses.sent[0].body == "<p>On its way</p>"


class TestAddressVariants:
    @pytest.mark.parametrize(
        "written",
        [
            '"Ann" <ANN@Example.com>',
            "ANN@EXAMPLE.COM",
            "  ann@example.com ",
            "Ann <ann@example.COM>",
        ],
    )
    async def test_variant_of_a_suppressed_address_is_suppressed(
        self, written: str, stubbed_ses: StubbedSes, database: Database
    ) -> None:
        await suppress(database, "ann@example.com")
        with pytest.raises(AllRecipientsSuppressed) as refused:
            await SesSender(stubbed_ses.client, database).send(make_request(to=[written]))
        assert refused.value.suppressed == [("ann@example.com", "bounce")]
        assert stubbed_ses.calls == 0

    async def test_internationalised_domain_matches_its_punycode(
        self, stubbed_ses: StubbedSes, database: Database
    ) -> None:
        await suppress(database, "zoe@xn--bcher-kva.de")
        with pytest.raises(AllRecipientsSuppressed):
            await SesSender(stubbed_ses.client, database).send(
                make_request(to=["Zoë <zoe@BÜCHER.de>"])
            )

    async def test_allowed_recipient_keeps_its_display_name_in_ses_form(
        self, moto_ses: MotoSes, database: Database
    ) -> None:
        request = make_request(
            **{"from": '"Shöp" <shop@example.com>'}, to=['"Zoë" <Zoe@Bücher.de>', "Bob <b@x.org>"]
        )
        result = await SesSender(moto_ses.client, database).send(request)
        assert result.sent_to == ["zoe@xn--bcher-kva.de", "b@x.org"]
        [wire] = moto_ses.requests
        # 7-bit ASCII only: punycode domain, RFC 2047 display names.
        assert wire["Destination"]["ToAddresses"] == [
            "=?utf-8?q?Zo=C3=AB?= <Zoe@xn--bcher-kva.de>",
            "Bob <b@x.org>",
        ]
        assert wire["FromEmailAddress"] == "=?utf-8?b?U2jDtnA=?= <shop@example.com>"

    async def test_the_same_person_twice_is_sent_once(
        self, moto_ses: MotoSes, database: Database
    ) -> None:
        request = make_request(to=["ann@example.org"], cc=["ANN@example.org"], bcc=["b@x.org"])
        result = await SesSender(moto_ses.client, database).send(request)
        assert result.sent_to == ["ann@example.org", "b@x.org"]
        assert "CcAddresses" not in moto_ses.requests[0]["Destination"]


class TestSoftBounceExpiry:
    async def test_an_expired_soft_bounce_does_not_block(
        self, moto_ses: MotoSes, database: Database
    ) -> None:
        await suppress(
            database,
            "ann@example.org",
            reason="soft_bounce",
            expires_at=NOW - timedelta(minutes=1),
            now=NOW - timedelta(days=7),
        )
        result = await SesSender(moto_ses.client, database).send(make_request())
        assert (result.sent_to, result.suppressed) == (["ann@example.org"], [])

    async def test_an_active_soft_bounce_blocks(
        self, stubbed_ses: StubbedSes, database: Database
    ) -> None:
        await suppress(
            database, "ann@example.org", reason="soft_bounce", expires_at=NOW + timedelta(days=1)
        )
        with pytest.raises(AllRecipientsSuppressed) as refused:
            await SesSender(stubbed_ses.client, database).send(make_request())
        assert refused.value.suppressed == [("ann@example.org", "soft_bounce")]


class TestAllSuppressed:
    async def test_ses_is_not_called_and_the_attempt_is_recorded(
        self, stubbed_ses: StubbedSes, database: Database
    ) -> None:
        await suppress(database, "ann@example.org")
        await suppress(database, "bob@example.org", reason="complaint")
        before = sends_total("all_suppressed")
        request = make_request(to=["ann@example.org"], bcc=["Bob <BOB@example.org>"])

        # The Stubber has no answer queued: a call to SES would fail as SesRejected.
        with pytest.raises(AllRecipientsSuppressed) as refused:
            await SesSender(stubbed_ses.client, database).send(request)

        assert refused.value.body() == {
            "error": "all_recipients_suppressed",
            "message": "every recipient is on the suppression list; SES was not called",
            "suppressed": [
                {"email": "ann@example.org", "reason": "bounce"},
                {"email": "bob@example.org", "reason": "complaint"},
            ],
        }
        assert stubbed_ses.calls == 0
        [row] = await send_rows(database)
        assert (row.outcome, row.ses_message_id, row.sent_to, row.recipient_count) == (
            "all_suppressed",
            None,
            [],
            0,
        )
        assert [s["email"] for s in row.suppressed] == ["ann@example.org", "bob@example.org"]
        assert sends_total("all_suppressed") == before + 1


RAW = (
    "From: Example Shop <shop@example.com>\r\n"
    "To: Ann <ann@example.org>\r\n"
    'Cc: "Carol" <carol@example.org>\r\n'
    "Bcc: bob@example.org,\r\n dave@example.net\r\n"
    "Subject: Hello\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hello Ann\r\n"
)


class TestRawMime:
    async def test_suppressed_bcc_left_off_the_envelope_and_the_bcc_header_stripped(
        self, moto_ses: MotoSes, database: Database
    ) -> None:
        await suppress(database, "bob@example.org")
        request = SendRequest.model_validate({"raw": RAW, "bcc": ["erin@example.net"]})

        result = await SesSender(moto_ses.client, database).send(request)

        assert result.sent_to == [
            "ann@example.org",
            "carol@example.org",
            "dave@example.net",
            "erin@example.net",
        ]
        assert result.suppressed == [SuppressedRecipient("bob@example.org", "bounce")]
        [wire] = moto_ses.requests
        assert wire["Destination"] == {
            "ToAddresses": ["ann@example.org"],
            "CcAddresses": ["carol@example.org"],
            "BccAddresses": ["dave@example.net", "erin@example.net"],
        }
        # No FromEmailAddress: SES takes the From header of the message.
        assert "FromEmailAddress" not in wire
        sent = base64.b64decode(wire["Content"]["Raw"]["Data"]).decode()
        assert sent == RAW.replace("Bcc: bob@example.org,\r\n dave@example.net\r\n", "")
        [message] = moto_ses.sent
        assert message.raw_data == sent
        assert not any("bob@" in d for d in message.destinations)
        [row] = await send_rows(database)
        assert (row.sender, row.recipient_count) == ("shop@example.com", 4)

    async def test_every_raw_recipient_suppressed(
        self, stubbed_ses: StubbedSes, database: Database
    ) -> None:
        for email in (
            "ann@example.org",
            "carol@example.org",
            "bob@example.org",
            "dave@example.net",
        ):
            await suppress(database, email)
        with pytest.raises(AllRecipientsSuppressed):
            await SesSender(stubbed_ses.client, database).send(
                SendRequest.model_validate({"raw": RAW})
            )
        assert stubbed_ses.calls == 0


class TestTemplate:
    @pytest.mark.parametrize("data", [{"name": "Ann", "n": 2}, '{"name": "Ann", "n": 2}'])
    async def test_template_name_and_data(
        self, data: Any, stubbed_ses: StubbedSes, database: Database
    ) -> None:
        # moto has no SES v2 templated send; the Stubber checks the call against the API model.
        stubbed_ses.stubber.add_response(
            "send_email",
            {"MessageId": "tmpl-1"},
            {
                "FromEmailAddress": SENDER,
                "Destination": {"ToAddresses": ["ann@example.org"]},
                "Content": {
                    "Template": {
                        "TemplateName": "OrderShipped",
                        "TemplateData": '{"name": "Ann", "n": 2}',
                    }
                },
                "ConfigurationSetName": "transactional",
            },
        )
        request = SendRequest.model_validate(
            {
                "from": SENDER,
                "to": ["ann@example.org"],
                "template": "OrderShipped",
                "template_data": data,
            }
        )
        sender = SesSender(stubbed_ses.client, database, configuration_set="transactional")
        result = await sender.send(request)
        assert result.message_id == "tmpl-1"
        [row] = await send_rows(database)
        assert (row.ses_message_id, row.outcome) == ("tmpl-1", "sent")


def throttle(stubbed: StubbedSes, times: int, message: str = "Too many requests.") -> None:
    for _ in range(times):
        stubbed.stubber.add_client_error(
            "send_email", "TooManyRequestsException", message, http_status_code=429
        )


class TestThrottling:
    async def test_retried_with_backoff_then_sent(
        self, stubbed_ses: StubbedSes, database: Database, sleeps: RecordedSleep
    ) -> None:
        throttle(stubbed_ses, 2)
        stubbed_ses.stubber.add_response("send_email", {"MessageId": "after-throttling"})
        sender = SesSender(stubbed_ses.client, database, sleep=sleeps)

        result = await sender.send(make_request())

        assert result.message_id == "after-throttling"
        assert stubbed_ses.calls == 3
        # Exponential (0.5 s, then 1 s steps) with jitter over the upper half of each step.
        first, second = sleeps.delays
        assert 0.25 <= first <= 0.5
        assert 0.5 <= second <= 1.0
        [row] = await send_rows(database)
        assert row.outcome == "sent"

    async def test_gives_up_after_three_retries(
        self, stubbed_ses: StubbedSes, database: Database, sleeps: RecordedSleep
    ) -> None:
        throttle(stubbed_ses, 4)
        before = sends_total("ses_error")
        with pytest.raises(SesRejected) as rejected:
            await SesSender(stubbed_ses.client, database, sleep=sleeps).send(make_request())
        assert rejected.value.ses_code == "TooManyRequestsException"
        assert "4 attempt(s)" in rejected.value.message
        assert (stubbed_ses.calls, len(sleeps.delays)) == (4, 3)
        [row] = await send_rows(database)
        assert (row.outcome, row.ses_code, row.sent_to) == (
            "ses_error",
            "TooManyRequestsException",
            [],
        )
        assert sends_total("ses_error") == before + 1

    async def test_daily_quota_is_not_retried(
        self, stubbed_ses: StubbedSes, database: Database, sleeps: RecordedSleep
    ) -> None:
        stubbed_ses.stubber.add_client_error(
            "send_email", "Throttling", "Daily message quota exceeded.", http_status_code=400
        )
        with pytest.raises(SesRejected) as rejected:
            await SesSender(stubbed_ses.client, database, sleep=sleeps).send(make_request())
        assert rejected.value.ses_code == "Throttling"
        assert "Daily message quota exceeded" in rejected.value.message
        assert (stubbed_ses.calls, sleeps.delays) == (1, [])

    def test_backoff_is_capped(self) -> None:
        backoff = Backoff(retries=10, base=1.0, cap=4.0)
        assert all(2.0 <= backoff.delay(n) <= 4.0 for n in range(3, 10))


class TestSesErrors:
    @pytest.mark.parametrize(
        ("code", "status", "advice"),
        [
            ("MessageRejected", 400, "is verified in us-east-1"),
            ("AccountSendingPausedException", 400, "ask AWS to resume"),
            ("AccountSuspendedException", 400, "Contact AWS Support"),
            ("MailFromDomainNotVerifiedException", 400, "MX and SPF records"),
            ("SendingPausedException", 400, "configuration set None"),
            ("NotFoundException", 404, "could not find"),
            ("BadRequestException", 400, "found the request invalid"),
            ("LimitExceededException", 400, "sending quota"),
            ("AccessDeniedException", 403, "may call ses:SendEmail"),
            ("SomethingNewException", 400, "SES refused the send (SomethingNewException)"),
        ],
    )
    async def test_mapped_to_a_502_with_ses_code(
        self,
        code: str,
        status: int,
        advice: str,
        stubbed_ses: StubbedSes,
        database: Database,
        sleeps: RecordedSleep,
    ) -> None:
        stubbed_ses.stubber.add_client_error(
            "send_email", code, "What SES said.", http_status_code=status
        )
        with pytest.raises(SesRejected) as rejected:
            await SesSender(stubbed_ses.client, database, sleep=sleeps).send(make_request())
        assert rejected.value.status_code == 502
        assert rejected.value.body() == {"error": rejected.value.message, "ses_code": code}
        assert advice in rejected.value.message
        assert "What SES said" in rejected.value.message
        assert (stubbed_ses.calls, sleeps.delays) == (1, [])
        [row] = await send_rows(database)
        assert (row.outcome, row.ses_code, row.ses_message_id) == ("ses_error", code, None)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def failing_client(error: Exception) -> Any:
    client = boto3.client("sesv2", region_name=REGION, config=SES_CONFIG)

    def fail(**_: Any) -> None:
        raise error

    client.meta.events.register_first("before-send.sesv2.SendEmail", fail)
    return client


class TestTransportErrors:
    async def test_no_connection_is_retried_then_a_502(
        self, aws_env: None, database: Database, sleeps: RecordedSleep, tmp_path: Path
    ) -> None:
        endpoint = f"http://127.0.0.1:{closed_port()}"
        settings = make_settings(SES_ENDPOINT_URL=endpoint, DATA_DIR=tmp_path)
        sender = SesSender(make_ses_client(settings), database, sleep=sleeps)
        with pytest.raises(SesRejected) as rejected:
            await sender.send(make_request())
        assert rejected.value.ses_code == "EndpointConnectionError"
        assert f"could not connect to SES at {endpoint} (4 attempt(s))" in rejected.value.message
        assert "SES_ENDPOINT_URL" in rejected.value.message
        assert len(sleeps.delays) == 3

    async def test_connect_timeout_is_retried(
        self, aws_env: None, database: Database, sleeps: RecordedSleep
    ) -> None:
        client = failing_client(ConnectTimeoutError(endpoint_url="https://email.example"))
        with pytest.raises(SesRejected) as rejected:
            await SesSender(client, database, sleep=sleeps).send(make_request())
        assert rejected.value.ses_code == "ConnectTimeoutError"
        assert len(sleeps.delays) == 3

    async def test_read_timeout_is_not_retried_as_ses_may_have_sent(
        self, aws_env: None, database: Database, sleeps: RecordedSleep
    ) -> None:
        client = failing_client(ReadTimeoutError(endpoint_url="https://email.example"))
        with pytest.raises(SesRejected) as rejected:
            await SesSender(client, database, sleep=sleeps).send(make_request())
        assert rejected.value.ses_code == "ReadTimeoutError"
        assert "may have been sent" in rejected.value.message
        assert sleeps.delays == []
        [row] = await send_rows(database)
        assert row.outcome == "ses_error"

    async def test_no_credentials(
        self,
        aws_env: None,
        database: Database,
        sleeps: RecordedSleep,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        client = boto3.session.Session().client("sesv2", region_name=REGION)
        with pytest.raises(SesRejected) as rejected:
            await SesSender(client, database, sleep=sleeps).send(make_request())
        assert rejected.value.ses_code == "NoCredentialsError"
        assert "credential chain" in rejected.value.message


class TestMakeSesClient:
    def test_region_endpoint_timeouts_and_retries(self, aws_env: None, tmp_path: Path) -> None:
        settings = make_settings(
            AWS_REGION="eu-west-1", SES_ENDPOINT_URL="http://127.0.0.1:4566", DATA_DIR=tmp_path
        )
        client = make_ses_client(settings)
        assert client.meta.region_name == "eu-west-1"
        assert client.meta.endpoint_url == "http://127.0.0.1:4566"
        config: Any = client.meta.config  # botocore-stubs leave its options untyped
        assert (config.connect_timeout, config.read_timeout) == (5, 20)
        assert config.retries == {"mode": "standard", "total_max_attempts": 1}

    def test_the_default_endpoint_is_the_regions(self, aws_env: None, tmp_path: Path) -> None:
        client = make_ses_client(make_settings(AWS_REGION="eu-central-1", DATA_DIR=tmp_path))
        assert client.meta.endpoint_url == "https://email.eu-central-1.amazonaws.com"


class TestInProcessSender:
    async def test_from_settings_sends_refuses_and_closes(
        self, moto_ses: MotoSes, database: Database, database_url: str, tmp_path: Path
    ) -> None:
        settings = make_settings(
            DATABASE_URL=database_url, DATA_DIR=tmp_path, SES_CONFIGURATION_SET="app-default"
        )
        await suppress(database, "bob@example.org")
        async with Sender.from_settings(settings) as sender:
            result = await sender.send(make_request(cc=["bob@example.org"]), actor="worker")
            with pytest.raises(AllRecipientsSuppressed):
                await sender.send(make_request(to=["bob@example.org"]))
        assert result.sent_to == ["ann@example.org"]
        assert result.suppressed == [SuppressedRecipient("bob@example.org", "bounce")]
        assert [m.id for m in moto_ses.sent] == [result.message_id]
        rows = await send_rows(database)
        assert [(r.outcome, r.configuration_set) for r in rows] == [
            ("sent", "app-default"),
            ("all_suppressed", "app-default"),
        ]

    async def test_a_client_it_was_given_stays_open(
        self, moto_ses: MotoSes, database_url: str, tmp_path: Path
    ) -> None:
        settings = make_settings(DATABASE_URL=database_url, DATA_DIR=tmp_path)
        sender = Sender.from_settings(settings, client=moto_ses.client)
        await sender.send(make_request())
        await sender.aclose()
        moto_ses.client.create_email_identity(EmailIdentity="still-open.example")


class TestClientFactory:
    async def test_built_once_off_the_event_loop_and_only_when_needed(
        self, moto_ses: MotoSes, database: Database
    ) -> None:
        built_in: list[str] = []

        def factory() -> Any:
            built_in.append(threading.current_thread().name)
            return moto_ses.client

        sender = SesSender(factory, database)
        await suppress(database, "bob@example.org")
        with pytest.raises(AllRecipientsSuppressed):
            await sender.send(make_request(to=["bob@example.org"]))
        assert built_in == []  # nothing to send, no client built

        await asyncio.gather(*(sender.send(make_request()) for _ in range(3)))
        assert len(built_in) == 1
        assert built_in[0] != threading.current_thread().name
        assert [r.outcome for r in await send_rows(database)] == ["all_suppressed"] + ["sent"] * 3
        await sender.aclose()


class TestSendLog:
    async def test_counts_recipients_of_sent_messages_in_the_window(
        self, database: Database
    ) -> None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        rows: list[tuple[SendOutcome, list[str], timedelta]] = [
            (SendOutcome.SENT, ["a@x.org", "b@x.org"], timedelta(hours=1)),
            (SendOutcome.SENT, ["c@x.org"], timedelta(hours=23)),
            (SendOutcome.SENT, ["d@x.org"], timedelta(hours=24)),  # the window is half-open
            (SendOutcome.SENT, ["e@x.org"], -timedelta(seconds=1)),
            (SendOutcome.SES_ERROR, [], timedelta(hours=2)),
            (SendOutcome.ALL_SUPPRESSED, [], timedelta(hours=3)),
        ]
        async with database.session() as session:
            for outcome, sent_to, offset in rows:
                await sends.record_send(
                    session,
                    sender=SENDER,
                    sent_to=sent_to,
                    suppressed=[],
                    configuration_set=None,
                    outcome=outcome,
                    now=start + offset,
                )
        async with database.session() as session:
            counted = await sends.count_recipients_sent(
                session, since=start, until=start + timedelta(hours=24)
            )
        assert counted == 3

    async def test_long_values_are_clipped_to_their_columns(self, database: Database) -> None:
        async with database.session() as session:
            await sends.record_send(
                session,
                sender="x" * 2000,
                sent_to=[],
                suppressed=[],
                configuration_set="c" * 300,
                outcome=SendOutcome.SES_ERROR,
                now=NOW,
                ses_code="E" * 100,
            )
        async with database.session() as session:
            row = (await session.scalars(select(Send))).one()
        assert (len(row.sender), len(row.configuration_set or ""), len(row.ses_code or "")) == (
            998,
            256,
            64,
        )
