"""Signing in to the console: the token, the session cookie, CSRF on the form, where it
goes next; each hostile input with the answer it gets and the state it leaves."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.api.state import services_of
from app.console import session_cookie
from app.console.headers import CONTENT_SECURITY_POLICY

WRITE = "write-token-0123456789abcdef"
READ = "read-token-0123456789abcdef"
TOKENS: dict[str, Any] = {"API_TOKENS": [f"ops={WRITE}"], "API_READ_TOKENS": [f"viewer={READ}"]}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, html
    return found.group(1)


async def post_sign_in(
    client: httpx.AsyncClient, token: str, *, next_path: str = "/console", **headers: str
) -> httpx.Response:
    form = await client.get("/console/sign-in")
    return await client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(form.text), "token": token, "next": next_path},
        headers=headers,
    )


def session_of(client: httpx.AsyncClient) -> str | None:
    return client.cookies.get(session_cookie.COOKIE, path="/console")


def replace_session(client: httpx.AsyncClient, value: str) -> None:
    """The session cookie as a browser would hold it: one, for the server's host."""
    client.cookies.delete(session_cookie.COOKIE)
    client.cookies.set(session_cookie.COOKIE, value, domain="bouncer.example", path="/console")
    assert len([c for c in client.cookies.jar if c.name == session_cookie.COOKIE]) == 1


@pytest.fixture
async def console(make_client: Any) -> tuple[httpx.AsyncClient, FastAPI]:
    client, app = await make_client(**TOKENS)
    return client, app


class TestSignIn:
    async def test_a_write_token_signs_in_and_goes_on(self, console: Any) -> None:
        client, _ = console
        answer = await post_sign_in(client, WRITE, next_path="/console/suppressions?reason=bounce")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/suppressions?reason=bounce"
        cookie = answer.headers.get_list("set-cookie")[0]
        assert cookie.startswith(f"{session_cookie.COOKIE}=")
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/console", "Max-Age=43200"):
            assert attribute in cookie
        # The test client speaks https: the cookie is Secure.
        assert "Secure" in cookie
        # Signed in: the sign-in page sends the session on.
        assert (await client.get("/console/sign-in")).status_code == 303

    async def test_a_read_token_signs_in_read_only(self, console: Any) -> None:
        client, _ = console
        answer = await post_sign_in(client, READ)
        assert answer.status_code == 303
        page = await client.get("/console/sign-in?next=/console/sign-in")
        assert page.status_code == 303

    @pytest.mark.parametrize(
        "token",
        [
            "not-a-token-at-all-xxxx",
            WRITE + " extra",
            WRITE[:-1],
            "",
            "   ",
            f"ops={WRITE}",  # the settings entry, not the token
            "x" * 10_000,  # longer than any token: refused, not hashed
            WRITE.upper(),
        ],
    )
    async def test_anything_but_a_token_is_refused_and_sets_no_session(
        self, console: Any, token: str
    ) -> None:
        client, _ = console
        answer = await post_sign_in(client, token)
        assert answer.status_code == 401
        assert 'role="alert"' in answer.text
        assert "not valid" in answer.text
        assert session_of(client) is None

    async def test_surrounding_whitespace_is_what_a_paste_adds(self, console: Any) -> None:
        client, _ = console
        assert (await post_sign_in(client, f"  {WRITE}\n")).status_code == 303


class TestSignInForm:
    async def test_without_the_form_cookie_it_is_refused(self, console: Any) -> None:
        client, _ = console
        form = await client.get("/console/sign-in")
        client.cookies.delete(session_cookie.SIGN_IN_COOKIE)
        answer = await client.post(
            "/console/sign-in", data={"csrf": csrf_of(form.text), "token": WRITE}
        )
        assert answer.status_code == 403
        assert session_of(client) is None

    async def test_a_form_opened_in_another_tab_first_still_signs_in(self, console: Any) -> None:
        # Tabs reloaded after the session ended each show the form; the one filled in may
        # be any of them, not only the last one loaded.
        client, _ = console
        first = await client.get("/console/sign-in")
        second = await client.get("/console/sign-in", params={"next": "/console/transfer"})
        assert second.status_code == 200
        answer = await client.post(
            "/console/sign-in", data={"csrf": csrf_of(first.text), "token": WRITE}
        )
        assert answer.status_code == 303, answer.text
        assert session_of(client) is not None

    @pytest.mark.parametrize("value", ["", "short", "x" * 2000, "a;b", "%" * 43])
    async def test_a_form_cookie_not_of_ours_is_replaced(self, console: Any, value: str) -> None:
        client, _ = console
        client.cookies.set(session_cookie.SIGN_IN_COOKIE, value, path="/console/sign-in")
        form = await client.get("/console/sign-in")
        assert csrf_of(form.text) != value
        assert len(csrf_of(form.text)) == 43

    @pytest.mark.parametrize("csrf", [None, "", "forged-forged-forged"])
    async def test_a_wrong_or_missing_form_token_is_refused(
        self, console: Any, csrf: str | None
    ) -> None:
        client, _ = console
        await client.get("/console/sign-in")
        data = {"token": WRITE} if csrf is None else {"token": WRITE, "csrf": csrf}
        answer = await client.post("/console/sign-in", data=data)
        assert answer.status_code == 403
        assert session_of(client) is None

    async def test_a_form_posted_from_another_site_is_refused(self, console: Any) -> None:
        client, _ = console
        answer = await post_sign_in(client, WRITE, origin="https://evil.example")
        assert answer.status_code == 403
        assert session_of(client) is None

    async def test_the_same_host_over_http_is_ours(self, console: Any) -> None:
        # Behind a proxy ending TLS, the browser's https origin reaches us as http.
        client, _ = console
        answer = await post_sign_in(client, WRITE, origin="http://bouncer.example")
        assert answer.status_code == 303

    @pytest.mark.parametrize(
        "body",
        [
            b"\xff\xfe\x00garbage",
            b"csrf=%ZZ&token=%",
            b"a=" + b"b" * 2_000_000,
            b"&&&&&=&=",
        ],
    )
    async def test_a_garbled_body_is_a_clear_refusal(self, console: Any, body: bytes) -> None:
        client, _ = console
        await client.get("/console/sign-in")
        answer = await client.post(
            "/console/sign-in",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert 400 <= answer.status_code < 500
        assert session_of(client) is None


class TestNext:
    @pytest.mark.parametrize(
        "next_path",
        [
            "//evil.example/console",
            "https://evil.example/console",
            "/\\evil.example",
            "/console//evil.example",
            "/consolex",
            "/v1/suppressions",
            "/console/\r\nSet-Cookie: x=1",
            "javascript:alert(1)",
            "/console/" + "a" * 3000,
        ],
    )
    async def test_only_a_console_path_is_a_destination(self, console: Any, next_path: str) -> None:
        client, _ = console
        answer = await post_sign_in(client, WRITE, next_path=next_path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console"

    async def test_next_is_carried_into_the_form_escaped(self, console: Any) -> None:
        client, _ = console
        page = await client.get('/console/sign-in?next=/console/x"><b>bold</b>')
        assert "<b>bold</b>" not in page.text
        assert "&#34;&gt;&lt;b&gt;" in page.text


class TestSession:
    async def signed_in(self, console: Any, token: str = WRITE) -> httpx.AsyncClient:
        client: httpx.AsyncClient = console[0]
        assert (await post_sign_in(client, token)).status_code == 303
        return client

    async def test_no_cookie_is_sent_to_sign_in_with_where_it_was_going(self, console: Any) -> None:
        client, _ = console
        answer = await client.get("/console/suppressions", params={"reason": "bounce"})
        assert answer.status_code == 303
        assert answer.headers["location"] == (
            "/console/sign-in?next=/console/suppressions%3Freason%3Dbounce"
        )
        # A POST without a Referer goes back to the overview (never to a POST-only path).
        answer = await client.post("/console/sign-out", data={"csrf": "x"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/sign-in?next=/console"

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # signature
            lambda c: "e" + c[1:] if c[0] != "e" else "f" + c[1:],  # payload
            lambda c: c.partition(".")[0],  # no signature
            lambda c: "." + c.partition(".")[2],  # no payload
            lambda c: c + "." + c,
            lambda c: "x" * 5000,
        ],
    )
    async def test_an_altered_cookie_is_no_session(self, console: Any, mangle: Any) -> None:
        client = await self.signed_in(console)
        cookie = session_of(client)
        assert cookie is not None
        replace_session(client, mangle(cookie))
        answer = await client.get("/console/sign-in")
        assert answer.status_code == 200  # the form again: not signed in

    async def test_a_session_idle_longer_than_the_setting_has_ended(self, console: Any) -> None:
        client, app = console
        await self.signed_in(console)
        key = services_of(app).tokens.session_key
        session = session_cookie.decode(session_of(client), key=key)
        assert session is not None
        old = session.seen(now=datetime.now(UTC) - timedelta(hours=12, minutes=1))
        replace_session(client, session_cookie.encode(old, key=key))
        answer = await client.post("/console/sign-out", data={"csrf": session.csrf})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/sign-in?next=")

    @pytest.mark.parametrize(
        ("referer", "back_to"),
        [
            (
                "https://bouncer.example/console/address?email=ann%40example.com",
                "/console/address?email=ann%40example.com",
            ),
            (None, "/console"),  # no Referer: the overview
            ("https://evil.example/console/add", "/console"),  # another site's: ignored
        ],
    )
    async def test_a_form_posted_after_the_session_ended_leads_back_to_its_page(
        self, console: Any, referer: str | None, back_to: str
    ) -> None:
        # A POST cannot be replayed by a redirect: sending the browser to the POST-only
        # path after signing in would be a GET of it, a 405 in JSON, the form lost.
        client, app = console
        await self.signed_in(console)
        key = services_of(app).tokens.session_key
        session = session_cookie.decode(session_of(client), key=key)
        assert session is not None
        old = session.seen(now=datetime.now(UTC) - timedelta(hours=13))
        replace_session(client, session_cookie.encode(old, key=key))
        headers = {"referer": referer} if referer else {}
        answer = await client.post(
            "/console/address/remove",
            data={"csrf": session.csrf, "email": "ann@example.com"},
            headers=headers,
        )
        assert answer.status_code == 303
        form = await client.get(answer.headers["location"])
        assert form.status_code == 200
        next_path = re.search(r'name="next" value="([^"]+)"', form.text)
        assert next_path is not None
        signed = await client.post(
            "/console/sign-in",
            data={"csrf": csrf_of(form.text), "token": WRITE, "next": next_path[1]},
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == back_to
        assert (await client.get(signed.headers["location"])).status_code == 200

    async def test_a_session_used_within_the_setting_goes_on_and_is_renewed(
        self, console: Any
    ) -> None:
        client, app = console
        await self.signed_in(console)
        key = services_of(app).tokens.session_key
        session = session_cookie.decode(session_of(client), key=key)
        assert session is not None
        recent = session.seen(now=datetime.now(UTC) - timedelta(hours=11))
        replace_session(client, session_cookie.encode(recent, key=key))
        answer = await client.get("/console/sign-in")
        assert answer.status_code == 303  # still signed in
        renewed = session_cookie.decode(session_of(client), key=key)
        assert renewed is not None
        assert renewed.seen_at > recent.seen_at + 3600

    async def test_a_session_of_other_tokens_is_no_session(self, make_client: Any) -> None:
        # The key is derived from the tokens: change them and every session ends.
        first, _ = await make_client(**TOKENS)
        assert (await post_sign_in(first, WRITE)).status_code == 303
        cookie = session_of(first)
        second, _ = await make_client(
            API_TOKENS=[f"ops={WRITE}", "new=another-token-0123456789"],
            API_READ_TOKENS=TOKENS["API_READ_TOKENS"],
        )
        replace_session(second, cookie or "")
        assert (await second.get("/console/sign-in")).status_code == 200

    async def test_sign_out_needs_the_csrf_token_then_ends_the_session(self, console: Any) -> None:
        client = await self.signed_in(console, READ)
        page = await client.get("/console/sign-in?next=/console")
        assert page.status_code == 303
        refused = await client.post("/console/sign-out", data={})
        assert refused.status_code == 403
        assert session_of(client) is not None
        key = services_of(console[1]).tokens.session_key
        csrf = session_cookie.decode(session_of(client), key=key)
        assert csrf is not None
        answer = await client.post("/console/sign-out", data={"csrf": csrf.csrf})
        assert answer.status_code == 303
        assert session_of(client) is None


class TestHeaders:
    @pytest.mark.parametrize("path", ["/console/sign-in", "/console/no-such-page"])
    async def test_every_console_answer_carries_the_policy(self, console: Any, path: str) -> None:
        client, _ = console
        answer = await client.get(path)
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"

    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/console/no-such-page", 404),
            ("GET", "/console/address/remove", 405),  # a form's target, opened as a page
            ("POST", "/console", 405),
        ],
    )
    async def test_a_path_or_method_the_console_has_not_is_a_page(
        self, console: Any, method: str, path: str, status: int
    ) -> None:
        # routing.ConsoleRoute makes every error of a route a page; the router's own 404
        # and 405 must not be the API's JSON either.
        client, _ = console
        answer = await client.request(method, path)
        assert answer.status_code == status
        assert answer.headers["content-type"].startswith("text/html")
        assert re.search(r'role="alert"[^>]*>[^<]+<', answer.text)
        if status == 405:
            assert answer.headers["allow"]

    async def test_the_api_keeps_its_json_errors(self, console: Any) -> None:
        client, _ = console
        for path in ("/no-such-page", "/consoled"):
            answer = await client.get(path)
            assert answer.status_code == 404
            assert answer.headers["content-type"] == "application/json"

    async def test_the_api_is_left_alone(self, console: Any) -> None:
        client, _ = console
        answer = await client.get("/healthz")
        assert "content-security-policy" not in answer.headers

    async def test_the_stylesheet_is_served_by_bouncer(self, console: Any) -> None:
        client, _ = console
        answer = await client.get("/console/static/console.css")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/css")
        assert "http" not in answer.text  # no imported fonts or remote assets


class TestCookieText:
    async def test_a_cookie_of_any_characters_is_no_session(self, console: Any) -> None:
        client, _ = console
        answer = await client.get(
            "/console/sign-in",
            headers={"cookie": f"{session_cookie.COOKIE}=é.é".encode()},
        )
        assert answer.status_code == 200
