"""The errors bouncer raises; app.api.handlers renders them as ``{"error": ...}``.

No FastAPI here: the pure packages (sns/, ses/) and the CLI raise these too.

BouncerError(message)                      500 (never raised as such)
├── EnvelopeInvalid                        400  body or headers are not a usable SNS message
│   ├── RawDeliveryRefused                 400  raw message delivery carries no signature
│   └── NotSesEvent                        400  a queued body that is no SES event (SPEC §8)
├── Unauthorized                           401  missing or wrong credentials
├── Forbidden                              403
│   ├── SignatureInvalid                   403
│   ├── CertificateNotAllowed              403
│   ├── TopicNotAllowed                    403
│   ├── MessageExpired                     403
│   ├── UnsignedRefused                    403  an unsigned shape without SQS_ACCEPT_UNSIGNED
│   └── ReadOnlyToken                      403
├── NotFound                               404
├── BodyStalled                            408  the client stopped sending its body
├── AllRecipientsSuppressed                409  SES is not called
├── SyncOff                                409  POST /v1/ses/sync with SES_SYNC=off
├── SyncBusy                               409  another SES list sync pass is running
├── BodyTooLarge                           413
├── InvalidInput                           422  names the field
├── SesRejected(ses_code)                  502
├── SesListUnavailable(ses_code)           502  SES's suppression list cannot be read or changed
└── Unavailable                            503  a dependency is down or busy: retry (Retry-After)
    ├── DatabaseUnavailable                503  raised once, where sessions are made (app.db)
    └── ConfirmationRefused                503  SNS refused to confirm (a 4xx); refused off /sns

StartupError(Exception)                         the service or a command cannot start: one line
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class BouncerError(Exception):
    """Base of every error bouncer raises on purpose; ``message`` is shown to the caller."""

    status_code: ClassVar[int] = 500
    # A short, stable label for metrics and logs ("signature", "topic", ...).
    cause: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": self.message}

    def headers(self) -> dict[str, str]:
        """Response headers the answer needs besides its body."""
        return {}


class EnvelopeInvalid(BouncerError):
    status_code = 400
    cause = "malformed"


class RawDeliveryRefused(EnvelopeInvalid):
    cause = "raw_delivery"


class NotSesEvent(EnvelopeInvalid):
    cause = "not_ses"


class Unauthorized(BouncerError):
    status_code = 401
    cause = "unauthorized"

    def __init__(self, message: str, *, scheme: str = "Bearer", realm: str = "bouncer") -> None:
        super().__init__(message)
        self.challenge = f'{scheme} realm="{realm}"'

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge}


class Forbidden(BouncerError):
    status_code = 403
    cause = "forbidden"


class SignatureInvalid(Forbidden):
    cause = "signature"


class CertificateNotAllowed(Forbidden):
    cause = "certificate"


class TopicNotAllowed(Forbidden):
    cause = "topic"


class MessageExpired(Forbidden):
    cause = "expired"


class ReadOnlyToken(Forbidden):
    cause = "read_only"


class UnsignedRefused(Forbidden):
    cause = "unsigned"


class NotFound(BouncerError):
    status_code = 404
    cause = "not_found"


class BodyStalled(BouncerError):
    status_code = 408
    cause = "body_stalled"


class AllRecipientsSuppressed(BouncerError):
    status_code = 409
    cause = "all_recipients_suppressed"

    def __init__(self, suppressed: Sequence[tuple[str, str]]) -> None:
        super().__init__("every recipient is on the suppression list; SES was not called")
        self.suppressed = list(suppressed)

    def body(self) -> dict[str, Any]:
        return {
            "error": "all_recipients_suppressed",
            "message": self.message,
            "suppressed": [{"email": e, "reason": r} for e, r in self.suppressed],
        }


class SyncOff(BouncerError):
    status_code = 409
    cause = "sync_off"


class SyncBusy(BouncerError):
    """A pass over SES's account-level suppression list is already running (on this
    replica or another) and the caller chose not to wait for it (SPEC §7)."""

    status_code = 409
    cause = "sync_busy"


class BodyTooLarge(BouncerError):
    status_code = 413
    cause = "too_large"


class InvalidInput(BouncerError):
    status_code = 422
    cause = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out


class SesRejected(BouncerError):
    status_code = 502
    cause = "ses_rejected"

    def __init__(self, message: str, *, ses_code: str) -> None:
        super().__init__(message)
        self.ses_code = ses_code

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "ses_code": self.ses_code}


class SesListUnavailable(BouncerError):
    """A call on SES's account-level suppression list failed for good (SPEC §7): no
    connection, credentials refused, throttled past the back-off, or SES refused the
    request. ``is_region_wide``: no other call in that region can succeed now (credentials,
    throttling, no connection), as opposed to one refused address."""

    status_code = 502
    cause = "ses_list_unavailable"

    def __init__(self, message: str, *, ses_code: str, region: str, is_region_wide: bool) -> None:
        super().__init__(message)
        self.ses_code = ses_code
        self.region = region
        self.is_region_wide = is_region_wide

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "ses_code": self.ses_code}


class Unavailable(BouncerError):
    status_code = 503
    cause = "unavailable"
    # Every 503 says when to come back; SNS retries on its own schedule and ignores it.
    retry_after_seconds: ClassVar[int] = 5

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


# Who retries a unit of work the database failed, and when: the end of a
# DatabaseUnavailable's message. The SNS path says "SNS will retry this message".
RETRY_SHORTLY = "retry shortly"


class DatabaseUnavailable(Unavailable):
    """The database did not answer (``problem`` names the driver's error), no pooled
    connection came free in time (``overloaded``), or PostgreSQL ended the transaction to
    break a deadlock or a serialization conflict (``conflict``; running it again works):
    the unit of work was rolled back.

    Raised in one place, app.outages.as_unavailable, where sessions are made; callers
    choose ``retry_hint`` rather than catching and re-wording it.
    """

    def __init__(
        self, problem: str, *, overloaded: bool = False, conflict: bool = False, retry_hint: str
    ) -> None:
        self.problem = problem
        self.overloaded = overloaded
        self.conflict = conflict
        if overloaded:
            what = f"bouncer is overloaded: {self.what_failed}; "
        elif conflict:
            what = f"{self.what_failed}; "
        else:
            what = f"{self.what_failed}: "
        super().__init__(f"{what}nothing was stored; {retry_hint}")

    @property
    def what_failed(self) -> str:
        """What went wrong, without who retries: for a caller whose retry is not the one
        ``retry_hint`` named (a queue redelivers, a replay is run again)."""
        if self.overloaded:
            return "no database connection came free in time"
        if self.conflict:
            return "another writer held the same rows (the database broke a deadlock)"
        return f"the database is unreachable ({self.problem})"


class ConfirmationRefused(Unavailable):
    """SNS answered a confirmation with a 4xx: the token expired (it lasts three days), the
    topic is gone, or bouncer's AWS credentials may not call sns:ConfirmSubscription.

    An Unavailable all the same, so /sns answers as before (503: SNS retries within its
    hour, which an operator who fixes the credentials meanwhile profits from) and the
    subscription is listed ``failed`` for POST /v1/subscriptions/confirm. A queue or a file
    holds the message for days, and trying it again changes nothing there: the consumer
    and replay take it as refused (permanent), not as "try again later".
    https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html (tokens last three days)
    """

    cause = "confirmation_refused"


class StartupError(Exception):
    """The service or a command cannot start; ``str(err)`` is the one line the operator
    reads (no traceback). Not a BouncerError: it never becomes an HTTP answer."""
