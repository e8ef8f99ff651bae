"""/v1/send at its edges: display names of every kind are sent correctly or refused with 422
naming the field, never a 500; a raw message's Bcc header never reaches SES, whatever its
line endings."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from email import message_from_bytes
from email import policy as email_policy
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.services import Edges
from app.settings import Settings
from tests.conftest import WRITE, make_settings
from tests.recording_ses import RecordingSes
from tests.ses.conftest import use_fake_aws_credentials


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RecordingSes:
    use_fake_aws_credentials(monkeypatch, tmp_path)
    return RecordingSes()


@pytest.fixture
async def http(settings: Settings, ses: RecordingSes) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(
        make_settings(**settings.model_dump(exclude_unset=True)),
        edges=Edges(sns_client_factory=None, ses_client=ses.client),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def _is_ascii_header(value: str) -> bool:
    return value.isascii() and "\r" not in value and "\n" not in value


def _named(name: str, address: str) -> str:
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


NAMES = [
    ".",
    "Ann",
    "Müller, Anna",
    'Ann "the boss" Smith',
    "=?utf-8?q?Ann?=",
    "=?utf-8?b?QW5u?=",
    "=?bogus?q?x?=",
    "<ann@example.org>",
    "a\\b",
    "(comment)",
    "x" * 900,
    "日本語の名前",
    "Ann;Bob",
    "a@b",
    "",
]


class TestDisplayNames:
    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize("field", ["from", "to", "cc", "reply_to"])
    async def test_sent_as_written_or_422(
        self, http: httpx.AsyncClient, ses: RecordingSes, field: str, name: str
    ) -> None:
        await self._check(http, ses, field, _named(name, "ann@example.org"), name)

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        field=st.sampled_from(["from", "to", "cc", "bcc", "reply_to"]),
        name=st.text(
            alphabet=st.one_of(
                st.sampled_from('"\\,;:<>@()=?[]\r\n\t '),
                st.characters(codec="utf-8"),
            ),
            max_size=80,
        ),
        quoted=st.booleans(),
        dotted=st.booleans(),
    )
    async def test_any_name(
        self,
        http: httpx.AsyncClient,
        ses: RecordingSes,
        field: str,
        name: str,
        quoted: bool,
        dotted: bool,
    ) -> None:
        written = _named(name, "ann@example.org") if quoted else f"{name} <ann@example.org>"
        written = f".{written}" if dotted else written
        await self._check(http, ses, field, written, name if quoted and not dotted else None)

    @pytest.mark.parametrize(
        ("written", "shown"),
        [
            (". <ann@example.org>", "."),
            (". Ann <ann@example.org>", ". Ann"),
            ("...Ann <ann@example.org>", "...Ann"),
            (".hidden <ann@example.org>", ".hidden"),
        ],
    )
    @pytest.mark.parametrize("field", ["from", "to", "bcc", "reply_to"])
    async def test_a_name_starting_with_a_dot(
        self, http: httpx.AsyncClient, ses: RecordingSes, field: str, written: str, shown: str
    ) -> None:
        # Python's header parser raises AttributeError on these (an obs-phrase): was a 500.
        await self._check(http, ses, field, written, None)
        if field != "bcc":
            sent = json.dumps(ses.bodies[-1])
            assert json.dumps(f'"{shown}" <ann@example.org>')[1:-1] in sent

    @staticmethod
    async def _check(
        http: httpx.AsyncClient, ses: RecordingSes, field: str, written: str, name: str | None
    ) -> None:
        body: dict[str, Any] = {
            "from": "shop@example.com",
            "to": ["to@example.org"],
            "subject": "s",
            "text": "t",
        }
        body[field] = written if field == "from" else [written]
        before = len(ses.bodies)
        response = await http.post("/v1/send", json=body, headers=WRITE)
        assert response.status_code in (200, 422), (written, response.text)
        if response.status_code == 422:
            assert response.json()["field"].split(".")[0] == field, response.text
            assert len(ses.bodies) == before
            return
        sent = ses.bodies[-1]
        value = {
            "from": lambda: sent["FromEmailAddress"],
            "to": lambda: sent["Destination"]["ToAddresses"][-1],
            "cc": lambda: sent["Destination"]["CcAddresses"][0],
            "bcc": lambda: sent["Destination"]["BccAddresses"][0],
            "reply_to": lambda: sent["ReplyToAddresses"][0],
        }[field]()
        # SES takes 7-bit ASCII, one line: non-ASCII names as RFC 2047 encoded-words.
        assert _is_ascii_header(value), value
        [(_, address)] = getaddresses([value])
        assert address == "ann@example.org"
        if name is not None and field != "bcc" and name.isprintable() and name.strip():
            # What a mail client shows (encoded-words decoded, as clients do even inside
            # quotes) is the name as written.
            [wanted] = email_policy.default.header_factory("To", written).addresses
            [parsed] = email_policy.default.header_factory("To", value).addresses
            assert parsed.display_name == wanted.display_name, value


RAW_HEAD = [
    ("From", "shop@example.com"),
    ("To", "ann@example.org"),
    ("Bcc", "secret@example.net,\n\tother@example.net"),
    ("Subject", "Hello"),
    ("BCC", "loud@example.net"),
]


def _raw(newline: str, *, fold: str = "\r\n") -> str:
    lines = [f"{k}: {v}".replace("\n", fold) for k, v in RAW_HEAD]
    return newline.join(lines) + newline + newline + "Bcc: body text stays" + newline


ENDINGS = {
    "crlf": ("\r\n", "\r\n"),
    "lf": ("\n", "\n"),
    "bare cr": ("\r", "\r"),
    "cr folding in lf": ("\n", "\r"),
    "mixed": ("\r", "\n"),
    "lf folding in crlf": ("\r\n", "\n"),
}


class TestRawBcc:
    @pytest.mark.parametrize(("newline", "fold"), ENDINGS.values(), ids=list(ENDINGS))
    async def test_no_bcc_header_reaches_ses(
        self, http: httpx.AsyncClient, ses: RecordingSes, newline: str, fold: str
    ) -> None:
        response = await http.post(
            "/v1/send", json={"raw": _raw(newline, fold=fold)}, headers=WRITE
        )
        assert response.status_code == 200, response.text
        assert set(response.json()["sent_to"]) == {
            "ann@example.org",
            "secret@example.net",
            "other@example.net",
            "loud@example.net",
        }
        sent = ses.raw_sent()
        head, marker, _ = sent.partition(b"Bcc: body text stays")
        assert marker, sent
        assert re.search(rb"(^|[\r\n])bcc\s*:", head, re.IGNORECASE) is None, sent
        for hidden in (b"secret@example.net", b"other@example.net", b"loud@example.net"):
            assert hidden not in head, sent
        # The body is left alone; the other headers are all there.
        assert sent.endswith(b"Bcc: body text stays" + newline.encode()), sent
        for name in (b"From:", b"To:", b"Subject:"):
            assert name in head, sent
        # SES gets one line-ending convention; a bare CR no longer splits a header.
        parsed = message_from_bytes(sent, policy=email_policy.default)
        assert parsed["Bcc"] is None
        assert parsed["Subject"] == "Hello"
        envelope = ses.bodies[-1]["Destination"]
        assert "secret@example.net" in envelope["BccAddresses"]


class TestConfigurationSet:
    @pytest.mark.parametrize("name", ["c" * 300, "has space", "a:b"])
    async def test_a_name_ses_cannot_have_is_422_before_ses(
        self, http: httpx.AsyncClient, ses: RecordingSes, name: str
    ) -> None:
        # SES names a configuration set with up to 64 letters, digits, "-" and "_". A longer
        # one went to SES and into the send row, whose column holds 256: on PostgreSQL the
        # row was refused and the send vanished from /v1/stats.
        body = {"from": "shop@example.com", "to": ["ann@example.org"], "subject": "s", "text": "t"}
        response = await http.post(
            "/v1/send", json={**body, "configuration_set": name}, headers=WRITE
        )
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "configuration_set"
        assert ses.bodies == []
