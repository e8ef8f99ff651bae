"""app.ses.suppressed against a botocore Stubber (requests and answers checked against the
sesv2 model) and against a live HTTP fake through the real boto3 client (the wire itself)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.stub import Stubber

from app.errors import SesListUnavailable
from app.ses import suppressed
from app.ses.failures import Backoff
from app.ses.suppressed import Pacing, SesEntry
from tests.live import free_port
from tests.ses_sync.fake_ses import REGION, FakeSes

if TYPE_CHECKING:
    from types_boto3_sesv2.client import SESV2Client

AT = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
BOUND = Backoff(retries=3, base=0.5, cap=4.0)


class Sleeps(list[float]):
    """Stands in for time.sleep: keeps the delays, waits for none."""

    def pacing(self, backoff: Backoff = BOUND) -> Pacing:
        return Pacing(backoff=backoff, sleep=self.append)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def stubbed(aws_env: None) -> Iterator[tuple[SESV2Client, Stubber]]:
    """A real sesv2 client whose answers are scripted; every one must be used by the end."""
    client = boto3.client("sesv2", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
    client.close()


def summary(email: str, reason: str = "BOUNCE", at: datetime = AT) -> dict[str, Any]:
    return {"EmailAddress": email, "Reason": reason, "LastUpdateTime": at}


def throttle(stubber: Stubber, operation: str, times: int, code: str = "TooManyRequests") -> None:
    for _ in range(times):
        stubber.add_client_error(
            operation, service_error_code=f"{code}Exception", http_status_code=429
        )


class TestListStubbed:
    def test_pages_follow_next_token_and_report_progress(
        self, stubbed: tuple[SESV2Client, Stubber], sleeps: Sleeps
    ) -> None:
        client, stubber = stubbed
        stubber.add_response(
            "list_suppressed_destinations",
            {
                "SuppressedDestinationSummaries": [summary("Ann@Example.com"), summary("b@x.org")],
                "NextToken": "t1",
            },
            {"PageSize": 1000},
        )
        stubber.add_response(
            "list_suppressed_destinations",
            {"SuppressedDestinationSummaries": [summary("c@x.org", "COMPLAINT")]},
            {"PageSize": 1000, "NextToken": "t1"},
        )
        pages: list[int] = []
        entries = suppressed.list_suppressed(client, on_page=pages.append, pacing=sleeps.pacing())
        assert entries == [
            SesEntry("Ann@Example.com", "BOUNCE", AT),
            SesEntry("b@x.org", "BOUNCE", AT),
            SesEntry("c@x.org", "COMPLAINT", AT),
        ]
        assert pages == [2, 1]
        assert all(entry.last_update.tzinfo is UTC for entry in entries)
        assert sleeps == []

    def test_start_date_is_passed_on_every_page(
        self, stubbed: tuple[SESV2Client, Stubber], sleeps: Sleeps
    ) -> None:
        client, stubber = stubbed
        since = AT - timedelta(hours=1)
        stubber.add_response(
            "list_suppressed_destinations",
            {"SuppressedDestinationSummaries": [], "NextToken": "t1"},
            {"PageSize": 200, "StartDate": since},
        )
        stubber.add_response(
            "list_suppressed_destinations",
            {"SuppressedDestinationSummaries": []},
            {"PageSize": 200, "StartDate": since, "NextToken": "t1"},
        )
        assert suppressed.list_suppressed(client, start_date=since, page_size=200) == []

    @pytest.mark.parametrize("code", ["TooManyRequests", "Throttling"])
    def test_throttling_backs_off_then_goes_on(
        self, stubbed: tuple[SESV2Client, Stubber], sleeps: Sleeps, code: str
    ) -> None:
        client, stubber = stubbed
        throttle(stubber, "list_suppressed_destinations", 2, code)
        stubber.add_response(
            "list_suppressed_destinations", {"SuppressedDestinationSummaries": [summary("a@x.org")]}
        )
        entries = suppressed.list_suppressed(client, pacing=sleeps.pacing())
        assert [entry.email for entry in entries] == ["a@x.org"]
        # Equal jitter: each delay is between half the step and the step, steps doubling.
        assert len(sleeps) == 2
        assert 0.25 <= sleeps[0] <= 0.5
        assert 0.5 <= sleeps[1] <= 1.0

    def test_throttling_past_the_bound_is_a_clear_error(
        self, stubbed: tuple[SESV2Client, Stubber], sleeps: Sleeps
    ) -> None:
        client, stubber = stubbed
        throttle(stubber, "list_suppressed_destinations", BOUND.retries + 1)
        with pytest.raises(SesListUnavailable) as caught:
            suppressed.list_suppressed(client, pacing=sleeps.pacing())
        err = caught.value
        assert err.ses_code == "TooManyRequestsException"
        assert err.is_region_wide
        assert err.status_code == 502
        assert err.region == REGION
        assert "kept throttling ListSuppressedDestinations in us-east-1" in err.message
        assert "4 attempts" in err.message
        assert "SES_SYNC_INTERVAL_SECONDS" in err.message
        assert len(sleeps) == BOUND.retries
        assert err.body() == {"error": err.message, "ses_code": "TooManyRequestsException"}

    def test_access_denied_names_the_permissions_and_is_not_retried(
        self, stubbed: tuple[SESV2Client, Stubber], sleeps: Sleeps
    ) -> None:
        client, stubber = stubbed
        stubber.add_client_error(
            "list_suppressed_destinations",
            service_error_code="AccessDeniedException",
            service_message="User is not authorized to perform ses:ListSuppressedDestinations",
            http_status_code=403,
        )
        with pytest.raises(SesListUnavailable) as caught:
            suppressed.list_suppressed(client, pacing=sleeps.pacing())
        message = caught.value.message
        assert "refused bouncer's AWS credentials for ListSuppressedDestinations" in message
        assert "ses:ListSuppressedDestinations, ses:GetSuppressedDestination" in message
        assert "ses:DeleteSuppressedDestination in us-east-1" in message
        assert caught.value.is_region_wide
        assert sleeps == []

    def test_a_server_error_is_retried(
        self, stubbed: tuple[SESV2Client, Stubber], sleeps: Sleeps
    ) -> None:
        client, stubber = stubbed
        stubber.add_client_error(
            "list_suppressed_destinations",
            service_error_code="InternalFailure",
            http_status_code=500,
        )
        stubber.add_response("list_suppressed_destinations", {"SuppressedDestinationSummaries": []})
        assert suppressed.list_suppressed(client, pacing=sleeps.pacing()) == []
        assert len(sleeps) == 1

    def test_an_expired_next_token_is_an_error_for_this_pass_only(
        self, stubbed: tuple[SESV2Client, Stubber], sleeps: Sleeps
    ) -> None:
        client, stubber = stubbed
        stubber.add_client_error(
            "list_suppressed_destinations",
            service_error_code="InvalidNextTokenException",
            service_message="The token is invalid.",
            http_status_code=400,
        )
        with pytest.raises(SesListUnavailable) as caught:
            suppressed.list_suppressed(client, pacing=sleeps.pacing())
        assert caught.value.message == (
            "SES refused ListSuppressedDestinations in us-east-1 (InvalidNextTokenException): "
            "The token is invalid"
        )
        assert not caught.value.is_region_wide
        assert sleeps == []


class TestOneAddressStubbed:
    def test_put_sends_the_email_and_reason(self, stubbed: tuple[SESV2Client, Stubber]) -> None:
        client, stubber = stubbed
        stubber.add_response(
            "put_suppressed_destination",
            {},
            {"EmailAddress": "Ann@Example.com", "Reason": "COMPLAINT"},
        )
        suppressed.put_suppressed(client, "Ann@Example.com", "COMPLAINT")

    def test_delete_uses_the_exact_case_and_says_whether_it_was_held(
        self, stubbed: tuple[SESV2Client, Stubber]
    ) -> None:
        client, stubber = stubbed
        stubber.add_response(
            "delete_suppressed_destination", {}, {"EmailAddress": "Ann@Example.com"}
        )
        stubber.add_client_error(
            "delete_suppressed_destination",
            service_error_code="NotFoundException",
            http_status_code=404,
            expected_params={"EmailAddress": "ann@example.com"},
        )
        assert suppressed.delete_suppressed(client, "Ann@Example.com") is True
        assert suppressed.delete_suppressed(client, "ann@example.com") is False

    def test_get_answers_the_entry_or_none(self, stubbed: tuple[SESV2Client, Stubber]) -> None:
        client, stubber = stubbed
        stubber.add_response(
            "get_suppressed_destination",
            {
                "SuppressedDestination": summary("a@x.org", "COMPLAINT")
                | {"Attributes": {"MessageId": "m-1", "FeedbackId": "f-1"}}
            },
            {"EmailAddress": "a@x.org"},
        )
        stubber.add_client_error(
            "get_suppressed_destination",
            service_error_code="NotFoundException",
            http_status_code=404,
        )
        assert suppressed.get_suppressed(client, "a@x.org") == SesEntry("a@x.org", "COMPLAINT", AT)
        assert suppressed.get_suppressed(client, "b@x.org") is None

    def test_a_refused_address_fails_alone(
        self, stubbed: tuple[SESV2Client, Stubber], sleeps: Sleeps
    ) -> None:
        client, stubber = stubbed
        stubber.add_client_error(
            "put_suppressed_destination",
            service_error_code="BadRequestException",
            service_message="Invalid email address.",
            http_status_code=400,
        )
        with pytest.raises(SesListUnavailable) as caught:
            suppressed.put_suppressed(client, "not-an-address", "BOUNCE", pacing=sleeps.pacing())
        assert caught.value.ses_code == "BadRequestException"
        assert not caught.value.is_region_wide
        assert "Invalid email address" in caught.value.message


class TestLiveFake:
    """The real boto3 client over HTTP to tests/ses_sync/fake_ses.py."""

    def test_pages_travel_as_query_members_and_timestamps_as_epoch_seconds(
        self, fake_ses: FakeSes, fake_client: SESV2Client
    ) -> None:
        for n in range(5):
            fake_ses.hold(f"user{n}@Example.com", "COMPLAINT" if n % 2 else "BOUNCE", AT)
        pages: list[int] = []
        entries = suppressed.list_suppressed(fake_client, page_size=2, on_page=pages.append)
        assert entries == [
            SesEntry(f"user{n}@Example.com", "COMPLAINT" if n % 2 else "BOUNCE", AT)
            for n in range(5)
        ]
        assert pages == [2, 2, 1]
        assert [call.query for call in fake_ses.calls] == [
            {"PageSize": ["2"]},
            {"PageSize": ["2"], "NextToken": ["page-2"]},
            {"PageSize": ["2"], "NextToken": ["page-4"]},
        ]
        assert {(call.method, call.path) for call in fake_ses.calls} == {
            ("GET", "/v2/email/suppression/addresses")
        }

    def test_requests_are_signed_for_ses_in_the_region(
        self, fake_ses: FakeSes, fake_client: SESV2Client
    ) -> None:
        suppressed.list_suppressed(fake_client)
        [call] = fake_ses.calls
        assert call.authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
        assert f"/{REGION}/ses/aws4_request" in call.authorization

    def test_start_date_travels_as_iso_8601_and_filters(
        self, fake_ses: FakeSes, fake_client: SESV2Client
    ) -> None:
        fake_ses.hold("old@x.org", "BOUNCE", AT - timedelta(days=2))
        fake_ses.hold("new@x.org", "BOUNCE", AT)
        entries = suppressed.list_suppressed(fake_client, start_date=AT - timedelta(days=1))
        assert [entry.email for entry in entries] == ["new@x.org"]
        assert fake_ses.calls[0].query["StartDate"] == ["2026-02-28T12:00:00.250000Z"]

    @pytest.mark.parametrize(
        ("email", "path"),
        [
            ("Ann+News@Example.com", "Ann%2BNews%40Example.com"),
            ("Zoë/x@Bücher.de", "Zo%C3%AB%2Fx%40B%C3%BCcher.de"),
        ],
    )
    def test_put_get_delete_round_trip_with_the_exact_case(
        self, fake_ses: FakeSes, fake_client: SESV2Client, email: str, path: str
    ) -> None:
        fake_ses.clock = lambda: AT
        suppressed.put_suppressed(fake_client, email, "COMPLAINT")
        put = fake_ses.calls[-1]
        assert (put.method, put.path) == ("PUT", "/v2/email/suppression/addresses")
        assert put.body == {"EmailAddress": email, "Reason": "COMPLAINT"}
        assert suppressed.get_suppressed(fake_client, email) == SesEntry(email, "COMPLAINT", AT)
        # SES's management API matches case exactly: another case is another (absent) entry.
        assert suppressed.get_suppressed(fake_client, email.lower()) is None
        assert suppressed.delete_suppressed(fake_client, email.lower()) is False
        assert suppressed.delete_suppressed(fake_client, email) is True
        assert fake_ses.calls[-1].raw_path == f"/v2/email/suppression/addresses/{path}"
        assert fake_ses.entries == {}
        assert suppressed.delete_suppressed(fake_client, email) is False

    def test_not_found_named_in_the_body_is_understood_too(
        self, fake_ses: FakeSes, fake_client: SESV2Client
    ) -> None:
        fake_ses.error_in_body = True
        assert suppressed.delete_suppressed(fake_client, "gone@x.org") is False
        assert suppressed.get_suppressed(fake_client, "gone@x.org") is None

    def test_throttled_twice_then_listed(
        self, fake_ses: FakeSes, fake_client: SESV2Client, sleeps: Sleeps
    ) -> None:
        fake_ses.hold("a@x.org")
        fake_ses.fail("ListSuppressedDestinations", times=2)
        entries = suppressed.list_suppressed(fake_client, pacing=sleeps.pacing())
        assert [entry.email for entry in entries] == ["a@x.org"]
        # botocore made one attempt a call (SUPPRESSION_CONFIG): the retries are ours.
        assert fake_ses.operations() == ["ListSuppressedDestinations"] * 3
        assert len(sleeps) == 2

    def test_throttled_past_the_bound(
        self, fake_ses: FakeSes, fake_client: SESV2Client, sleeps: Sleeps
    ) -> None:
        fake_ses.fail("PutSuppressedDestination", times=BOUND.retries + 1)
        with pytest.raises(SesListUnavailable) as caught:
            suppressed.put_suppressed(fake_client, "a@x.org", "BOUNCE", pacing=sleeps.pacing())
        assert caught.value.ses_code == "TooManyRequestsException"
        assert fake_ses.entries == {}
        assert len(fake_ses.calls) == BOUND.retries + 1

    def test_a_delete_that_fails_once_is_retried(
        self, fake_ses: FakeSes, fake_client: SESV2Client, sleeps: Sleeps
    ) -> None:
        fake_ses.hold("Ann@x.org")
        fake_ses.hold("bob@x.org")
        fake_ses.fail(
            "DeleteSuppressedDestination", code="InternalFailure", status=500, email="Ann@x.org"
        )
        assert suppressed.delete_suppressed(fake_client, "bob@x.org", pacing=sleeps.pacing())
        assert suppressed.delete_suppressed(fake_client, "Ann@x.org", pacing=sleeps.pacing())
        assert fake_ses.entries == {}
        assert len(sleeps) == 1

    def test_a_delete_refused_once_fails_then_works_next_time(
        self, fake_ses: FakeSes, fake_client: SESV2Client, sleeps: Sleeps
    ) -> None:
        fake_ses.hold("Ann@x.org")
        fake_ses.fail("DeleteSuppressedDestination", code="BadRequestException", status=400)
        with pytest.raises(SesListUnavailable) as caught:
            suppressed.delete_suppressed(fake_client, "Ann@x.org", pacing=sleeps.pacing())
        assert not caught.value.is_region_wide
        assert "Ann@x.org" in fake_ses.entries
        assert suppressed.delete_suppressed(fake_client, "Ann@x.org", pacing=sleeps.pacing())
        assert sleeps == []

    def test_access_denied(
        self, fake_ses: FakeSes, fake_client: SESV2Client, sleeps: Sleeps
    ) -> None:
        fake_ses.fail("GetSuppressedDestination", code="AccessDeniedException", status=403)
        with pytest.raises(SesListUnavailable) as caught:
            suppressed.get_suppressed(fake_client, "a@x.org", pacing=sleeps.pacing())
        assert caught.value.ses_code == "AccessDeniedException"
        assert "ses:GetSuppressedDestination" in caught.value.message

    def test_a_request_the_model_refuses_is_never_sent(
        self, fake_ses: FakeSes, fake_client: SESV2Client
    ) -> None:
        with pytest.raises(SesListUnavailable) as caught:
            suppressed.put_suppressed(fake_client, cast(Any, None), "BOUNCE")
        assert caught.value.ses_code == "ParamValidationError"
        assert "could not call SES PutSuppressedDestination in us-east-1" in caught.value.message
        assert fake_ses.calls == []


def test_no_connection_is_retried_then_names_what_to_check(aws_env: None, sleeps: Sleeps) -> None:
    client = suppressed.make_client(REGION, endpoint_url=f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(SesListUnavailable) as caught:
            suppressed.list_suppressed(client, pacing=sleeps.pacing())
    finally:
        client.close()
    message = caught.value.message
    assert message.startswith("could not reach SES at http://127.0.0.1:")
    assert "(4 attempts)" in message
    assert "SES_SYNC_REGIONS" in message
    assert caught.value.is_region_wide
    assert len(sleeps) == BOUND.retries
