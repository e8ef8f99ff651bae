"""Hostile CSV and NDJSON files through POST /v1/suppressions/import: 0 lines lost.

Each case is a file with what the import must answer (status; inserted, updated,
unchanged; the rejected line numbers) and the rows the database must hold afterwards.
Every data line is either stored (inserted, updated, unchanged) or listed as rejected:
``inserted + updated + unchanged + rejected == data lines``, where the data lines are
counted from the file (its non-blank lines, less the header), not from the answer.
Runs on the database in use (SQLite, or PostgreSQL with TEST_DATABASE_URL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
import pytest

from app.models import Suppression
from app.suppression.transfer import MAX_LINE
from tests.conftest import WRITE
from tests.databases import count_rows
from tests.figures import record

FUTURE = "2099-01-01T00:00:00+00:00"
HEADER = "email,reason,note"


@dataclass(frozen=True)
class Case:
    id: str
    body: bytes
    inserted: int = 0
    rejected: tuple[int, ...] = ()
    rows: int | None = None
    """Rows stored afterwards; inserted (+ before's) when None."""
    fmt: str = "csv"
    updated: int = 0
    unchanged: int = 0
    status: int = 200
    data_lines: int | None = None
    """When lines and records differ (a quoted field across lines); else counted."""
    before: bytes = b""
    """A file imported first (same format), for updates and re-imports."""
    header: bool = True


def csv_file(*rows: str, header: str | None = HEADER, end: str = "\n") -> bytes:
    lines = ([header] if header is not None else []) + list(rows)
    return "".join(line + end for line in lines).encode()


def users(first: int, last: int, reason: str = "bounce") -> list[str]:
    return [f"u{i}@example.com,{reason}," for i in range(first, last + 1)]


def nd(*values: object) -> bytes:
    return "".join((v if isinstance(v, str) else json.dumps(v)) + "\n" for v in values).encode()


def with_bad(bad: str, *, at: int = 5, n: int = 10) -> list[str]:
    """n user lines with ``bad`` in place of the at-th (1-based, after the header)."""
    rows = users(1, n)
    rows[at - 1] = bad
    return rows


ADDR_254 = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
ADDR_320 = "a" * 64 + "@" + ".".join(["b" * 63] * 4)

CSV_CASES = [
    # Unclosed quotes: the line alone is rejected, nothing after it is lost.
    Case("unclosed-quote-41-of-100",
         csv_file(*with_bad('u41@example.com,bounce,"oops', at=41, n=100)),
         inserted=99, rejected=(42,)),
    Case("unclosed-quote-first-line", csv_file(*with_bad('u1@example.com,"bounce', at=1)),
         inserted=9, rejected=(2,)),
    Case("unclosed-quote-last-line", csv_file(*with_bad('u10@example.com,bounce,"x', at=10)),
         inserted=9, rejected=(11,)),
    Case("unclosed-quote-last-line-no-newline",
         csv_file(*users(1, 3)) + b'u4@example.com,bounce,"x', inserted=3, rejected=(5,)),
    Case("unclosed-quote-in-address", csv_file(*with_bad('"u5@example.com,bounce,')),
         inserted=9, rejected=(6,)),
    Case("two-unclosed-quotes",
         csv_file(*users(1, 3), 'u4@example.com,bounce,"a', *users(5, 7), 'u8@example.com,,"b'),
         inserted=6, rejected=(5, 9)),
    Case("unclosed-quote-then-closing-garbage",
         csv_file('u1@example.com,bounce,"a', 'not an address", x', *users(2, 4)),
         inserted=3, rejected=(2, 3)),
    Case("unclosed-quote-headerless",
         csv_file(*[f"u{i}@example.com" for i in range(1, 6)], '"u6@example.com',
                  *[f"u{i}@example.com" for i in range(7, 10)], header=None),
         inserted=8, rejected=(6,), header=False),
    Case("quote-spanning-two-lines", csv_file('u1@example.com,bounce,"one', 'two"', *users(2, 3)),
         inserted=3, data_lines=3),
    Case("quote-spanning-four-lines",
         csv_file('u1@example.com,bounce,"a', "b", "", 'c"', *users(2, 3)),
         inserted=3, data_lines=3),
    Case("quote-spanning-crlf", csv_file('u1@example.com,bounce,"one', 'two"', end="\r\n"),
         inserted=1, data_lines=1),
    Case("doubled-quotes-in-note", csv_file('u1@example.com,bounce,"say ""hi"""'), inserted=1),
    Case("text-after-closing-quote", csv_file(*with_bad('u5@example.com,bounce,"a" b')),
         inserted=9, rejected=(6,)),
    Case("quote-inside-unquoted-field", csv_file('u1@example.com,bounce,5" floppy'), inserted=1),
    Case("quote-spanning-past-100-lines",
         csv_file('u1@example.com,bounce,"x', *(["filler"] * 120), *users(2, 3)),
         inserted=2, rejected=(2, *range(3, 123)), data_lines=123),
    Case("newline-inside-quoted-address",
         csv_file('"u1@', 'example.com",bounce,', *users(2, 3)),
         inserted=2, rejected=(2,), data_lines=3),
    # Line endings and bytes.
    Case("crlf", csv_file(*users(1, 3), end="\r\n"), inserted=3),
    Case("cr-only", csv_file(*users(1, 3), end="\r"), inserted=3),
    Case("mixed-endings", (HEADER + "\r\n" + "\n".join(users(1, 3)) + "\r\n").encode(),
         inserted=3),
    Case("no-final-newline", csv_file(*users(1, 2)) + b"u3@example.com,bounce,", inserted=3),
    Case("bare-cr-unquoted", csv_file(*with_bad("u5@example.com,bounce,a\rb")),
         inserted=9, rejected=(6,)),
    Case("bare-cr-quoted", csv_file('u1@example.com,bounce,"a\rb"'), inserted=1),
    Case("empty-file", b""),
    Case("header-only", csv_file()),
    Case("header-only-no-newline", HEADER.encode()),
    Case("bom-only", b"\xef\xbb\xbf"),
    Case("bom-header", b"\xef\xbb\xbf" + csv_file(*users(1, 3)), inserted=3),
    Case("bom-mid-file", csv_file(*with_bad("\ufeffu5@example.com,bounce,")),
         inserted=9, rejected=(6,)),
    Case("blank-lines", csv_file("", *users(1, 2), "", "   ", *users(3, 4), ""), inserted=4),
    Case("nul-in-note", csv_file(*with_bad("u5@example.com,bounce,a\x00b")),
         inserted=9, rejected=(6,)),
    Case("nul-in-address", csv_file(*with_bad("u5@exam\x00ple.com,bounce,")),
         inserted=9, rejected=(6,)),
    Case("latin1-byte-in-note", csv_file(*users(1, 4)) + b"u5@example.com,bounce,caf\xe9\n"
         + csv_file(*users(6, 10), header=None), inserted=9, rejected=(6,)),
    Case("latin1-byte-in-address", csv_file(*users(1, 2)) + b"j\xf6rg@example.com,,\n",
         inserted=2, rejected=(4,)),
    Case("overlong-utf8", csv_file(*users(1, 2)) + b"u3@example.com,,\xc0\xaf\n",
         inserted=2, rejected=(4,)),
    Case("truncated-utf8-at-end", csv_file(*users(1, 2)) + b"u3@example.com,,\xe2\x82",
         inserted=2, rejected=(4,)),
    Case("utf16-file", "email\nu1@example.com\n".encode("utf-16"), status=422),
    Case("utf16-be-file", "email\nu1@example.com\n".encode("utf-16-be"), status=422),
    Case("line-too-long", csv_file(*with_bad("u5@example.com,bounce," + "x" * (MAX_LINE + 1))),
         inserted=9, rejected=(6,)),
    Case("too-few-fields", csv_file(*with_bad("u5@example.com")), inserted=9, rejected=(6,)),
    Case("too-many-fields", csv_file(*with_bad("u5@example.com,bounce,,x,y")),
         inserted=9, rejected=(6,)),
    Case("only-commas", csv_file(*with_bad(",,")), inserted=9, rejected=(6,)),
    # Headers and delimiters.
    Case("semicolons", csv_file("u1@example.com;bounce;a, b", header="email;reason;note"),
         inserted=1),
    Case("tabs", csv_file("u1@example.com\tbounce\ta; b", header="email\treason\tnote"),
         inserted=1),
    Case("mailchimp", csv_file("u1@example.com,Ann,Lee,1 Main St,,",
                               header="Email Address,First Name,Last Name,Address,Phone,TAGS"),
         inserted=1),
    Case("outlook-e-mail", csv_file("Ann,u1@example.com", header="Name,E-mail Address"),
         inserted=1),
    Case("email-underscore", csv_file("u1@example.com", header="EMAIL_ADDRESS"), inserted=1),
    Case("header-spaces", csv_file("u1@example.com,bounce", header="  Email  ,  Reason "),
         inserted=1),
    Case("quoted-header", csv_file("u1@example.com,x", header='"E-Mail","Notes, free"'),
         inserted=1),
    Case("address-header", csv_file("u1@example.com", header="Address"), inserted=1),
    Case("no-address-column", csv_file("Ann,bounce", header="name,reason"), status=422),
    Case("column-twice", csv_file("u1@example.com,bounce,x", header="email,reason,Reason"),
         status=422),
    Case("headerless", csv_file("u1@example.com,bounce", "u2@example.com,complaint", header=None),
         inserted=2, header=False),
    Case("headerless-semicolons", csv_file("u1@example.com;bounce", "u2@example.com;", header=None),
         inserted=2, header=False),
    # Formula cells: one leading ' comes off only where it guards one.
    Case("guarded-address", csv_file("'=cmd|'/Ccalc'!A0@evil.example,bounce,'@SUM(1)"),
         inserted=1),
    Case("quote-address-kept", csv_file("'ann@example.com,bounce,'hello"), inserted=1),
    Case("unguarded-formula-note", csv_file("u1@example.com,bounce,=1+1"), inserted=1),
    Case("guarded-tab-note", csv_file("u1@example.com,bounce,'\tx"), inserted=1),
    # Duplicates and re-imports.
    Case("same-address-two-cases",
         csv_file("Ann@example.com,bounce,", "ann@example.com,complaint,"),
         inserted=1, unchanged=1),
    Case("same-address-three-times",
         csv_file("a@example.com,,", "A@EXAMPLE.COM,,", "a@Example.com,bounce,"),
         inserted=1, unchanged=2),
    Case("reimport-with-duplicates",
         csv_file("Ann@example.com,bounce,", "ann@example.com,complaint,", *users(1, 3)),
         unchanged=5, rows=4,
         before=csv_file("Ann@example.com,bounce,", "ann@example.com,complaint,", *users(1, 3))),
    Case("reimport-changes-one", csv_file(*users(1, 2), "u3@example.com,complaint,"),
         updated=1, unchanged=2, rows=3, before=csv_file(*users(1, 3))),
    # Values: dates, reasons, lengths, addresses.
    Case("naive-expiry-is-utc", csv_file("u1@example.com,soft_bounce,2099-01-01T00:00:00",
                                         header="email,reason,expires_at"), inserted=1),
    Case("expiry-past", csv_file(*with_bad("u5@example.com,soft_bounce,2020-01-01"),
                                 header="email,reason,expires_at"), inserted=9, rejected=(6,)),
    Case("expiry-past-9999-utc", csv_file(*with_bad("u5@example.com,,9999-12-31T23:00:00-05:00"),
                                          header="email,reason,expires_at"),
         inserted=9, rejected=(6,)),
    Case("expiry-max", csv_file("u1@example.com,,9999-12-31T23:59:59.999999+00:00",
                                header="email,reason,expires_at"), inserted=1),
    Case("created-0000-00-00", csv_file(*with_bad("u5@example.com,,0000-00-00"),
                                        header="email,reason,created_at"),
         inserted=9, rejected=(6,)),
    Case("created-garbage", csv_file(*with_bad("u5@example.com,,yesterday"),
                                     header="email,reason,created_at"),
         inserted=9, rejected=(6,)),
    Case("created-before-year-1-utc", csv_file(*with_bad("u5@example.com,,0001-01-01T00:00+01:00"),
                                               header="email,reason,created_at"),
         inserted=9, rejected=(6,)),
    Case("created-in-future", csv_file("u1@example.com,," + FUTURE,
                                       header="email,reason,created_at"), inserted=1),
    Case("updated-garbage", csv_file(*with_bad("u5@example.com,,13/13/13"),
                                     header="email,reason,updated_at"), inserted=9, rejected=(6,)),
    Case("unknown-reason", csv_file(*with_bad("u5@example.com,spam,")), inserted=9, rejected=(6,)),
    Case("empty-reason", csv_file("u1@example.com,,"), inserted=1),
    Case("note-300", csv_file("u1@example.com,bounce," + "n" * 300), inserted=1),
    Case("note-60k", csv_file("u1@example.com,bounce," + "n" * 60_000), inserted=1),
    Case("subtype-300", csv_file("u1@example.com,bounce," + "s" * 300,
                                 header="email,reason,subtype"), inserted=1),
    Case("message-id-257", csv_file(*with_bad("u5@example.com,bounce," + "m" * 257),
                                    header="email,reason,ses_message_id"),
         inserted=9, rejected=(6,)),
    Case("display-name", csv_file('"Ann Lee <u1@example.com>",bounce,'), inserted=1),
    Case("display-name-with-comma", csv_file('"""Lee, Ann"" <u1@example.com>",bounce,'),
         inserted=1),
    Case("idn-domain", csv_file("joerg@bücher.de,bounce,"), inserted=1),
    Case("utf8-local-part", csv_file("jörg@bücher.de,bounce,"), rejected=(2,)),
    Case("address-254", csv_file(ADDR_254 + ",bounce,"), inserted=1),
    Case("address-320", csv_file(*with_bad(ADDR_320 + ",bounce,")), inserted=9, rejected=(6,)),
    Case("address-two-at", csv_file(*with_bad("x@y@example.com,,")), inserted=9, rejected=(6,)),
    Case("address-spaces-around", csv_file("  u1@example.com  ,bounce,"), inserted=1),
    Case("address-missing", csv_file(*with_bad(",bounce,note")), inserted=9, rejected=(6,)),
    Case("address-zero-width", csv_file(*with_bad("u5\u200b@example.com,,")),
         inserted=9, rejected=(6,)),
    Case("note-unicode", csv_file("u1@example.com,,é 中文 🎉 \u2028 \u202e"), inserted=1),
]  # fmt: skip

NDJSON_CASES = [
    Case("deep-array", nd({"email": "u1@example.com"}, "[" * 100_000, {"email": "u2@example.com"}),
         inserted=2, rejected=(2,)),
    Case("deep-object", nd('{"a": ' * 50_000 + "1" + "}" * 50_000, {"email": "u1@example.com"}),
         inserted=1, rejected=(1,)),
    Case("deep-note", nd('{"email": "u1@example.com", "note": ' + "[" * 5000 + "]" * 5000 + "}"),
         rejected=(1,)),
    Case("huge-float-in-reason", nd('{"email": "u1@example.com", "reason": 1e999999}',
                                    {"email": "u2@example.com"}), inserted=1, rejected=(1,)),
    Case("huge-float-elsewhere", nd('{"email": "u1@example.com", "score": 1e999999}'), inserted=1),
    Case("huge-int", nd('{"email": "u1@example.com", "n": ' + "9" * 5000 + "}",
                        {"email": "u2@example.com"}), inserted=1, rejected=(1,)),
    Case("huge-negative-int", nd('{"n": -' + "1" * 10_000 + "}", {"email": "u2@example.com"}),
         inserted=1, rejected=(1,)),
    Case("nan-note", nd('{"email": "u1@example.com", "note": NaN}'), rejected=(1,)),
    Case("infinity-elsewhere", nd('{"email": "u1@example.com", "x": -Infinity}'), inserted=1),
    Case("lone-high-surrogate", nd('{"email": "u1@example.com", "note": "\\ud800"}',
                                   {"email": "u2@example.com"}), inserted=1, rejected=(1,)),
    Case("lone-low-surrogate-address", nd('{"email": "\\udfff@example.com"}'), rejected=(1,)),
    Case("surrogate-pair-ok", nd('{"email": "u1@example.com", "note": "\\ud83c\\udf89"}'),
         inserted=1),
    Case("nul-escape", nd('{"email": "u1@example.com", "note": "a\\u0000b"}'), rejected=(1,)),
    Case("raw-control-char", nd('{"email": "u1@example.com", "note": "a\x01b"}'), rejected=(1,)),
    Case("number", nd("42", {"email": "u1@example.com"}), inserted=1, rejected=(1,)),
    Case("string", nd('"u1@example.com"'), rejected=(1,)),
    Case("null", nd("null"), rejected=(1,)),
    Case("true", nd("true"), rejected=(1,)),
    Case("array", nd('[{"email": "u1@example.com"}]'), rejected=(1,)),
    Case("duplicate-key", nd('{"email": "u1@example.com", "email": "u2@example.com"}'),
         rejected=(1,)),
    Case("keys-differing-in-case", nd('{"email": "u1@example.com", "Email": "x"}'), inserted=1),
    Case("email-number", nd({"email": 5}), rejected=(1,)),
    Case("email-null", nd({"email": None, "reason": "bounce"}), rejected=(1,)),
    Case("email-list", nd({"email": ["u1@example.com"]}), rejected=(1,)),
    Case("note-object", nd({"email": "u1@example.com", "note": {"a": 1}}), rejected=(1,)),
    Case("trailing-comma", nd('{"email": "u1@example.com",}'), rejected=(1,)),
    Case("two-objects-one-line", nd('{"email": "u1@example.com"}{"email": "u2@example.com"}'),
         rejected=(1,)),
    Case("truncated-object", nd('{"email": "u1@exa'), rejected=(1,)),
    Case("bom-start", b"\xef\xbb\xbf" + nd({"email": "u1@example.com"}), inserted=1),
    Case("crlf", nd({"email": "u1@example.com"}).replace(b"\n", b"\r\n") * 1, inserted=1),
    Case("blank-lines", b"\n\n" + nd({"email": "u1@example.com"}) + b"  \n", inserted=1),
    Case("latin1-byte", nd({"email": "u1@example.com"}) + b'{"email": "j\xf6rg@example.com"}\n',
         inserted=1, rejected=(2,)),
    Case("line-too-long", nd({"email": "u1@example.com", "note": "x" * (MAX_LINE + 1)},
                             {"email": "u2@example.com"}), inserted=1, rejected=(1,)),
    Case("duplicate-address", nd({"email": "Ann@example.com"}, {"email": "ann@example.com"}),
         inserted=1, unchanged=1),
    Case("expiry-garbage", nd({"email": "u1@example.com", "expires_at": "soon"}), rejected=(1,)),
    Case("expiry-past-9999",
         nd({"email": "u1@example.com", "expires_at": "9999-12-31T22:00-08:00"}), rejected=(1,)),
    Case("naive-expiry", nd({"email": "u1@example.com", "expires_at": "2099-01-01T00:00"}),
         inserted=1),
    Case("formula-not-unguarded", nd({"email": "u1@example.com", "note": "'=1+1"}), inserted=1),
    Case("hostile-in-100", nd(*[{"email": f"u{i}@example.com"} for i in range(1, 50)],
                              "[" * 100_000,
                              *[{"email": f"u{i}@example.com"} for i in range(51, 101)]),
         inserted=99, rejected=(50,)),
]  # fmt: skip

CASES = CSV_CASES + [Case(**{**c.__dict__, "fmt": "ndjson"}) for c in NDJSON_CASES]
OUTCOMES: dict[str, dict[str, int]] = {}


def data_lines(case: Case) -> int:
    """The file's records, counted from the file: non-blank lines less the header."""
    if case.data_lines is not None:
        return case.data_lines
    text = case.body.decode("utf-8", "replace")
    separator = "\r" if "\r" in text and "\n" not in text else "\n"
    count = sum(1 for line in text.split(separator) if line.strip(" \r\ufeff"))
    return max(count - (1 if case.fmt == "csv" and case.header else 0), 0)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.fmt}-{c.id}" for c in CASES])
async def test_hostile_import(case: Case, client: httpx.AsyncClient, database_url: str) -> None:
    url = f"/v1/suppressions/import?format={case.fmt}"
    before_rows = 0
    if case.before:
        first = await client.post(url, content=case.before, headers=WRITE)
        assert first.status_code == 200, first.text
        before_rows = await count_rows(database_url, Suppression)
    response = await client.post(url, content=case.body, headers=WRITE)
    assert response.status_code == case.status, response.text
    outcome = {"five_xx": int(response.status_code >= 500), "lines": data_lines(case), "refused": 0}
    if case.status == 200:
        answer = response.json()
        rejected = tuple(r["line"] for r in answer["rejected"])
        assert (answer["inserted"], answer["updated"], answer["unchanged"], rejected) == (
            case.inserted,
            case.updated,
            case.unchanged,
            case.rejected,
        )
        assert answer["rejected_total"] == len(rejected)
        accounted = answer["inserted"] + answer["updated"] + answer["unchanged"] + len(rejected)
        outcome |= {"rejected": len(rejected), "lost": outcome["lines"] - accounted}
        assert outcome["lost"] == 0
    else:
        assert response.json()["error"]
        # The whole file refused (422) with its reason, nothing stored: no line lost.
        outcome |= {"rejected": 0, "refused": 1, "lost": 0}
    expected_rows = case.rows if case.rows is not None else before_rows + case.inserted
    assert await count_rows(database_url, Suppression) == expected_rows
    OUTCOMES[f"{case.fmt}-{case.id}"] = outcome


def test_corpus_figures() -> None:
    """Runs after the table (file order): the figures for docs/reliability.md."""
    assert len(CASES) >= 100
    ran = list(OUTCOMES.values())
    assert all(o["lost"] == 0 and o["five_xx"] == 0 for o in ran)
    record(
        "operator corpus: transfer",
        cases=len(ran),
        lines=sum(o["lines"] for o in ran),
        rejected=sum(o["rejected"] for o in ran),
        refused=sum(o["refused"] for o in ran),
        five_xx=sum(o["five_xx"] for o in ran),
        lines_lost=sum(o["lost"] for o in ran),
    )
