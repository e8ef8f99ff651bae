"""A forgery corpus: hostile SNS messages POSTed to /sns, each refused for its own reason.

Every case goes over HTTP into the real app, signed in-process by the session's throw-away
SNS key (``signer``), by an attacker's own key, or taken from Amazon's own signed messages
(tests/data/signed), and asserts three things: the status; the cause, both as the words of
the ``{"error": …}`` body and as the label the app counts the refusal under
(``bouncer_sns_refusals_total{cause=…}``); and that the app asked no host outside SNS
(for a refusal: no host at all). Each table says, row by row, which check stops the
forgery, and why when it is not the signature.

The app's clock is pinned (``NOW``, or a genuine message's own Timestamp), so ages and
certificate validity are exact. The apps are shared across the module (``Apps``: one per
settings variant, built as conftest's ``make_client`` builds them, edge recorded): refusals
run on a database that every case asserts is still empty afterwards; what is accepted
(genuine messages, the first copy of a replay) goes to a second one, and a replay case
asserts the database is the same before and after the replay.

The rules checked are AWS's:
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select

from app import metrics
from app.db import Database
from app.main import create_app
from app.models import Subscription
from app.services import Edges
from app.settings import Settings
from tests.batches import COUNTED, snapshot
from tests.conftest import TOPIC, WRITE_TOKEN, Edge, SettableClock, make_settings
from tests.databases import DatabaseFactory
from tests.figures import record
from tests.ses_payloads import bounce
from tests.signing import SnsSigner, post_args, sns_timestamp
from tests.sns.conftest import GENUINE, Genuine
from tests.sns.test_certificates import HOSTILE_CERT_URLS
from tests.sns.test_signature import CONFIRMATION_SIGNED, NOTIFICATION_SIGNED, signed_fields, tweak
from tests.sns.test_topics import ACCOUNT_WIDE

# One event loop for the module, so the shared apps (below) live across its tests.
pytestmark = [pytest.mark.reliability, pytest.mark.asyncio(loop_scope="module")]

NOW = datetime(2025, 6, 2, 12, 0, 0, 123000, tzinfo=UTC)
SUBJECT = "Amazon SES Email Event Notification"
# What a forger wants: a bounce that would put this address on the suppression list.
MESSAGE = bounce(["ceo@example.com"], feedback_id="fb-forged", message_id="msg-forged", at=NOW)
NOTIFICATION = "Notification"
SUBSCRIBE = "SubscriptionConfirmation"
UNSUBSCRIBE = "UnsubscribeConfirmation"
# Each message type and the fields its signature covers.
KINDS = {
    NOTIFICATION: NOTIFICATION_SIGNED,
    SUBSCRIBE: CONFIRMATION_SIGNED,
    UNSUBSCRIBE: CONFIRMATION_SIGNED,
}
VERSIONS = ("1", "2")
OTHER_VERSION = {"1": "2", "2": "1"}
EVIL_PEM = "https://evil.example/SimpleNotificationService-attacker.pem"

# SPEC §2's host rule, written out here rather than imported, so the corpus checks the
# app against the rule and not against itself.
SNS_HOST = re.compile(r"sns\.[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}\.amazonaws\.(?:com|com\.cn|eu)")


# --- what each refusal must look like ------------------------------------------------


@dataclass(frozen=True)
class Refused:
    status: int
    cause: str  # the label the app counts it under (app.errors: BouncerError.cause)
    words: str  # a regex the {"error": ...} text must contain


def malformed(words: str) -> Refused:
    return Refused(400, "malformed", words)


def missing(name: str) -> Refused:
    return malformed(rf"^{name} is missing")


def not_a_string(name: str) -> Refused:
    return malformed(rf"^{name} must be a JSON string")


def header(name: str) -> Refused:
    return malformed(rf"^header {name} is .*: they must agree$")


MISMATCH = Refused(403, "signature", r"^the signature does not match the message")
NOT_BASE64 = Refused(403, "signature", r"^Signature is not valid base64$")
UNSUPPORTED = Refused(403, "signature", r"^SignatureVersion .* is not supported")
BELOW_MINIMUM = Refused(403, "signature", r"is below SNS_MIN_SIGNATURE_VERSION=2")
CERT_URL = Refused(403, "certificate", r"^SigningCertURL ")
CERT_TIME = Refused(403, "certificate", r"^the signing certificate is valid from .* not at the")
TOPIC_REFUSED = Refused(403, "topic", r"is not in SNS_TOPIC_ARNS: add it")
NO_TOPICS = Refused(403, "topic", r"^SNS_TOPIC_ARNS is empty")
STALE = Refused(403, "expired", r"s old, older than SNS_MAX_AGE_SECONDS=")
FUTURE = Refused(403, "expired", r"s in the future: check this host's clock")
BAD_TYPE = malformed(r"^Type is .*: an SNS envelope has Type")
BAD_TIME = malformed(r"^Timestamp .* is not an ISO-8601 time with a zone \(SNS sends")
OUT_OF_RANGE = malformed(r"^Timestamp .* lies outside the years 1 to 9999 once converted")
NOT_AN_ARN = malformed(r"^TopicArn .* is not an SNS topic ARN")
REPEATED = malformed(r"^the body repeats the key")
RAW = Refused(400, "raw_delivery", r"raw message delivery is on .* turn it off")


# --- the app under attack, and what it did -------------------------------------------


@dataclass
class Tally:
    """Every answer this module saw, for the reliability report."""

    cases: int = 0  # hostile messages posted
    refused: int = 0  # ... answered 4xx
    duplicates: int = 0  # ... replays answered {"status": "duplicate"}
    controls: int = 0  # genuine messages posted to set a case up
    foreign_requests: int = 0  # outbound requests to any host but SNS
    five_xx: int = 0

    def count(
        self, response: httpx.Response, requests: list[httpx.Request], *, hostile: bool
    ) -> None:
        self.five_xx += response.status_code >= 500
        self.foreign_requests += sum(is_foreign(r) for r in requests)
        if not hostile:
            self.controls += 1
            return
        self.cases += 1
        self.refused += 400 <= response.status_code < 500
        self.duplicates += response.status_code == 200 and _status(response) == "duplicate"


TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    record(
        "forgery corpus",
        cases=TALLY.cases,
        refused=TALLY.refused,
        duplicates=TALLY.duplicates,
        outbound_requests_to_foreign_hosts=TALLY.foreign_requests,
        five_xx=TALLY.five_xx,
        genuine_controls_accepted=TALLY.controls,
    )


def is_foreign(request: httpx.Request) -> bool:
    url = request.url
    return url.scheme != "https" or url.port not in (None, 443) or not SNS_HOST.fullmatch(url.host)


def _status(response: httpx.Response) -> object:
    try:
        return response.json().get("status")
    except ValueError:
        return None


def refusal_counts() -> Counter[str]:
    return Counter(
        {
            sample.labels["cause"]: int(sample.value)
            for family in metrics.SNS_REFUSALS.collect()
            for sample in family.samples
            if sample.name.endswith("_total")
        }
    )


@dataclass(frozen=True)
class Answer:
    response: httpx.Response
    causes: Counter[str]  # refusals the app counted while answering, by cause
    requests: list[httpx.Request]  # the app's outbound requests while answering

    @property
    def error(self) -> str:
        return str(self.response.json().get("error", ""))


Posted = tuple[bytes, dict[str, str]]


@dataclass
class Bouncer:
    """One running app: its HTTP client and its recorded edge."""

    client: httpx.AsyncClient
    app: FastAPI
    edge: Edge
    clock: SettableClock

    def set_clock(self, moment: datetime) -> None:
        self.clock.now = moment

    async def post(self, message: dict[str, Any] | Posted, *, hostile: bool = True) -> Answer:
        body, headers = post_args(message) if isinstance(message, dict) else message
        # HTTP carries only printable ASCII in a header; SNS's headers are optional.
        headers = {k: v for k, v in headers.items() if v.isascii() and v.isprintable()}
        before, seen = refusal_counts(), len(self.edge.requests)
        response = await self.client.post("/sns", content=body, headers=headers)
        requests = self.edge.requests[seen:]
        TALLY.count(response, requests, hostile=hostile)
        return Answer(response, refusal_counts() - before, requests)

    async def stored(self) -> int:
        """Rows in every table an SNS message can write to."""
        database: Database = self.app.state.services.database
        tables = [select(func.count()).select_from(m).scalar_subquery() for m in STORED]
        async with database.session() as session:
            counts = (await session.execute(select(*tables))).one()
        return sum(counts)


STORED = (*COUNTED, Subscription)


async def assert_refused(bouncer: Bouncer, answer: Answer, expected: Refused) -> None:
    response = answer.response
    assert response.status_code == expected.status, response.text
    assert answer.causes == Counter({expected.cause: 1}), response.text
    assert re.search(expected.words, answer.error), answer.error
    assert answer.requests == []
    assert await bouncer.stored() == 0


class Apps:
    """The apps under attack, one per settings variant, shared across the module.

    An app per case (``make_client``) costs ~50 ms, plus ~1 s to create and drop its
    database on PostgreSQL: ~450 cases would take minutes. A refusal must write nothing
    (each case asserts it), so sharing loses no isolation. Messages that are accepted go
    to a second database (``accepting=True``), so the refusals' one stays empty.
    """

    def __init__(self, base: Settings, *, cert_dir: Path, accepting_url: str) -> None:
        self.base = base.model_dump(exclude_unset=True)
        self.cert_dir = cert_dir
        self.accepting_url = accepting_url
        self._running: dict[str, tuple[Bouncer, Any]] = {}

    async def get(
        self, *, clock: datetime = NOW, accepting: bool = False, **settings: Any
    ) -> Bouncer:
        if accepting:
            settings["DATABASE_URL"] = self.accepting_url
        key = repr(sorted(settings.items()))
        if key not in self._running:
            edge = Edge()
            moments = SettableClock(clock)
            app = create_app(
                make_settings(**(self.base | settings)),
                edges=Edges(
                    http_transport=httpx.MockTransport(edge.handler),
                    sns_client_factory=None,
                    clock=moments,
                ),
            )
            lifespan = app.router.lifespan_context(app)
            await lifespan.__aenter__()
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="https://bouncer.example"
            )
            self._running[key] = (Bouncer(client, app, edge, moments), lifespan)
        bouncer = self._running[key][0]
        bouncer.set_clock(clock)
        return bouncer

    async def aclose(self) -> None:
        for bouncer, lifespan in self._running.values():
            await bouncer.client.aclose()
            await lifespan.__aexit__(None, None, None)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def apps(
    databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory, signer: SnsSigner
) -> AsyncIterator[Apps]:
    urls = databases.fresh(), databases.fresh()
    cert_dir = tmp_path_factory.mktemp("certs")
    signer.write_cert(cert_dir)
    base = make_settings(
        DATABASE_URL=urls[0],
        DATA_DIR=tmp_path_factory.mktemp("data"),
        SNS_TOPIC_ARNS=TOPIC,
        SNS_CERT_DIR=cert_dir,
        API_TOKENS=f"ops={WRITE_TOKEN}",
        LOG_FORMAT="text",
    )
    running = Apps(base, cert_dir=cert_dir, accepting_url=urls[1])
    try:
        yield running
    finally:
        await running.aclose()
        for url in urls:
            databases.release(url)


@pytest.fixture(scope="module")
def attacker() -> SnsSigner:
    """Another key, whose self-signed certificate also claims to be sns.amazonaws.com."""
    return SnsSigner.create(name="attacker")


# --- building hostile messages ---------------------------------------------------------


@dataclass(frozen=True)
class Kit:
    """What a forger works with: the SNS key (as if leaked or replayed), an own key."""

    signer: SnsSigner
    attacker: SnsSigner
    cert_dir: Path
    version: str = "1"

    def make(self, kind: str = NOTIFICATION, **overrides: Any) -> dict[str, Any]:
        """A message SNS itself could have signed, at NOW, from the allowed topic."""
        version = overrides.pop("version", self.version)
        options = {"topic_arn": TOPIC, "timestamp": NOW, "version": version}
        options |= overrides
        if kind == NOTIFICATION:
            options.setdefault("subject", SUBJECT)
            return self.signer.make_notification(options.pop("message", MESSAGE), **options)
        if kind == SUBSCRIBE:
            return self.signer.make_subscription_confirmation(**options)
        return self.signer.make_unsubscribe_confirmation(**options)

    def resign(self, envelope: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """``envelope`` with ``fields`` changed and signed again by the SNS key."""
        return self.signer.sign(envelope | fields, self.version)


Forge = Callable[[Kit], dict[str, Any] | Posted]


@dataclass(frozen=True)
class Case:
    forge: Forge
    expected: Refused
    settings: Mapping[str, Any] = field(default_factory=dict)
    version: str = "1"


def each(table: Mapping[str, Case]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", list(table.values()), ids=list(table))


def in_both_versions(table: Mapping[str, Case]) -> dict[str, Case]:
    return {
        f"v{version} {name}": Case(case.forge, case.expected, case.settings, version)
        for version in VERSIONS
        for name, case in table.items()
    }


def replaced(**fields: Any) -> Forge:
    """A signed Notification with ``fields`` changed afterwards (None: a JSON null)."""
    return lambda kit: kit.make() | fields


def with_body(edit: Callable[[str], str]) -> Forge:
    """A signed Notification whose JSON text is edited after signing."""

    def forge(kit: Kit) -> Posted:
        body, headers = post_args(kit.make())
        return edit(body.decode()).encode(), headers

    return forge


def with_headers(**changes: str) -> Forge:
    def forge(kit: Kit) -> Posted:
        body, headers = post_args(kit.make())
        return body, headers | changes

    return forge


def appended(key: str, value: Any) -> Callable[[str], str]:
    """A second ``key`` at the end of the JSON object (a later value wins in most parsers)."""
    return lambda text: text.rstrip()[:-1] + f", {json.dumps(key)}: {json.dumps(value)}}}"


@pytest.fixture
def forger(apps: Apps, signer: SnsSigner, attacker: SnsSigner) -> Kit:
    return Kit(signer, attacker, apps.cert_dir)


async def refuse_case(apps: Apps, kit: Kit, case: Case) -> None:
    bouncer = await apps.get(**case.settings)
    forged = case.forge(dataclasses.replace(kit, version=case.version))
    answer = await bouncer.post(forged)
    await assert_refused(bouncer, answer, case.expected)


# --- 1. one byte of a signed field ----------------------------------------------------

# The change is the lowest bit of one character (tests.sns.test_signature.tweak), placed so
# the message still reaches the signature check wherever it can: (index, expected).
TAMPERING: dict[str, tuple[int, Refused]] = {
    "Message": (-1, MISMATCH),
    "MessageId": (-1, MISMATCH),
    "Subject": (-1, MISMATCH),
    # The last millisecond digit (.123Z -> .122Z): still ISO-8601, still fresh.
    "Timestamp": (-2, MISMATCH),
    # The topic name's last letter makes another topic: refused as foreign before any
    # signature work. Under the account-wide allowlist it reaches the signature (below).
    "TopicArn": (-1, TOPIC_REFUSED),
    # Type is matched by name first: "Notificatioo" is no message type at all.
    "Type": (-1, BAD_TYPE),
    "SubscribeURL": (-1, MISMATCH),
    "Token": (-1, MISMATCH),
}


def one_byte(kind: str, name: str) -> Forge:
    index = TAMPERING[name][0]

    def forge(kit: Kit) -> dict[str, Any]:
        envelope = kit.make(kind)
        return envelope | {name: tweak(envelope[name], index=index)}

    return forge


SIGNED_FIELD_CASES: dict[str, Case] = {}
for _kind, _fields in KINDS.items():
    for _name in _fields:
        SIGNED_FIELD_CASES[f"{_kind} {_name}"] = Case(one_byte(_kind, _name), TAMPERING[_name][1])
    SIGNED_FIELD_CASES[f"{_kind} TopicArn, account-wide allowlist"] = Case(
        one_byte(_kind, "TopicArn"), MISMATCH, {"SNS_TOPIC_ARNS": ACCOUNT_WIDE}
    )


def retyped(kind: str, new_type: str, **extra: Any) -> Forge:
    return lambda kit: kit.make(kind) | {"Type": new_type, **extra}


def without(name: str) -> Callable[[Kit], dict[str, Any]]:
    return lambda kit: {k: v for k, v in kit.make().items() if k != name}


def with_message(signed: str, shown: str) -> Forge:
    return lambda kit: kit.make(message=signed) | {"Message": shown}


_TOKEN = "f" * 64
CONFUSION_CASES: dict[str, Case] = {
    # The confirmation types sign the same keys: only Type tells them apart.
    "SubscriptionConfirmation shown as UnsubscribeConfirmation": Case(
        retyped(SUBSCRIBE, UNSUBSCRIBE), MISMATCH
    ),
    "UnsubscribeConfirmation shown as SubscriptionConfirmation": Case(
        retyped(UNSUBSCRIBE, SUBSCRIBE), MISMATCH
    ),
    "SubscriptionConfirmation shown as Notification": Case(
        retyped(SUBSCRIBE, NOTIFICATION), MISMATCH
    ),
    "Notification given a Token and SubscribeURL, shown as SubscriptionConfirmation": Case(
        retyped(
            NOTIFICATION,
            SUBSCRIBE,
            Token=_TOKEN,
            SubscribeURL="https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
            f"&TopicArn={TOPIC}&Token={_TOKEN}",
        ),
        MISMATCH,
    ),
    "Notification without Token shown as SubscriptionConfirmation": Case(
        retyped(NOTIFICATION, SUBSCRIBE), missing("Token")
    ),
    "Subject inserted": Case(lambda kit: kit.make(subject=None) | {"Subject": SUBJECT}, MISMATCH),
    "Subject removed": Case(without("Subject"), MISMATCH),
    # A null Subject is read as absent (SPEC §2), so it is left out of the string to sign.
    "Subject nulled": Case(replaced(Subject=None), MISMATCH),
    "Message re-serialised as equal JSON": Case(
        lambda kit: kit.make() | {"Message": json.dumps(json.loads(MESSAGE), indent=1)}, MISMATCH
    ),
    "Message with a newline appended": Case(
        lambda kit: kit.make() | {"Message": MESSAGE + "\n"}, MISMATCH
    ),
    "Message with a NUL appended": Case(
        lambda kit: kit.make() | {"Message": MESSAGE + "\0"}, MISMATCH
    ),
    "Message NFC signed, NFD shown": Case(
        with_message("Caf\u00e9", unicodedata.normalize("NFD", "Caf\u00e9")), MISMATCH
    ),
    "Message with a trailing space stripped": Case(with_message("bounce ", "bounce"), MISMATCH),
}


# The string to sign is "Key\nValue\n" per field: a line break inside a value can move text
# across a field boundary and leave the signed bytes, and so the signature, unchanged.
def moved_into_message_id(kit: Kit) -> dict[str, Any]:
    signed = kit.resign(kit.make(), Message="{}\nMessageId\nB", MessageId="C")
    return signed | {"Message": "{}", "MessageId": "B\nMessageId\nC"}


def moved_into_subject(kit: Kit) -> dict[str, Any]:
    signed = kit.resign(
        kit.make(subject=None), Message="{}\nMessageId\nB\nSubject\nS", MessageId="C"
    )
    return signed | {"Message": "{}", "MessageId": "B", "Subject": "S\nMessageId\nC"}


def moved_into_subscribe_url(kit: Kit) -> dict[str, Any]:
    signed = kit.resign(
        kit.make(SUBSCRIBE), Message="m\nMessageId\nB\nSubscribeURL\nU", MessageId="C"
    )
    tail = f"U\nMessageId\nC\nSubscribeURL\n{signed['SubscribeURL']}"
    return signed | {"Message": "m", "MessageId": "B", "SubscribeURL": tail}


BOUNDARY_CASES: dict[str, Case] = {
    "Message tail moved into MessageId": Case(
        moved_into_message_id, Refused(403, "signature", r"^MessageId contains a line break")
    ),
    "Message tail moved into a Subject": Case(
        moved_into_subject, Refused(403, "signature", r"^Subject contains a line break")
    ),
    "Message tail moved into SubscribeURL": Case(
        moved_into_subscribe_url, Refused(403, "signature", r"^SubscribeURL contains a line break")
    ),
}


class TestSignedFields:
    """One byte of one signed field (or the message type), under SHA1 and SHA256."""

    @each(in_both_versions(SIGNED_FIELD_CASES))
    async def test_one_byte_changed(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)

    @each(in_both_versions(CONFUSION_CASES))
    async def test_type_and_field_confusion(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)

    @each(in_both_versions(BOUNDARY_CASES))
    async def test_field_boundary_moved(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)


# --- 2. Amazon's own signed messages ---------------------------------------------------


def genuine_changes(
    name: str,
) -> dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], Refused]]:
    """Each one-byte change of a genuine message, and what stops it.

    The app's allowlist holds each genuine topic and its one-byte twin, so a changed
    TopicArn reaches the signature too; only Type is stopped earlier, by name.
    """
    data = Genuine(name).data
    changes: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], Refused]] = {}
    for key in signed_fields(data):
        index = TAMPERING[key][0]
        expected = BAD_TYPE if key == "Type" else MISMATCH

        def change(d: dict[str, Any], key: str = key, index: int = index) -> dict[str, Any]:
            return d | {key: tweak(d[key], index=index)}

        changes[key] = (change, expected)
    if data["Type"] == NOTIFICATION and data.get("Subject") is None:
        changes["Subject inserted"] = (lambda d: d | {"Subject": SUBJECT}, MISMATCH)
    changes["SignatureVersion swapped"] = (
        lambda d: d | {"SignatureVersion": OTHER_VERSION[d["SignatureVersion"]]},
        MISMATCH,
    )
    return changes


GENUINE_CASES = [
    pytest.param(name, change, id=f"{name} {change}")
    for name in GENUINE
    for change in genuine_changes(name)
]


@pytest.fixture(scope="module")
def genuine_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("genuine-certs")
    for name in GENUINE:
        Genuine(name).provision(directory)
    return directory


def at_its_time(item: Genuine) -> datetime:
    return datetime.fromisoformat(item.data["Timestamp"]) + timedelta(seconds=2)


# Every genuine topic and its one-byte twin, so a changed TopicArn reaches the signature.
GENUINE_TOPICS = sorted(
    {
        arn
        for n in GENUINE
        for arn in (Genuine(n).data["TopicArn"], tweak(Genuine(n).data["TopicArn"]))
    }
)


class TestGenuineMessages:
    @pytest.mark.parametrize("name", GENUINE)
    async def test_untouched_is_accepted(self, apps: Apps, name: str, genuine_certs: Path) -> None:
        item = Genuine(name)
        bouncer = await apps.get(
            accepting=True,
            clock=at_its_time(item),
            SNS_CERT_DIR=genuine_certs,
            SNS_TOPIC_ARNS=GENUINE_TOPICS,
        )
        answer = await bouncer.post((item.body, post_args(item.data)[1]), hostile=False)
        assert answer.response.status_code == 200, answer.response.text
        if item.data["Type"] == NOTIFICATION:
            assert answer.response.json() == {"status": "processed"}
            assert answer.requests == []
        else:  # confirmed through its SubscribeURL, on SNS in the topic's region
            assert answer.response.json() == {"status": "confirmed"}
            assert [str(r.url) for r in answer.requests] == [item.data["SubscribeURL"]]
        assert not any(is_foreign(r) for r in answer.requests)

    @pytest.mark.parametrize(("name", "change"), GENUINE_CASES)
    async def test_one_byte_changed_is_refused(
        self, apps: Apps, name: str, change: str, genuine_certs: Path
    ) -> None:
        item = Genuine(name)
        bouncer = await apps.get(
            clock=at_its_time(item), SNS_CERT_DIR=genuine_certs, SNS_TOPIC_ARNS=GENUINE_TOPICS
        )
        alter, expected = genuine_changes(name)[change]
        answer = await bouncer.post(alter(item.data))
        await assert_refused(bouncer, answer, expected)


# --- 3. the Signature and SignatureVersion fields ---------------------------------------


def signature(transform: Callable[[str], str]) -> Forge:
    def forge(kit: Kit) -> dict[str, Any]:
        envelope = kit.make()
        return envelope | {"Signature": transform(envelope["Signature"])}

    return forge


def urlsafe(kit: Kit) -> dict[str, Any]:
    # Re-sign until the signature holds a "+" or "/" for the url-safe alphabet to change.
    envelope = kit.make()
    while not {"+", "/"} & set(envelope["Signature"]):
        envelope = kit.make()
    text = envelope["Signature"].replace("+", "-").replace("/", "_")
    return envelope | {"Signature": text}


def bit_flipped(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[len(raw) // 2] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def encoded(number: int) -> str:
    return base64.b64encode(number.to_bytes(256, "big")).decode()


def modulus(kit: Kit) -> dict[str, Any]:
    # A value the size of the key but not below the modulus is no RSA signature at all.
    n = kit.signer.key.public_key().public_numbers().n
    return kit.make() | {"Signature": encoded(n)}


def borrowed(kit: Kit) -> dict[str, Any]:
    other = kit.make(message="something else entirely")
    return kit.make() | {"Signature": other["Signature"]}


SIGNATURE_CASES: dict[str, Case] = {
    "truncated by 4 characters": Case(signature(lambda s: s[:-4]), MISMATCH),
    "truncated by 1 character": Case(signature(lambda s: s[:-1]), NOT_BASE64),
    "truncated to half": Case(signature(lambda s: s[: len(s) // 2]), MISMATCH),
    "url-safe alphabet": Case(urlsafe, NOT_BASE64),
    "MIME line breaks": Case(
        signature(lambda s: "\n".join(s[i : i + 76] for i in range(0, len(s), 76))), NOT_BASE64
    ),
    "a space inside": Case(signature(lambda s: s[:100] + " " + s[100:]), NOT_BASE64),
    "leading space": Case(signature(lambda s: " " + s), NOT_BASE64),
    "trailing newline": Case(signature(lambda s: s + "\n"), NOT_BASE64),
    "padding removed": Case(signature(lambda s: s.rstrip("=")), NOT_BASE64),
    "padding doubled": Case(signature(lambda s: s + "=="), NOT_BASE64),
    "doubled": Case(signature(lambda s: s + s), NOT_BASE64),
    "empty": Case(signature(lambda s: ""), MISMATCH),
    "not base64": Case(signature(lambda s: "this is not base64!"), NOT_BASE64),
    "non-ASCII": Case(
        signature(lambda s: "\u043f\u043e\u0434\u043f\u0438\u0441\u044c"), NOT_BASE64
    ),
    "hex instead of base64": Case(signature(lambda s: base64.b64decode(s).hex()), MISMATCH),
    "one bit flipped": Case(signature(bit_flipped), MISMATCH),
    "all zero bytes": Case(signature(lambda s: encoded(0)), MISMATCH),
    "the number one": Case(signature(lambda s: encoded(1)), MISMATCH),
    "the key's modulus": Case(modulus, MISMATCH),
    "another message's signature": Case(borrowed, MISMATCH),
    "the other version's SignatureVersion": Case(
        lambda kit: kit.make() | {"SignatureVersion": OTHER_VERSION[kit.version]}, MISMATCH
    ),
}

SIGNATURE_FIELD_CASES: dict[str, Case] = {
    "Signature missing": Case(without("Signature"), missing("Signature")),
    "Signature null": Case(replaced(Signature=None), missing("Signature")),
    "Signature a number": Case(replaced(Signature=12345), not_a_string("Signature")),
    "Signature a list": Case(replaced(Signature=["QUJD"]), not_a_string("Signature")),
}

VERSION_CASES: dict[str, Case] = {
    **{
        f"SignatureVersion {value!r}": Case(replaced(SignatureVersion=value), UNSUPPORTED)
        for value in ("3", "0", "", "01", "1.0", " 1", "2 ", "2\n", "-1", "v1", "SHA256")
    },
    "SignatureVersion fullwidth 1": Case(replaced(SignatureVersion="\uff11"), UNSUPPORTED),
    "SignatureVersion 1 as a number": Case(
        replaced(SignatureVersion=1), not_a_string("SignatureVersion")
    ),
    "SignatureVersion 2 as a number": Case(
        replaced(SignatureVersion=2), not_a_string("SignatureVersion")
    ),
    "SignatureVersion true": Case(
        replaced(SignatureVersion=True), not_a_string("SignatureVersion")
    ),
    "SignatureVersion null": Case(replaced(SignatureVersion=None), missing("SignatureVersion")),
    "SignatureVersion missing": Case(without("SignatureVersion"), missing("SignatureVersion")),
    "SignatureVersion 1 under SNS_MIN_SIGNATURE_VERSION=2": Case(
        lambda kit: kit.make(version="1"), BELOW_MINIMUM, {"SNS_MIN_SIGNATURE_VERSION": 2}
    ),
    "SignatureVersion 1 under the minimum, hostile SigningCertURL": Case(
        replaced(SigningCertURL=EVIL_PEM), BELOW_MINIMUM, {"SNS_MIN_SIGNATURE_VERSION": 2}
    ),
    "unsupported SignatureVersion, hostile SigningCertURL": Case(
        replaced(SignatureVersion="3", SigningCertURL=EVIL_PEM), UNSUPPORTED
    ),
}


class TestSignatureField:
    @each(in_both_versions(SIGNATURE_CASES))
    async def test_signature_reencoded_or_replaced(
        self, apps: Apps, forger: Kit, case: Case
    ) -> None:
        await refuse_case(apps, forger, case)

    @each(SIGNATURE_FIELD_CASES)
    async def test_signature_absent_or_not_text(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)

    @each(VERSION_CASES)
    async def test_signature_version(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)


# --- 4. SigningCertURL ----------------------------------------------------------------

_PEM = "SimpleNotificationService-0123abcd.pem"
_SNS = "sns.us-east-1.amazonaws.com"

# Beyond tests/sns/test_certificates.py's HOSTILE_CERT_URLS (all of which run below too).
MORE_HOSTILE_CERT_URLS = {
    # percent-encoding
    "whole host percent-encoded": "https://" + "".join(f"%{ord(c):02X}" for c in _SNS) + f"/{_PEM}",
    "dot before region encoded": f"https://sns%2Eus-east-1.amazonaws.com/{_PEM}",
    "encoded @ userinfo": f"https://{_SNS}%40evil.com/{_PEM}",
    "encoded slash in path": f"https://{_SNS}/a%2F{_PEM}",
    "double-encoded dot": f"https://sns.us-east-1.amazonaws%252Ecom/{_PEM}",
    # trailing and doubled dots
    "trailing dot, China": f"https://sns.cn-north-1.amazonaws.com.cn./{_PEM}",
    "trailing dot with port": f"https://{_SNS}.:443/{_PEM}",
    "doubled dot": f"https://sns.us-east-1..amazonaws.com/{_PEM}",
    # backslashes
    "backslashes for slashes": f"https:\\\\{_SNS}\\{_PEM}",
    "backslash in path": f"https://{_SNS}/a\\{_PEM}",
    # case
    "mixed-case domain": f"https://sns.us-east-1.AmazonAWS.com/{_PEM}",
    "upper-case TLD": f"https://sns.us-east-1.amazonaws.COM/{_PEM}",
    "mixed-case scheme": f"Https://{_SNS}/{_PEM}",
    "upper-case .PEM": f"https://{_SNS}/SimpleNotificationService-0123abcd.PEM",
    # Unicode dots and look-alikes (IDNA would map these to ASCII)
    "U+3002 before region": f"https://sns\u3002us-east-1.amazonaws.com/{_PEM}",
    "U+FF0E fullwidth full stop": f"https://sns.us-east-1.amazonaws\uff0ecom/{_PEM}",
    "U+FF61 halfwidth ideographic full stop": f"https://sns.us-east-1\uff61amazonaws.com/{_PEM}",
    "U+2024 one dot leader": f"https://sns.us-east-1.amazonaws\u2024com/{_PEM}",
    "fullwidth letters": f"https://\uff53\uff4e\uff53.us-east-1.amazonaws.com/{_PEM}",
    "long s": f"https://\u017fns.us-east-1.amazonaws.com/{_PEM}",
    "Greek omicron": f"https://sns.us-east-1.amaz\u03bfnaws.com/{_PEM}",
    "zero-width space": f"https://sns\u200b.us-east-1.amazonaws.com/{_PEM}",
    "soft hyphen": f"https://sns.us-east-1.amazon\u00adaws.com/{_PEM}",
    "punycode label": f"https://xn--sns-9na.us-east-1.amazonaws.com/{_PEM}",
    "punycode domain": f"https://sns.us-east-1.xn--amazonaws-y0a.com/{_PEM}",
    # user info
    "empty user info": f"https://@{_SNS}/{_PEM}",
    "two @": f"https://a@{_SNS}@evil.com/{_PEM}",
    "fragment hides the host": f"https://evil.com#@{_SNS}/{_PEM}",
    "query hides the host": f"https://evil.com?@{_SNS}/{_PEM}",
    # other schemes
    "ftp": f"ftp://{_SNS}/{_PEM}",
    "file": f"file:///etc/ssl/{_PEM}",
    "no scheme": f"{_SNS}/{_PEM}",
    "data": "data:application/x-pem-file;base64,LS0tLS1CRUdJTg==",
    "wss": f"wss://{_SNS}/{_PEM}",
    # ports
    "port 65536": f"https://{_SNS}:65536/{_PEM}",
    "port +443": f"https://{_SNS}:+443/{_PEM}",
    "port 443 twice": f"https://{_SNS}:443:443/{_PEM}",
    "port 4430": f"https://{_SNS}:4430/{_PEM}",
    # addresses that are not SNS
    "instance metadata": f"https://169.254.169.254/latest/meta-data/{_PEM}",
    "localhost": f"https://localhost/{_PEM}",
    "decimal IP": f"https://2130706433/{_PEM}",
    "hex IP": f"https://0x7f000001/{_PEM}",
    "IPv4-mapped IPv6": f"https://[::ffff:169.254.169.254]/{_PEM}",
    # paths
    "path ends in a slash": f"https://{_SNS}/{_PEM}/",
    "encoded NUL then .txt": f"https://{_SNS}/{_PEM}%00.txt",
    "path parameter": f"https://{_SNS}/{_PEM};x=y",
    "no name before .pem": f"https://{_SNS}/.pem",
    "encoded dot segment": f"https://{_SNS}/%2E%2E/{_PEM}",
    "tab at the end": f"https://{_SNS}/{_PEM}\t",
    "query named .pem": f"https://{_SNS}/x?.pem",
    "second URL in the query": f"https://{_SNS}/{_PEM}?https://evil.com/{_PEM}",
    # very long
    "100 KB path on a foreign host": f"https://evil.com/{'a' * 100_000}.pem",
    "10,000 labels before the SNS host": f"https://{'a.' * 10_000}{_SNS}/{_PEM}",
    "a region of 20,000 parts": f"https://sns.us{'-east' * 20_000}!.amazonaws.com/{_PEM}",
    "100 KB path that never ends in .pem": f"https://{_SNS}/{'a.' * 50_000}x",
}

CERT_URL_CASES: dict[str, Case] = {
    **{
        name: Case(replaced(SigningCertURL=url), CERT_URL)
        for name, url in HOSTILE_CERT_URLS.items()
    },
    **{
        name: Case(replaced(SigningCertURL=url), CERT_URL)
        for name, url in MORE_HOSTILE_CERT_URLS.items()
    },
    # The spelling Lambda uses is read as the same field, hostile or not.
    "SigningCertUrl spelling, foreign host": Case(
        lambda kit: without("SigningCertURL")(kit) | {"SigningCertUrl": EVIL_PEM}, CERT_URL
    ),
    "both spellings, different values": Case(
        replaced(SigningCertUrl=EVIL_PEM),
        malformed(r"^the body carries SigningCertURL and SigningCertUrl with different values"),
    ),
    "SigningCertURL missing": Case(without("SigningCertURL"), missing("SigningCertURL")),
    "SigningCertURL a number": Case(replaced(SigningCertURL=443), not_a_string("SigningCertURL")),
    "SigningCertURL an object": Case(
        replaced(SigningCertURL={"url": EVIL_PEM}), not_a_string("SigningCertURL")
    ),
}


class TestSigningCertUrl:
    async def test_the_extra_table_adds_only_new_urls(self) -> None:
        assert not set(MORE_HOSTILE_CERT_URLS.values()) & set(HOSTILE_CERT_URLS.values())

    @each(CERT_URL_CASES)
    async def test_refused_before_any_request(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)


# --- 5. the signing certificate ---------------------------------------------------------

_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
_EXPIRY = datetime(2020, 1, 1, tzinfo=UTC)
_FAR_OFF = datetime(2100, 1, 1, tzinfo=UTC)


def under_certificate(
    name: str, not_before: datetime, not_after: datetime, *, timestamp: datetime = NOW
) -> Forge:
    """Signed by the SNS key, naming a certificate for that same key with other dates."""

    def forge(kit: Kit) -> dict[str, Any]:
        other = SnsSigner.create(
            key=kit.signer.key, not_before=not_before, not_after=not_after, name=name
        )
        other.write_cert(kit.cert_dir)
        envelope = kit.make(timestamp=timestamp)
        return kit.resign(envelope, SigningCertURL=other.cert_url())

    return forge


def attackers_own(url: str) -> Forge:
    """Signed by the attacker's key, naming the attacker's certificate at ``url``."""
    return lambda kit: kit.attacker.sign(kit.make() | {"SigningCertURL": url}, kit.version)


_WHOLE_SECOND = NOW.replace(microsecond=0)
CERTIFICATE_CASES: dict[str, Case] = {
    "expired years before the Timestamp": Case(
        under_certificate("expired", _LONG_AGO, _EXPIRY), CERT_TIME
    ),
    "expired 123 ms before the Timestamp": Case(
        under_certificate("just-expired", _LONG_AGO, _WHOLE_SECOND), CERT_TIME
    ),
    "valid from a second after the Timestamp": Case(
        under_certificate("not-yet", _WHOLE_SECOND + timedelta(seconds=1), _FAR_OFF), CERT_TIME
    ),
    "valid from next year": Case(
        under_certificate("next-year", NOW + timedelta(days=365), _FAR_OFF), CERT_TIME
    ),
    # Turning the age check off does not turn the certificate's dates off.
    "expired, with SNS_MAX_AGE_SECONDS=0": Case(
        under_certificate("expired", _LONG_AGO, _EXPIRY), CERT_TIME, {"SNS_MAX_AGE_SECONDS": 0}
    ),
    # A leaked key whose certificate expired: back-dating the Timestamp into the old
    # validity only makes the message too old, and it is refused before the certificate.
    "expired key, Timestamp back-dated into its validity": Case(
        under_certificate(
            "expired", _LONG_AGO, _EXPIRY, timestamp=datetime(2019, 6, 1, tzinfo=UTC)
        ),
        STALE,
    ),
    "another key, naming the SNS certificate": Case(
        lambda kit: attackers_own(kit.signer.cert_url())(kit), MISMATCH
    ),
    "own 'sns.amazonaws.com' certificate on the attacker's host": Case(
        attackers_own(EVIL_PEM), CERT_URL
    ),
    "own certificate on S3": Case(
        attackers_own("https://s3.amazonaws.com/sns-certs/SimpleNotificationService-x.pem"),
        CERT_URL,
    ),
    "own certificate on an SNS-like host": Case(
        attackers_own(f"https://{_SNS}.attacker.example/SimpleNotificationService-x.pem"),
        CERT_URL,
    ),
    "own certificate on another AWS service": Case(
        attackers_own("https://sqs.us-east-1.amazonaws.com/SimpleNotificationService-x.pem"),
        CERT_URL,
    ),
}


class TestSigningCertificate:
    async def test_the_attacker_certificate_claims_to_be_sns(self, attacker: SnsSigner) -> None:
        assert attacker.certificate.subject == attacker.certificate.issuer
        assert "sns.amazonaws.com" in attacker.certificate.subject.rfc4514_string()

    @each(in_both_versions(CERTIFICATE_CASES))
    async def test_refused(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)


# --- 6. topics --------------------------------------------------------------------------

_ACCOUNT = "123456789012"


def from_topic(arn: str) -> Forge:
    """Signed by the SNS key: a valid signature proves only that *some* topic sent it."""
    return lambda kit: kit.resign(kit.make(), TopicArn=arn)


def topic_table(rows: Mapping[str, tuple[str, Refused]], **settings: Any) -> dict[str, Case]:
    return {
        name: Case(from_topic(arn), expected, settings) for name, (arn, expected) in rows.items()
    }


_NAME = TOPIC.rsplit(":", 1)[1]
EXACT_ALLOWLIST = topic_table(
    {
        "another account": (TOPIC.replace(_ACCOUNT, "999999999999"), TOPIC_REFUSED),
        "another region": (TOPIC.replace("us-east-1", "us-east-2"), TOPIC_REFUSED),
        "name prefix": (TOPIC[:-1], TOPIC_REFUSED),
        "name suffix": (TOPIC + "-evil", TOPIC_REFUSED),
        "FIFO twin": (TOPIC + ".fifo", TOPIC_REFUSED),
        "name in upper case": (TOPIC.replace(_NAME, _NAME.upper()), TOPIC_REFUSED),
        "China partition": (
            f"arn:aws-cn:sns:cn-north-1:{_ACCOUNT}:{_NAME}",
            TOPIC_REFUSED,
        ),
        "GovCloud partition": (
            f"arn:aws-us-gov:sns:us-gov-west-1:{_ACCOUNT}:{_NAME}",
            TOPIC_REFUSED,
        ),
        # A topic name holds no ":" or white space, so these are no topic ARN at all.
        "trailing colon": (TOPIC + ":", NOT_AN_ARN),
        "trailing space": (TOPIC + " ", NOT_AN_ARN),
        "trailing newline": (TOPIC + "\n", NOT_AN_ARN),
        "leading space": (" " + TOPIC, NOT_AN_ARN),
        "subscription ARN of the topic": (
            TOPIC + ":0b6e3e5f-9d1c-4a8e-8f34-5a1c9d2e7b10",
            NOT_AN_ARN,
        ),
        "upper-case ARN": (TOPIC.upper(), NOT_AN_ARN),
        "upper-case region": (TOPIC.replace("us-east-1", "US-EAST-1"), NOT_AN_ARN),
        "fullwidth digits in the account": (
            TOPIC.replace(_ACCOUNT, "".join(chr(0xFF10 + int(d)) for d in _ACCOUNT)),
            NOT_AN_ARN,
        ),
        "empty": ("", NOT_AN_ARN),
    }
)
ACCOUNT_WIDE_ALLOWLIST = topic_table(
    {
        "13-digit account": ("arn:aws:sns:us-east-1:1234567890123:x", NOT_AN_ARN),
        "11-digit account": ("arn:aws:sns:us-east-1:12345678901:x", NOT_AN_ARN),
        "the next account": ("arn:aws:sns:us-east-1:123456789013:x", TOPIC_REFUSED),
        "account as the topic name": (
            f"arn:aws:sns:us-east-1:999999999999:{_ACCOUNT}",
            TOPIC_REFUSED,
        ),
        "account inside the topic name": (
            f"arn:aws:sns:us-east-1:999999999999:x-{_ACCOUNT}-y",
            TOPIC_REFUSED,
        ),
        # The straddle a "*" could make if a name could hold ":".
        "account straddled by a name with colons": (
            f"arn:aws:sns:us-east-1:999999999999:x:{_ACCOUNT}:y",
            NOT_AN_ARN,
        ),
        "account in the region's place": (f"arn:aws:sns:{_ACCOUNT}:999999999999:x", NOT_AN_ARN),
        "China partition": (f"arn:aws-cn:sns:cn-north-1:{_ACCOUNT}:x", TOPIC_REFUSED),
        "GovCloud partition": (f"arn:aws-us-gov:sns:us-gov-west-1:{_ACCOUNT}:x", TOPIC_REFUSED),
        "upper-case partition": (f"arn:AWS:sns:us-east-1:{_ACCOUNT}:x", NOT_AN_ARN),
        "SQS, not SNS": (f"arn:aws:sqs:us-east-1:{_ACCOUNT}:x", NOT_AN_ARN),
        "trailing colon": (f"arn:aws:sns:us-east-1:{_ACCOUNT}:x:", NOT_AN_ARN),
        "trailing tab": (f"arn:aws:sns:us-east-1:{_ACCOUNT}:x\t", NOT_AN_ARN),
    },
    SNS_TOPIC_ARNS=ACCOUNT_WIDE,
)
ONE_REGION_ALLOWLIST = topic_table(
    {
        "another region": (f"arn:aws:sns:us-east-1:{_ACCOUNT}:x", TOPIC_REFUSED),
        "a region that starts the same": (f"arn:aws:sns:eu-west-10:{_ACCOUNT}:x", TOPIC_REFUSED),
        "the region as a name prefix": (
            f"arn:aws:sns:eu-west-2:{_ACCOUNT}:eu-west-1",
            TOPIC_REFUSED,
        ),
    },
    SNS_TOPIC_ARNS=f"arn:aws:sns:eu-west-1:{_ACCOUNT}:*",
)
_FOREIGN = "arn:aws:sns:us-east-1:999999999999:attacker"
OTHER_TOPIC_CASES: dict[str, Case] = {
    "no topic allowed at all": Case(lambda kit: kit.make(), NO_TOPICS, {"SNS_TOPIC_ARNS": []}),
    # Never confirmed, so its SubscribeURL is never requested.
    "SubscriptionConfirmation from a foreign topic": Case(
        lambda kit: kit.make(SUBSCRIBE, topic_arn=_FOREIGN), TOPIC_REFUSED
    ),
    "UnsubscribeConfirmation from a foreign topic": Case(
        lambda kit: kit.make(UNSUBSCRIBE, topic_arn=_FOREIGN), TOPIC_REFUSED
    ),
    "foreign topic, hostile SigningCertURL and SignatureVersion": Case(
        lambda kit: (
            kit.make(topic_arn=_FOREIGN) | {"SigningCertURL": EVIL_PEM, "SignatureVersion": "9"}
        ),
        TOPIC_REFUSED,
    ),
}


class TestTopics:
    @each(EXACT_ALLOWLIST)
    async def test_exact_allowlist(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)

    @each(ACCOUNT_WIDE_ALLOWLIST)
    async def test_account_wide_allowlist(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)

    @each(ONE_REGION_ALLOWLIST)
    async def test_one_region_allowlist(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)

    @each(OTHER_TOPIC_CASES)
    async def test_other(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)


# --- 7. Timestamps ------------------------------------------------------------------------


def stamped(raw: Any) -> Forge:
    """Signed by the SNS key with Timestamp ``raw``, so only the time rule can refuse it."""
    return lambda kit: kit.resign(kit.make(), Timestamp=raw)


def at(moment: datetime) -> Forge:
    return stamped(sns_timestamp(moment))


TIMESTAMP_CASES: dict[str, Case] = {
    "1 ms past SNS_MAX_AGE_SECONDS": Case(at(NOW - timedelta(seconds=3600, milliseconds=1)), STALE),
    "a day old": Case(at(NOW - timedelta(days=1)), STALE),
    "the Unix epoch": Case(stamped("1970-01-01T00:00:00.000Z"), STALE),
    "year 1": Case(stamped("0001-01-01T00:00:00.000Z"), STALE),
    "61 s old under SNS_MAX_AGE_SECONDS=60": Case(
        at(NOW - timedelta(seconds=61)), STALE, {"SNS_MAX_AGE_SECONDS": 60}
    ),
    "1 s past the clock skew": Case(at(NOW + timedelta(minutes=5, seconds=1)), FUTURE),
    "tomorrow": Case(at(NOW + timedelta(days=1)), FUTURE),
    "year 9999": Case(stamped("9999-12-31T23:59:59.999Z"), FUTURE),
    # The same wall time in another zone is another instant.
    "+14:00 (14 h old)": Case(stamped("2025-06-02T12:00:00.123+14:00"), STALE),
    "-12:00 (12 h ahead)": Case(stamped("2025-06-02T12:00:00.123-12:00"), FUTURE),
    "+23:59 (a day old)": Case(stamped("2025-06-02T12:00:00.123+23:59"), STALE),
    # Instants outside what a datetime can hold in UTC.
    "year 9999 west of UTC": Case(stamped("9999-12-31T23:59:59.999-01:00"), OUT_OF_RANGE),
    "year 1 east of UTC": Case(stamped("0001-01-01T00:00:00.000+01:00"), OUT_OF_RANGE),
    **{
        f"malformed {raw!r}": Case(stamped(raw), BAD_TIME)
        for raw in (
            "",
            "yesterday",
            "NaN",
            "1748865600",
            "2025-06-02T12:00:00.123",  # no zone
            "2025-06-02",  # no zone
            "2025-06-02T12:00:00.123z",
            "2025-06-02T12:00:00.123Z\n",
            "2025-13-02T12:00:00.000Z",
            "2025-06-31T12:00:00.000Z",
            "2025-06-02T24:00:01.000Z",
            "2025-06-30T23:59:60.000Z",  # a leap second
            "2025-06-02T12:00:00.123+24:00",
            "+275760-09-13T00:00:00.000Z",
            "\uff12\uff10\uff12\uff15-06-02T12:00:00.000Z",
        )
    },
    "Timestamp a number": Case(stamped(1748865600), not_a_string("Timestamp")),
    "Timestamp null": Case(stamped(None), missing("Timestamp")),
}


class TestTimestamps:
    @each(TIMESTAMP_CASES)
    async def test_refused(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)


# --- 8. envelope and headers: two readings of one message -------------------------------


def foreign_body_allowed_header(kit: Kit) -> Posted:
    body, headers = post_args(kit.make(topic_arn=_FOREIGN))
    return body, headers | {"x-amz-sns-topic-arn": TOPIC}


ENVELOPE_CASES: dict[str, Case] = {
    # Two values for one key: one could be signed and the other used.
    **{
        f"{key} repeated": Case(with_body(appended(key, value)), REPEATED)
        for key, value in {
            "Message": "{}",
            "MessageId": "another-id",
            "TopicArn": _FOREIGN,
            "Timestamp": "2025-06-02T12:00:00.000Z",
            "Type": SUBSCRIBE,
            "Signature": "QUJD",
            "SignatureVersion": "2",
            "SigningCertURL": EVIL_PEM,
        }.items()
    },
    "TopicArn repeated through a JSON escape": Case(
        with_body(lambda text: text.rstrip()[:-1] + f', "T\\u006fpicArn": "{_FOREIGN}"}}'),
        REPEATED,
    ),
    "header names the allowed topic, body a foreign one": Case(
        foreign_body_allowed_header, header("x-amz-sns-topic-arn")
    ),
    "header says SubscriptionConfirmation": Case(
        with_headers(**{"x-amz-sns-message-type": SUBSCRIBE}), header("x-amz-sns-message-type")
    ),
    "header message id differs": Case(
        with_headers(**{"x-amz-sns-message-id": "another-id"}), header("x-amz-sns-message-id")
    ),
    "header type in lower case": Case(
        with_headers(**{"x-amz-sns-message-type": "notification"}),
        header("x-amz-sns-message-type"),
    ),
    "raw delivery claimed": Case(with_headers(**{"x-amz-sns-rawdelivery": "true"}), RAW),
    "Type missing": Case(without("Type"), BAD_TYPE),
    "Type a list": Case(replaced(Type=[NOTIFICATION]), BAD_TYPE),
    "TopicArn a number": Case(replaced(TopicArn=123456789012), not_a_string("TopicArn")),
    "Message an object": Case(
        replaced(Message={"notificationType": "Bounce"}), not_a_string("Message")
    ),
    "MessageId missing": Case(without("MessageId"), missing("MessageId")),
}


class TestEnvelope:
    @each(ENVELOPE_CASES)
    async def test_refused(self, apps: Apps, forger: Kit, case: Case) -> None:
        await refuse_case(apps, forger, case)


# --- 9. replays ---------------------------------------------------------------------------


class TestReplays:
    """SNS delivers at least once: the same MessageId again is answered ``duplicate``
    (SPEC §2) and changes nothing; a changed copy is a forgery and refused."""

    async def test_the_same_notification_twice(self, apps: Apps, forger: Kit) -> None:
        bouncer = await apps.get(accepting=True)
        envelope = forger.make()
        first = await bouncer.post(envelope, hostile=False)
        assert first.response.json() == {"status": "processed"}
        before = await snapshot(apps.accepting_url)
        again = await bouncer.post(envelope)
        assert again.response.json() == {"status": "duplicate"}
        assert again.requests == []
        assert again.causes == Counter()
        assert await snapshot(apps.accepting_url) == before

    async def test_the_same_notification_reformatted(self, apps: Apps, forger: Kit) -> None:
        bouncer = await apps.get(accepting=True)
        envelope = forger.make()
        await bouncer.post(envelope, hostile=False)
        before = await snapshot(apps.accepting_url)
        reordered = dict(sorted(envelope.items(), reverse=True))
        body = json.dumps(reordered, separators=(",", ":")).encode()
        again = await bouncer.post((body, post_args(envelope)[1]))
        assert again.response.json() == {"status": "duplicate"}
        assert await snapshot(apps.accepting_url) == before

    async def test_the_same_message_id_with_a_forged_body(self, apps: Apps, forger: Kit) -> None:
        bouncer = await apps.get(accepting=True)
        envelope = forger.make()
        await bouncer.post(envelope, hostile=False)
        before = await snapshot(apps.accepting_url)
        forged = envelope | {"Message": bounce(["cfo@example.com"], at=NOW)}
        answer = await bouncer.post(forged)
        assert answer.response.status_code == 403
        assert answer.causes == Counter({"signature": 1})
        assert re.search(MISMATCH.words, answer.error)
        assert await snapshot(apps.accepting_url) == before

    async def test_the_same_message_id_with_another_body_signed(
        self, apps: Apps, forger: Kit
    ) -> None:
        # SNS never re-signs one MessageId with another body; if it did, the first wins.
        bouncer = await apps.get(accepting=True)
        envelope = forger.make()
        await bouncer.post(envelope, hostile=False)
        before = await snapshot(apps.accepting_url)
        other = forger.resign(envelope, Message=bounce(["cfo@example.com"], at=NOW))
        answer = await bouncer.post(other)
        assert answer.response.json() == {"status": "duplicate"}
        assert await snapshot(apps.accepting_url) == before

    async def test_the_same_message_id_signed_with_the_other_version(
        self, apps: Apps, forger: Kit
    ) -> None:
        bouncer = await apps.get(accepting=True)
        envelope = forger.make()
        await bouncer.post(envelope, hostile=False)
        before = await snapshot(apps.accepting_url)
        answer = await bouncer.post(forger.signer.sign(envelope, "2"))
        assert answer.response.json() == {"status": "duplicate"}
        assert await snapshot(apps.accepting_url) == before

    async def test_a_forgery_first_reserves_nothing(self, apps: Apps, forger: Kit) -> None:
        bouncer = await apps.get(accepting=True)
        envelope = forger.make()
        before = await snapshot(apps.accepting_url)
        forged = await bouncer.post(envelope | {"Message": "{}"})
        assert forged.response.status_code == 403
        assert forged.causes == Counter({"signature": 1})
        assert await snapshot(apps.accepting_url) == before
        genuine = await bouncer.post(envelope, hostile=False)
        assert genuine.response.json() == {"status": "processed"}

    async def test_replayed_after_the_max_age(self, apps: Apps, forger: Kit) -> None:
        bouncer = await apps.get(accepting=True)
        envelope = forger.make()
        await bouncer.post(envelope, hostile=False)
        before = await snapshot(apps.accepting_url)
        bouncer.set_clock(NOW + timedelta(hours=2))
        answer = await bouncer.post(envelope)
        assert answer.response.status_code == 403
        assert answer.causes == Counter({"expired": 1})
        assert re.search(STALE.words, answer.error)
        assert await snapshot(apps.accepting_url) == before

    async def test_the_same_subscription_confirmation_twice(self, apps: Apps, forger: Kit) -> None:
        bouncer = await apps.get(accepting=True)
        envelope = forger.make(SUBSCRIBE)
        first = await bouncer.post(envelope, hostile=False)
        assert first.response.json() == {"status": "confirmed"}
        assert [str(r.url) for r in first.requests] == [envelope["SubscribeURL"]]
        before = await subscriptions(bouncer)
        again = await bouncer.post(envelope)
        assert again.response.json() == {"status": "duplicate"}
        assert again.requests == []  # not confirmed a second time
        assert await subscriptions(bouncer) == before

    async def test_a_notifications_message_id_reused_by_an_unsubscribe(
        self, apps: Apps, forger: Kit
    ) -> None:
        bouncer = await apps.get(accepting=True)
        envelope = forger.make()
        await bouncer.post(envelope, hostile=False)
        before = await subscriptions(bouncer)
        unsubscribe = forger.make(UNSUBSCRIBE, message_id=envelope["MessageId"])
        answer = await bouncer.post(unsubscribe)
        assert answer.response.json() == {"status": "duplicate"}
        assert await subscriptions(bouncer) == before


async def subscriptions(bouncer: Bouncer) -> list[tuple[str, str, str]]:
    database: Database = bouncer.app.state.services.database
    async with database.session() as session:
        rows = await session.scalars(select(Subscription).order_by(Subscription.topic_arn))
        return [(r.topic_arn, r.status, r.last_message_id) for r in rows]
