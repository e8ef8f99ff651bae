"""What a queued or replayed body is (SPEC §8): an SNS envelope, a bare SES event, or an
EventBridge event from SES; anything else is refused, saying which it is not.

Pure: no database, no network. The envelope is parsed here and verified by the caller
(app.sns.verifier), exactly as `/sns` does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from app.errors import EnvelopeInvalid, NotSesEvent, UnsignedRefused
from app.ses.events import (
    EVENTBRIDGE_SOURCE,
    SesEvent,
    is_eventbridge_event,
    parse_ses_event,
)
from app.sns import strict_json
from app.sns.envelope import SnsMessage, parse_envelope

UnsignedShape = Literal["ses", "eventbridge"]

# The id an unsigned event is stored under where an SNS MessageId would be (the event
# history's sns_message_id): 128 characters at most (app.models).
_ID_PREFIX = {"ses": "ses-body:", "eventbridge": "eventbridge:"}


@dataclass(frozen=True, slots=True)
class Unsigned:
    """A bare SES event or an EventBridge event: no signature to check, so taken only with
    SQS_ACCEPT_UNSIGNED (the queue's access policy is then the trust boundary)."""

    shape: UnsignedShape
    event: SesEvent
    # Stands in for an SNS MessageId: the EventBridge event id, or a digest of the SES
    # event's text. The event's own effect is keyed by SES's ids all the same (SPEC §3).
    source_id: str


def read_body(body: str | bytes, *, accept_unsigned: bool) -> SnsMessage | Unsigned:
    """The envelope (not yet verified) or the unsigned event a body holds.

    Raises EnvelopeInvalid (not JSON, none of the three shapes, a broken envelope),
    NotSesEvent (an EventBridge event from another source) or UnsignedRefused.
    """
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    data = _object_of(raw)
    if "Type" in data and ("Signature" in data or "SignatureVersion" in data):
        return parse_envelope(raw, {})
    if is_eventbridge_event(data):
        return _eventbridge(data, accept_unsigned=accept_unsigned)
    if isinstance(data.get("notificationType"), str) or isinstance(data.get("eventType"), str):
        _check_unsigned_allowed("a bare SES event (raw message delivery)", accept_unsigned)
        text = raw.decode("utf-8", "surrogatepass")
        return Unsigned("ses", parse_ses_event(text), _digest_id("ses", raw))
    if "Type" in data:
        # An envelope without its signature fields: parse_envelope names what is missing.
        return parse_envelope(raw, {})
    raise EnvelopeInvalid(
        "the body is none of the three shapes bouncer reads from a queue: an SNS envelope "
        "(Type, Message, Signature…), a bare SES event (eventType or notificationType), or "
        'an EventBridge event from SES ("source": "aws.ses", the event in "detail")'
    )


def _eventbridge(data: dict[str, Any], *, accept_unsigned: bool) -> Unsigned:
    source = data.get("source")
    # Refused, not recorded as Unknown as inside a signed envelope: unsigned, it is only
    # taken as SES's, and the queue's EventBridge rule should send nothing else.
    if source != EVENTBRIDGE_SOURCE:
        shown = json.dumps(source)[:80]
        raise NotSesEvent(
            f"the EventBridge event's source is {shown}, not {EVENTBRIDGE_SOURCE!r}: the rule "
            "that targets this queue should match only SES's events"
        )
    _check_unsigned_allowed("an EventBridge event", accept_unsigned)
    detail = data.get("detail")
    if not isinstance(detail, dict):
        raise EnvelopeInvalid('the EventBridge event\'s "detail" is not a JSON object')
    event_id = data.get("id")
    text = json.dumps(detail, ensure_ascii=False)
    if isinstance(event_id, str) and event_id and len(event_id) <= 100 and "\x00" not in event_id:
        source_id = _ID_PREFIX["eventbridge"] + event_id
    else:
        source_id = _digest_id("eventbridge", text.encode("utf-8", "surrogatepass"))
    # The whole event, unwrapped by parse_ses_event as inside an SNS Message: one reading.
    event = parse_ses_event(json.dumps(data, ensure_ascii=False))
    return Unsigned("eventbridge", event, source_id)


def _check_unsigned_allowed(what: str, accept_unsigned: bool) -> None:
    if not accept_unsigned:
        raise UnsignedRefused(
            f"{what} carries no signature: set SQS_ACCEPT_UNSIGNED=true (or --accept-unsigned "
            "for replay) if this queue's access policy lets only SES, SNS or EventBridge send to it"
        )


def _digest_id(shape: UnsignedShape, raw: bytes) -> str:
    return _ID_PREFIX[shape] + hashlib.sha256(raw).hexdigest()


def _object_of(raw: bytes) -> dict[str, Any]:
    try:
        data = strict_json.loads(raw)
    except strict_json.DuplicateKey as err:
        # As for an SNS envelope: the value bouncer acts on must be the one a first-wins
        # reader (or the EventBridge rule that routed the event) saw.
        raise EnvelopeInvalid(f"the body repeats the key {json.dumps(err.key)[:80]}") from None
    except ValueError as err:
        raise EnvelopeInvalid(f"the body is not JSON ({err})") from None
    except RecursionError:
        raise EnvelopeInvalid("the body nests JSON too deeply") from None
    if not isinstance(data, dict):
        raise EnvelopeInvalid(f"the body is a JSON {type(data).__name__}, not an object")
    return data
