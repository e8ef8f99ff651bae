"""Hostile /v1 requests, each with the answer it must get and the state it must leave.

Dates, cursors, limits, addresses with and without an @, "/" in paths, huge bodies, wrong
types, unicode, display names and raw MIME variants, sent over HTTP to the app on a real
database (SQLite, or PostgreSQL with TEST_DATABASE_URL). No answer may be a 5xx; a refused
request changes no row (suppressions, their change log, events, sends); an accepted write
changes exactly what the case says.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.main import create_app
from app.models import Event, Send, Suppression, SuppressionChange
from app.services import Edges
from app.settings import Settings
from tests import figures
from tests.conftest import READ, WRITE, make_settings
from tests.recording_ses import RecordingSes
from tests.ses.conftest import use_fake_aws_credentials

TABLES = {"suppression": Suppression, "change": SuppressionChange, "event": Event, "send": Send}
NONE = {"Authorization": "Bearer not-a-token-we-issued"}


@dataclass(frozen=True)
class Case:
    label: str
    method: str
    path: str
    status: int
    params: dict[str, str] | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(WRITE))
    # Rows an accepted write adds, by table; a refused request must add none.
    adds: dict[str, int] = field(default_factory=dict)


def _get(label: str, path: str, status: int, headers: dict[str, str] = READ, **params: str) -> Case:
    return Case(label, "GET", path, status, params=params, headers=headers)


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


BAD_DATES = [
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+05:00",
    "0000-01-01",
    "10000-01-01",
    "2026-13-01",
    "2026-02-30",
    "2026-12-01T25:00:00",
    "2026-12-01T10:00:00+24:00",
    "yesterday",
    "1e30",
    "",
    "\uff12\uff10\uff12\uff16-\uff11\uff12-\uff10\uff11",
    "2026-12-01\x00",
    "9" * 100,
]
GOOD_DATES = ["2026-12-01", "2026-12-01T10:00:00", "2026-12-01T10:00:00Z", "0001-01-01"]

DATE_CASES = [
    Case(f"{where} {name}={value!r}", "GET", where, 422, params={name: value}, headers=READ)
    for where, name in (
        ("/v1/suppressions", "since"),
        ("/v1/suppressions", "until"),
        ("/v1/events", "since"),
    )
    for value in BAD_DATES
] + [
    Case(f"{where} {name}={value!r}", "GET", where, 200, params={name: value}, headers=READ)
    for where, name in (("/v1/suppressions", "since"), ("/v1/suppressions", "until"))
    for value in GOOD_DATES
]

EXPIRES = "/v1/suppressions/exp@example.com"
PUT_DATE_CASES = [
    Case(f"PUT expires_at={value!r}", "PUT", EXPIRES, 422, json={"expires_at": value})
    for value in BAD_DATES
] + [
    Case(
        "PUT expires_at naive (UTC)",
        "PUT",
        EXPIRES,
        201,
        json={"expires_at": "2099-01-01T00:00:00"},
        adds={"suppression": 1, "change": 1},
    ),
    Case(
        "PUT expires_at a date",
        "PUT",
        "/v1/suppressions/exp2@example.com",
        201,
        json={"expires_at": "2099-01-01"},
        adds={"suppression": 1, "change": 1},
    ),
    Case("PUT expires_at a number", "PUT", EXPIRES, 422, json={"expires_at": 4102444800}),
    Case("PUT expires_at true", "PUT", EXPIRES, 422, json={"expires_at": True}),
    Case("PUT expires_at a list", "PUT", EXPIRES, 422, json={"expires_at": ["2099-01-01"]}),
    Case("PUT expires_at in the past", "PUT", EXPIRES, 422, json={"expires_at": "2001-01-01"}),
]

CURSOR_CASES = (
    [
        _get(f"events cursor={value!r}", "/v1/events", 422, cursor=value)
        for value in [
            str(2**63),
            str(2**64),
            str(10**30),
            "-1",
            "0",
            "abc",
            "1.5",
            "0x10",
            "",
            " 1",
        ]
    ]
    + [
        _get("events cursor=2^63-1", "/v1/events", 200, cursor=str(2**63 - 1)),
        _get("events cursor=1", "/v1/events", 200, cursor="1"),
    ]
    + [
        _get(f"suppressions cursor {label}", "/v1/suppressions", 422, cursor=value)
        for label, value in [
            ("garbage", "garbage"),
            ("not base64", "!!!!"),
            ("past year 9999", _cursor(["9999-12-31T23:00:00-05:00", "a@example.com"])),
            ("naive", _cursor(["2026-12-01T10:00:00", "a@example.com"])),
            ("NUL", _cursor(["2026-12-01T10:00:00+00:00", "a\x00@example.com"])),
            ("number email", _cursor(["2026-12-01T10:00:00+00:00", 5])),
            ("number date", _cursor([1, "a@example.com"])),
            ("object", _cursor({"a": 1})),
            ("one item", _cursor(["2026-12-01T10:00:00+00:00"])),
            ("null", _cursor(None)),
            ("huge", "A" * 2001),
            ("year 0", _cursor(["0000-01-01T00:00:00+00:00", "a@example.com"])),
        ]
    ]
    + [
        _get(
            "suppressions cursor as issued",
            "/v1/suppressions",
            200,
            cursor=_cursor(["2026-12-01T10:00:00+00:00", "a@example.com"]),
        )
    ]
)

LIMIT_CASES = [
    _get(f"{where} limit={value}", where, 422, limit=value)
    for where in ("/v1/suppressions", "/v1/events")
    for value in ["0", "-1", str(10**30), "1.5", "x", "1001", ""]
] + [
    _get(f"{where} limit=1000", where, 200, limit="1000")
    for where in ("/v1/suppressions", "/v1/events")
]

ADDED = {"suppression": 1, "change": 1}
ADDRESS_CASES = [
    Case("PUT no @", "PUT", "/v1/suppressions/not-an-address", 422, json={}),
    Case("DELETE no @", "DELETE", "/v1/suppressions/not-an-address", 422),
    _get("GET no @", "/v1/suppressions/not-an-address", 422),
    Case("PUT two @", "PUT", "/v1/suppressions/a@@example.com", 422, json={}),
    Case("PUT nothing after @", "PUT", "/v1/suppressions/a@", 422, json={}),
    Case("PUT nothing before @", "PUT", "/v1/suppressions/@example.com", 422, json={}),
    Case("PUT lone @", "PUT", "/v1/suppressions/@", 422, json={}),
    Case("PUT newline", "PUT", "/v1/suppressions/a%0Ab@example.com", 422, json={}),
    Case("PUT NUL", "PUT", "/v1/suppressions/a%00b@example.com", 422, json={}),
    Case("PUT a list", "PUT", "/v1/suppressions/a@example.com,b@example.com", 422, json={}),
    Case("PUT 2000 characters", "PUT", f"/v1/suppressions/{'a' * 2000}@example.com", 422, json={}),
    Case("PUT non-ASCII local part", "PUT", "/v1/suppressions/jos%C3%A9@example.com", 422, json={}),
    Case("PUT dotless domain", "PUT", "/v1/suppressions/a@localhost", 422, json={}),
    Case("PUT zero-width space", "PUT", "/v1/suppressions/a%E2%80%8B@example.com", 422, json={}),
    Case("PUT a slash", "PUT", "/v1/suppressions/a%2Fb@example.com", 201, json={}, adds=ADDED),
    Case("PUT a raw slash", "PUT", "/v1/suppressions/c/d@example.com", 201, json={}, adds=ADDED),
    Case("PUT IDN domain", "PUT", "/v1/suppressions/a@b%C3%BCcher.de", 201, json={}, adds=ADDED),
    Case(
        "PUT display name",
        "PUT",
        "/v1/suppressions/Ann%20%3Cann@example.net%3E",
        201,
        json={},
        adds=ADDED,
    ),
    Case("PUT quoted local", "PUT", '/v1/suppressions/"a b"@example.com', 201, json={}, adds=ADDED),
    Case("PUT export@", "PUT", "/v1/suppressions/export@example.com", 201, json={}, adds=ADDED),
    Case("PUT /export", "PUT", "/v1/suppressions/export", 405, json={}),
    Case("DELETE /export", "DELETE", "/v1/suppressions/export", 405),
    _get("GET /export", "/v1/suppressions/export", 200),
    _get("GET /check", "/v1/suppressions/check", 405),
    _get("GET history", "/v1/suppressions/dee@example.com/history", 200),
    _get("GET history never listed", "/v1/suppressions/new@example.com/history", 200),
    _get("GET history no @", "/v1/suppressions/x/history", 422),
    _get("GET history two @", "/v1/suppressions/a@@example.com/history", 422),
    _get("GET absent", "/v1/suppressions/nobody@example.com", 404),
    _get("GET present", "/v1/suppressions/DEE@example.com", 200),
    Case("DELETE absent", "DELETE", "/v1/suppressions/nobody@example.com", 404),
    Case(
        "DELETE note NUL",
        "DELETE",
        "/v1/suppressions/dee@example.com",
        422,
        params={"note": "\x00"},
    ),
    Case(
        "DELETE note 2001",
        "DELETE",
        "/v1/suppressions/dee@example.com",
        422,
        params={"note": "n" * 2001},
    ),
    Case(
        "DELETE",
        "DELETE",
        "/v1/suppressions/dee@example.com",
        204,
        params={"note": "why"},
        adds={"suppression": -1, "change": 1},
    ),
]

BODY_CASES = [
    Case("PUT reason a number", "PUT", EXPIRES, 422, json={"reason": 5}),
    Case("PUT reason unknown", "PUT", EXPIRES, 422, json={"reason": "because"}),
    Case("PUT note a number", "PUT", EXPIRES, 422, json={"note": 5}),
    Case("PUT note NUL", "PUT", EXPIRES, 422, json={"note": "a\x00b"}),
    Case("PUT note 1 MB", "PUT", EXPIRES, 422, json={"note": "n" * 1_000_000}),
    Case("PUT extra field", "PUT", EXPIRES, 422, json={"colour": "red"}),
    Case("PUT a list body", "PUT", EXPIRES, 422, json=[]),
    Case("PUT a string body", "PUT", EXPIRES, 422, json="manual"),
    Case(
        "PUT null body",
        "PUT",
        EXPIRES,
        422,
        content=b"null",
        headers=WRITE | {"Content-Type": "application/json"},
    ),
    Case(
        "PUT not JSON",
        "PUT",
        EXPIRES,
        422,
        content=b"{nope",
        headers=WRITE | {"Content-Type": "application/json"},
    ),
    Case(
        "PUT not UTF-8",
        "PUT",
        EXPIRES,
        422,
        content=b"\xff\xfe",
        headers=WRITE | {"Content-Type": "application/json"},
    ),
    Case(
        "PUT deep nesting",
        "PUT",
        EXPIRES,
        422,
        content=b"[" * 100_000,
        headers=WRITE | {"Content-Type": "application/json"},
    ),
    Case(
        "PUT unicode note",
        "PUT",
        "/v1/suppressions/uni@example.com",
        201,
        json={"note": "日本語 \U0001f600"},
        adds=ADDED,
    ),
    Case("PUT read token", "PUT", EXPIRES, 403, json={}, headers=READ),
    Case("PUT no token", "PUT", EXPIRES, 401, json={}, headers={}),
    Case("PUT wrong token", "PUT", EXPIRES, 401, json={}, headers=NONE),
    _get("list reason unknown", "/v1/suppressions", 422, reason="x"),
    _get("list domain not a domain", "/v1/suppressions", 422, domain="not a domain"),
    _get("list domain IDN", "/v1/suppressions", 200, domain="bücher.de"),
    _get("list q unicode", "/v1/suppressions", 200, q="ü"),
    _get("list q NUL", "/v1/suppressions", 422, q="a\x00"),
    _get("list q %", "/v1/suppressions", 200, q="%_"),
    _get("events email invalid", "/v1/events", 422, email="nope"),
    _get("events type NUL", "/v1/events", 422, type="a\x00"),
    _get("events type long", "/v1/events", 422, type="t" * 33),
    _get("stats window 1y", "/v1/stats", 422, window="1y"),
    _get("stats window empty", "/v1/stats", 422, window=""),
    _get("stats window 30d", "/v1/stats", 200, window="30d"),
    _get("list no token", "/v1/suppressions", 401, headers={}),
]

CHECK = "/v1/suppressions/check"
CHECK_CASES = [
    Case("check a string", "POST", CHECK, 422, json={"emails": "a@example.com"}, headers=READ),
    Case("check numbers", "POST", CHECK, 422, json={"emails": [5]}, headers=READ),
    Case("check null item", "POST", CHECK, 422, json={"emails": [None]}, headers=READ),
    Case("check no field", "POST", CHECK, 422, json={}, headers=READ),
    Case("check a list body", "POST", CHECK, 422, json=["a@example.com"], headers=READ),
    Case(
        "check 10,001",
        "POST",
        CHECK,
        422,
        json={"emails": ["a@example.com"] * 10_001},
        headers=READ,
    ),
    Case(
        "check 10,000 one bad",
        "POST",
        CHECK,
        200,
        json={"emails": [f"u{n}@example.com" for n in range(9_999)] + ["nope"]},
        headers=READ,
    ),
    Case(
        "check all invalid",
        "POST",
        CHECK,
        200,
        json={"emails": ["", " ", "@", "a@", "\x00"]},
        headers=READ,
    ),
    Case(
        "check 100,000-character item",
        "POST",
        CHECK,
        200,
        json={"emails": ["a" * 100_000]},
        headers=READ,
    ),
    Case("check empty", "POST", CHECK, 200, json={"emails": []}, headers=READ),
    Case("check no token", "POST", CHECK, 401, json={"emails": []}, headers={}),
]

SIMPLE = {"from": "shop@example.com", "to": ["ann@example.org"], "subject": "s", "text": "t"}
SENT = {"send": 1}
RAW = "From: shop@example.com{n}To: ann@example.org{n}Bcc: b@example.net{n}Subject: Hi{n}{n}Hi{n}"


def _send(label: str, status: int, body: Any, adds: dict[str, int] | None = None) -> Case:
    return Case(f"send {label}", "POST", "/v1/send", status, json=body, adds=adds or {})


SEND_CASES = [
    _send("plain", 200, SIMPLE, SENT),
    _send("name starting with a dot", 200, SIMPLE | {"to": [". Ann <ann@example.org>"]}, SENT),
    _send("from a dot name", 200, SIMPLE | {"from": "... <shop@example.com>"}, SENT),
    _send("quoted comma name", 200, SIMPLE | {"to": ['"Müller, Anna" <ann@example.org>']}, SENT),
    _send("encoded-word name", 200, SIMPLE | {"to": ["=?utf-8?b?QW5u?= <ann@example.org>"]}, SENT),
    _send("900-character name", 200, SIMPLE | {"to": [f'"{"x" * 900}" <ann@example.org>']}, SENT),
    _send("angle brackets in a name", 200, SIMPLE | {"to": ['"<x@y.z>" <ann@example.org>']}, SENT),
    _send("newline in a name", 422, SIMPLE | {"to": ['"a\nb" <ann@example.org>']}),
    _send("CR in from", 422, SIMPLE | {"from": "Shop\r\nBcc: x@evil.example <shop@example.com>"}),
    _send("two addresses in one", 422, SIMPLE | {"to": ["a@example.org, b@example.org"]}),
    _send("unclosed quote", 422, SIMPLE | {"to": ['"Ann <ann@example.org>']}),
    _send("to a string", 422, SIMPLE | {"to": "ann@example.org"}),
    _send("to a number", 422, SIMPLE | {"to": [5]}),
    _send("no from", 422, {k: v for k, v in SIMPLE.items() if k != "from"}),
    _send("no recipients", 422, SIMPLE | {"to": []}),
    _send("51 recipients", 422, SIMPLE | {"to": [f"r{n}@example.org" for n in range(51)]}),
    _send("subject with a newline", 422, SIMPLE | {"subject": "Hi\r\nBcc: x@evil.example"}),
    _send("bad tag", 422, SIMPLE | {"tags": {"bad tag": "x"}}),
    _send(
        "template_data not JSON",
        422,
        {
            "from": "shop@example.com",
            "to": ["a@example.org"],
            "template": "T",
            "template_data": "{nope",
        },
    ),
    _send("raw and text", 422, SIMPLE | {"raw": RAW.format(n="\r\n")}),
    _send("raw CRLF", 200, {"raw": RAW.format(n="\r\n")}, SENT),
    _send("raw bare CR", 200, {"raw": RAW.format(n="\r")}, SENT),
    _send("raw bare LF", 200, {"raw": RAW.format(n="\n")}, SENT),
    _send(
        "raw mixed",
        200,
        {
            "raw": "From: shop@example.com\rTo: ann@example.org\nBcc: b@example.net,\r\n"
            "\tc@example.net\r\n\r\nHi"
        },
        SENT,
    ),
    _send("raw no recipients", 422, {"raw": "From: shop@example.com\r\n\r\nHi\r\n"}),
    _send("raw no from", 422, {"raw": "To: ann@example.org\r\n\r\nHi\r\n"}),
    _send("raw bad To", 422, {"raw": "From: shop@example.com\r\nTo: <<<@>>>\r\n\r\nHi\r\n"}),
    _send("raw a number", 422, {"raw": 5}),
    _send("raw with reply_to", 422, {"raw": RAW.format(n="\r\n"), "reply_to": ["r@example.org"]}),
    _send("unknown field", 422, SIMPLE | {"bodyy": "x"}),
    Case("send read token", "POST", "/v1/send", 403, json=SIMPLE, headers=READ),
    Case("send no token", "POST", "/v1/send", 401, json=SIMPLE, headers={}),
]

JSON = WRITE | {"Content-Type": "application/json"}
SEND_HEAD = b'{"from": "shop@example.com", "to": ["a@example.org"], '
SURROGATE_CASES = [
    Case(f"{label} a lone surrogate", method, path, status, content=body, headers=JSON)
    for label, method, path, status, body in [
        ("PUT note", "PUT", EXPIRES, 422, b'{"note": "\\ud800"}'),
        ("PUT reason", "PUT", EXPIRES, 422, b'{"reason": "\\udc00"}'),
        ("check email", "POST", CHECK, 422, b'{"emails": ["\\ud800@example.com"]}'),
        ("check one of many", "POST", CHECK, 422, b'{"emails": ["a@example.com", "b\\udfff"]}'),
        ("confirm topic", "POST", "/v1/subscriptions/confirm", 422, b'{"topic_arn": "\\ud800"}'),
        (
            "send subject",
            "POST",
            "/v1/send",
            422,
            SEND_HEAD + b'"subject": "\\ud800", "text": "t"}',
        ),
        (
            "send text",
            "POST",
            "/v1/send",
            422,
            SEND_HEAD + b'"subject": "s", "text": "\\ud800"}',
        ),
        (
            "send configuration set",
            "POST",
            "/v1/send",
            422,
            SEND_HEAD + b'"subject": "s", "text": "t", "configuration_set": "\\ud800"}',
        ),
        (
            "send raw",
            "POST",
            "/v1/send",
            422,
            b'{"raw": "From: shop@example.com\\r\\nTo: a@example.org\\r\\n'
            b'Subject: \\ud800\\r\\n\\r\\nHi"}',
        ),
    ]
] + [
    Case(
        "PUT a pair of surrogates (an emoji)",
        "PUT",
        "/v1/suppressions/emoji@example.com",
        201,
        content=b'{"note": "\\ud83d\\ude00"}',
        headers=JSON,
        adds=ADDED,
    ),
    Case(
        "PUT a 5000-digit number",
        "PUT",
        EXPIRES,
        422,
        content=b'{"note": ' + b"1" * 5000 + b"}",
        headers=JSON,
    ),
    Case(
        "check a 5000-digit number",
        "POST",
        CHECK,
        422,
        content=b'{"emails": [' + b"9" * 5000 + b"]}",
        headers=JSON,
    ),
    Case("PUT NaN", "PUT", EXPIRES, 422, content=b'{"note": NaN}', headers=JSON),
]

SUBSCRIPTION_CASES = [
    Case(
        "confirm unknown topic",
        "POST",
        "/v1/subscriptions/confirm",
        404,
        json={"topic_arn": "arn:aws:sns:us-east-1:123456789012:x"},
    ),
    Case("confirm NUL", "POST", "/v1/subscriptions/confirm", 422, json={"topic_arn": "a\x00"}),
    Case("confirm a number", "POST", "/v1/subscriptions/confirm", 422, json={"topic_arn": 5}),
    Case("confirm no field", "POST", "/v1/subscriptions/confirm", 422, json={}),
    _get("subscriptions", "/v1/subscriptions", 200),
]

CASES = (
    DATE_CASES
    + PUT_DATE_CASES
    + CURSOR_CASES
    + LIMIT_CASES
    + ADDRESS_CASES
    + BODY_CASES
    + CHECK_CASES
    + SEND_CASES
    + SURROGATE_CASES
    + SUBSCRIPTION_CASES
)


@pytest.fixture
async def corpus_app(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    use_fake_aws_credentials(monkeypatch, tmp_path)
    app = create_app(
        make_settings(**settings.model_dump(exclude_unset=True)),
        edges=Edges(sns_client_factory=None, ses_client=RecordingSes().client),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            seeded = await client.put("/v1/suppressions/dee@example.com", json={}, headers=WRITE)
            assert seeded.status_code == 201
            yield app, client


async def _counts(app: FastAPI) -> dict[str, int]:
    async with app.state.services.database.session() as session:
        return {
            name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in TABLES.items()
        }


class TestHostileV1:
    async def test_every_case(self, corpus_app: tuple[FastAPI, httpx.AsyncClient]) -> None:
        app, client = corpus_app
        problems: list[str] = []
        five_xx = refused = 0
        for case in CASES:
            before = await _counts(app)
            try:
                response = await client.request(
                    case.method,
                    case.path,
                    params=case.params,
                    json=case.json,
                    content=case.content,
                    headers=case.headers,
                )
            except Exception as err:
                # Raised out of the app's error handlers: a server would have answered 500.
                five_xx += 1
                problems.append(f"{case.label}: raised {err!r}")
                continue
            after = await _counts(app)
            five_xx += response.status_code >= 500
            refused += response.status_code >= 400
            if response.status_code != case.status:
                problems.append(
                    f"{case.label}: {response.status_code}, not {case.status}: "
                    + response.text[:300]
                )
            wanted = {name: before[name] + case.adds.get(name, 0) for name in TABLES}
            if response.status_code >= 400:
                wanted = before
            if after != wanted:
                problems.append(f"{case.label}: rows {before} -> {after}, wanted {wanted}")
            if response.status_code == 422:
                body = response.json()
                if not body.get("field") or not body.get("error"):
                    problems.append(f"{case.label}: a 422 must name the field: {body}")
        figures.record(
            "operator corpus: api",
            cases=len(CASES),
            refused=refused,
            five_xx=five_xx,
            lines_lost=0,
        )
        assert len(CASES) >= 120
        assert five_xx == 0, "\n".join(problems)
        assert problems == [], "\n".join(problems)
