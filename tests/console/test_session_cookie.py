"""The session cookie's format: what it accepts, and that nothing else is ever a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.access import TokenRegistry, parse_tokens
from app.console import session_cookie

KEY = b"k" * 32
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def registry(*entries: str) -> TokenRegistry:
    return TokenRegistry(parse_tokens(entries, can_write=True, first=1))


class TestCookie:
    def test_round_trip(self) -> None:
        session = session_cookie.new_session("f" * 32, now=NOW)
        assert session_cookie.decode(session_cookie.encode(session, key=KEY), key=KEY) == session

    def test_another_key_is_refused(self) -> None:
        cookie = session_cookie.encode(session_cookie.new_session("f", now=NOW), key=KEY)
        assert session_cookie.decode(cookie, key=b"j" * 32) is None

    def test_each_session_has_its_own_csrf_token(self) -> None:
        first = session_cookie.new_session("f", now=NOW)
        second = session_cookie.new_session("f", now=NOW)
        assert first.csrf != second.csrf
        assert len(first.csrf) >= 40

    @given(st.text(max_size=2000))
    def test_no_text_decodes_without_the_key(self, text: str) -> None:
        assert session_cookie.decode(text, key=KEY) is None

    def test_idle_is_measured_from_the_last_request(self) -> None:
        session = session_cookie.new_session("f", now=NOW)
        assert not session.is_idle(now=NOW + timedelta(hours=12), hours=12)
        assert session.is_idle(now=NOW + timedelta(hours=12, seconds=1), hours=12)
        assert not session.seen(now=NOW + timedelta(hours=11)).is_idle(
            now=NOW + timedelta(hours=22), hours=12
        )

    def test_csrf_tokens_compare_whole(self) -> None:
        assert session_cookie.matches("abc", "abc")
        assert not session_cookie.matches("ab", "abc")
        assert not session_cookie.matches(None, "abc")
        assert not session_cookie.matches("é", "abc")


class TestFingerprints:
    def test_a_session_finds_its_token_while_it_is_configured(self) -> None:
        tokens = registry("ops=write-token-0123456789")
        principal, fingerprint = tokens.sign_in("write-token-0123456789")
        assert tokens.by_fingerprint(fingerprint) == principal
        assert "write-token" not in fingerprint

    def test_a_token_taken_out_of_the_settings_ends_its_sessions(self) -> None:
        before = registry("ops=write-token-0123456789", "bob=other-token-0123456789")
        _, fingerprint = before.sign_in("other-token-0123456789")
        after = registry("ops=write-token-0123456789")
        assert after.by_fingerprint(fingerprint) is None
        assert before.session_key != after.session_key

    def test_the_same_settings_give_every_replica_the_same_key(self) -> None:
        entries = ("ops=write-token-0123456789", "bob=other-token-0123456789")
        assert registry(*entries).session_key == registry(*reversed(entries)).session_key
