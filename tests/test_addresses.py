"""Addresses: the key every suppression is stored and compared under (SPEC §3)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import addresses
from app.addresses import Address, InvalidAddress, domain_of, normalize_address, parse_address
from tests.address_parts import address_parts


class TestNormalizeAddress:
    @pytest.mark.parametrize(
        ("raw", "key"),
        [
            pytest.param("ann@example.com", "ann@example.com", id="plain"),
            pytest.param('"Ann" <Ann@Example.COM>', "ann@example.com", id="spec-example"),
            pytest.param("Ann <ann@x.com>", "ann@x.com", id="unquoted-display-name"),
            pytest.param("Ann Smith <ann@x.com>", "ann@x.com", id="display-name-with-space"),
            pytest.param('"Smith, Ann" <ann@x.com>', "ann@x.com", id="quoted-comma-in-name"),
            pytest.param('"a <b@c.com>" <ann@x.com>', "ann@x.com", id="quoted-specials-in-name"),
            pytest.param('"Ann \\"AJ\\" S" <ann@x.com>', "ann@x.com", id="escaped-quotes-in-name"),
            pytest.param('"ann@x.com" <ann@x.com>', "ann@x.com", id="address-as-quoted-name"),
            pytest.param("<ann@x.com>", "ann@x.com", id="angle-brackets-only"),
            pytest.param('"" <ann@x.com>', "ann@x.com", id="empty-quoted-name"),
            pytest.param("Ann < ann@x.com >", "ann@x.com", id="space-inside-brackets"),
            pytest.param("=?UTF-8?B?QW5u?= <Ann@X.com>", "ann@x.com", id="encoded-word-b"),
            pytest.param(
                "=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jorg@x.com>", "jorg@x.com", id="encoded-word-q"
            ),
            pytest.param("ANN@EXAMPLE.COM", "ann@example.com", id="uppercase"),
            pytest.param("Ann.Smith+Tag@Example.com", "ann.smith+tag@example.com", id="mixed-case"),
            pytest.param("  ann@x.com  ", "ann@x.com", id="surrounding-spaces"),
            pytest.param("\tann@x.com\r\n", "ann@x.com", id="surrounding-tab-and-crlf"),
            pytest.param("  Ann <ann@x.com>  ", "ann@x.com", id="spaces-around-named-form"),
            pytest.param("ann@example.test", "ann@example.test", id="rfc6761-test-domain"),
            pytest.param("o'brien@x.com", "o'brien@x.com", id="apostrophe"),
            pytest.param(
                "a!#$%&'*+/=?^_`{|}~-@x.com", "a!#$%&'*+/=?^_`{|}~-@x.com", id="all-atext"
            ),
        ],
    )
    def test_gives_the_comparison_key(self, raw: str, key: str) -> None:
        assert normalize_address(raw) == key

    def test_normalize_is_parse_normalized(self) -> None:
        assert normalize_address("Ann <Ann@X.com>") == parse_address("Ann <Ann@X.com>").normalized


class TestDisplay:
    @pytest.mark.parametrize(
        ("raw", "display"),
        [
            pytest.param('"Ann" <Ann@Example.COM>', "Ann@Example.COM", id="keeps-case"),
            pytest.param("  Ann@X.com ", "Ann@X.com", id="trimmed"),
            pytest.param("Ann < Ann@X.com >", "Ann@X.com", id="trimmed-inside-brackets"),
            pytest.param("user@Bücher.de", "user@Bücher.de", id="keeps-unicode-domain"),
            pytest.param('"John Doe"@Example.com', '"John Doe"@Example.com', id="keeps-quotes"),
        ],
    )
    def test_is_the_address_as_written(self, raw: str, display: str) -> None:
        assert parse_address(raw).display == display

    def test_is_a_frozen_value(self) -> None:
        address = parse_address("Ann@X.com")
        assert address == Address(normalized="ann@x.com", display="Ann@X.com")
        with pytest.raises(AttributeError):
            address.normalized = "bob@x.com"  # type: ignore[misc]


class TestInternationalisedDomains:
    @pytest.mark.parametrize(
        "raw",
        [
            "user@bücher.de",
            "user@xn--bcher-kva.de",
            "USER@BÜCHER.DE",
            "User@XN--BCHER-KVA.DE",
            "Ann <user@bücher.de>",
        ],
    )
    def test_unicode_and_punycode_forms_share_the_punycode_key(self, raw: str) -> None:
        assert normalize_address(raw) == "user@xn--bcher-kva.de"

    def test_uses_idna_2008_so_sharp_s_is_its_own_domain(self) -> None:
        # IDNA 2003 (the stdlib codec) would turn straße.de into strasse.de, another domain.
        assert normalize_address("a@straße.de") == "a@xn--strae-oqa.de"
        assert normalize_address("a@strasse.de") == "a@strasse.de"

    def test_fullwidth_characters_fold_to_ascii(self) -> None:
        fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "example")  # U+FF45 ...
        # UTS #46 maps FULLWIDTH LATIN letters to ASCII.
        assert normalize_address(f"a@{fullwidth}.com") == "a@example.com"

    def test_domain_of_gives_the_punycode_domain(self) -> None:
        assert domain_of(normalize_address("a@Bücher.de")) == "xn--bcher-kva.de"


class TestQuotedLocalParts:
    @pytest.mark.parametrize(
        ("raw", "key"),
        [
            pytest.param('"john doe"@example.com', '"john doe"@example.com', id="space"),
            pytest.param('"John Doe"@Example.com', '"john doe"@example.com', id="lowercased"),
            pytest.param('"john"@example.com', "john@example.com", id="needless-quotes-dropped"),
            pytest.param('"j\\ohn"@example.com', "john@example.com", id="needless-escape"),
            pytest.param('"a@b"@example.com', '"a@b"@example.com', id="at-inside-quotes"),
            pytest.param('"a\\"b"@example.com', '"a\\"b"@example.com', id="escaped-quote"),
            pytest.param('Ann <"john doe"@example.com>', '"john doe"@example.com', id="named"),
        ],
    )
    def test_are_accepted_in_canonical_form(self, raw: str, key: str) -> None:
        assert normalize_address(raw) == key

    def test_quoted_and_bare_spellings_are_one_address(self) -> None:
        assert normalize_address('"john.doe"@x.com') == normalize_address("John.Doe@x.com")

    def test_domain_of_splits_at_the_last_at(self) -> None:
        assert domain_of(normalize_address('"a@b"@example.com')) == "example.com"


class TestGarbage:
    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("", id="empty"),
            pytest.param("   ", id="blank"),
            pytest.param("ann", id="no-at"),
            pytest.param("ann.example.com", id="no-at-dotted"),
            pytest.param("a@b@c.com", id="two-ats"),
            pytest.param("ann@x.com <ann@x.com>", id="unquoted-address-as-name"),
            pytest.param("@x.com", id="empty-local"),
            pytest.param("ann@", id="empty-domain"),
            pytest.param('""@x.com', id="empty-quoted-local"),
            pytest.param("ann @x.com", id="space-before-at"),
            pytest.param("ann@ x.com", id="space-after-at"),
            pytest.param("an n@x.com", id="space-in-local"),
            pytest.param("ann\u00a0@x.com", id="no-break-space"),
            pytest.param('"Ann" ann@x.com', id="name-without-brackets"),
            pytest.param("ann@x.com (Ann)", id="trailing-comment"),
            pytest.param("ann@localhost", id="dotless-domain"),
            pytest.param("ann@com", id="bare-tld"),
            pytest.param("ann@x.local", id="mdns-domain"),
            pytest.param("ann@x.invalid", id="invalid-tld"),
            pytest.param("ann@1.2.3.4", id="dotted-ip"),
            pytest.param("ann@[192.0.2.1]", id="address-literal"),
            pytest.param("ann@x.com.", id="trailing-dot"),
            pytest.param("ann@.x.com", id="leading-dot-domain"),
            pytest.param("ann@x..com", id="double-dot-domain"),
            pytest.param(".ann@x.com", id="leading-dot-local"),
            pytest.param("a..nn@x.com", id="double-dot-local"),
            pytest.param("ann@-x.com", id="hyphen-label"),
            pytest.param("ann@x_y.com", id="underscore-domain"),
            pytest.param("ann@xn--zz.com", id="bad-punycode"),
            pytest.param("ann@☃.net", id="disallowed-idn-codepoint"),
            pytest.param("jörg@x.com", id="non-ascii-local-part"),
            pytest.param("ann(c)@x.com", id="comment-in-local"),
            pytest.param('an"n"@x.com', id="quote-mid-local"),
            pytest.param("x" * 245 + "@x.com.com", id="255-characters"),
            pytest.param("a@" + ".".join(["a" * 60] * 5) + ".com", id="domain-too-long"),
            pytest.param("a" * 2000 + "@x.com", id="huge"),
            pytest.param("a\x00@x.com", id="nul"),
            pytest.param("ann@x.com\nbob@y.com", id="newline-inside"),
            pytest.param("ann\t@x.com", id="tab-inside"),
            pytest.param("a\x7f@x.com", id="del"),
            pytest.param("a\u200b@x.com", id="zero-width-space"),
            pytest.param("a\u202e@x.com", id="bidi-override"),
            pytest.param("ann@x.com, bob@y.com", id="comma-list"),
            pytest.param("ann@x.com; bob@y.com", id="semicolon-list"),
            pytest.param("Ann <ann@x.com>, Bob <bob@y.com>", id="named-list"),
            pytest.param("<ann@x.com> <bob@y.com>", id="two-angle-addrs"),
            pytest.param("ann@x.com,", id="trailing-comma"),
            pytest.param("Group: ann@x.com;", id="group-syntax"),
            pytest.param("<ann@x.com", id="unclosed-bracket"),
            pytest.param("ann@x.com>", id="unopened-bracket"),
            pytest.param("<ann@x.com> Ann", id="text-after-bracket"),
            pytest.param("<>", id="empty-brackets"),
            pytest.param("Ann <>", id="named-empty-brackets"),
            pytest.param('"unclosed <ann@x.com>', id="unclosed-quote"),
            pytest.param("ann\uff20x.com", id="fullwidth-at"),
        ],
    )
    def test_is_refused(self, raw: str) -> None:
        with pytest.raises(InvalidAddress):
            parse_address(raw)

    def test_is_a_value_error_that_says_what_is_wrong(self) -> None:
        with pytest.raises(ValueError, match=r"more than one @") as caught:
            parse_address("a@b@c.com")
        assert isinstance(caught.value, InvalidAddress)
        assert caught.value.problem.startswith("it has more than one @")

    def test_message_names_the_input(self) -> None:
        with pytest.raises(
            InvalidAddress, match=r"'ann' is not a valid email address: it has no @"
        ):
            parse_address("ann")

    def test_message_shortens_a_huge_input(self) -> None:
        with pytest.raises(InvalidAddress) as caught:
            parse_address("a" * 5000)
        assert len(str(caught.value)) < 200

    def test_254_characters_is_the_limit(self) -> None:
        local = "x" * (254 - len("@x.com"))
        assert len(normalize_address(f"{local}@x.com")) == 254
        with pytest.raises(InvalidAddress, match="longer than 254"):
            parse_address(f"{local}x@x.com")

    def test_punycode_counts_toward_the_limit(self) -> None:
        local = "x" * (254 - len("@bücher.de"))
        with pytest.raises(InvalidAddress, match="too long"):
            parse_address(f"{local}@bücher.de")

    def test_non_text_is_refused(self) -> None:
        with pytest.raises(InvalidAddress):
            parse_address(None)  # type: ignore[arg-type]


class TestDomainOf:
    def test_gives_the_domain(self) -> None:
        assert domain_of("ann@example.com") == "example.com"

    @pytest.mark.parametrize("value", ["ann", "ann@", "@x.com", ""])
    def test_refuses_a_value_without_local_part_and_domain(self, value: str) -> None:
        with pytest.raises(InvalidAddress):
            domain_of(value)


class TestProperties:
    @given(st.text(max_size=300))
    def test_any_text_parses_or_raises_invalid_address(self, raw: str) -> None:
        try:
            address = parse_address(raw)
        except InvalidAddress:
            return
        assert normalize_address(address.normalized) == address.normalized
        assert address.normalized == address.normalized.lower()
        assert address.normalized.isascii()

    @given(st.emails())
    def test_valid_addresses_key_the_same_however_written(self, email: str) -> None:
        key = normalize_address(email)
        assert normalize_address(key) == key
        assert normalize_address(email.upper()) == key
        assert normalize_address(f'  "Some One" <{email}>  ') == key
        assert domain_of(key) == email.rpartition("@")[2].lower()


class TestPlainAddressFastPath:
    """Plain addresses skip email_validator once their domain is known: the outcome must be
    exactly what the full path gives, key, display and error alike."""

    @staticmethod
    def outcome(parse: Callable[[str], Address], raw: str) -> Address | str:
        try:
            return parse(raw)
        except InvalidAddress as err:
            return str(err)

    @staticmethod
    def full(raw: str) -> Address:
        if not raw.strip():
            raise InvalidAddress(raw, "it is empty")
        return addresses._parse(raw, raw.strip())

    @pytest.mark.parametrize(
        "raw",
        [
            "ann@example.com",
            "Ann.Lee+tag@Sub.Example.COM",
            "INFO@example.org",
            "a_b-c%d@example.co.uk",
            " padded@example.com ",
            "x@localhost",
            "x@printer.local",
            "x@example.test",
            "x@bad..example.com",
            "x@-bad.example.com",
            "x@ab--cd.example.com",
            "x@xn--bcher-kva.de",
            "x@xn--zz.com",
            "x@example.c1",
            "x@" + "b" * 64 + ".com",
            "a" * 200 + "@" + "b" * 49 + ".com",
            "a" * 201 + "@" + "b" * 49 + ".com",
            ".x@example.com",
            "x.@example.com",
        ],
    )
    def test_cases(self, raw: str) -> None:
        addresses._domains.clear()
        first = self.outcome(parse_address, raw)
        assert first == self.outcome(self.full, raw)
        assert self.outcome(parse_address, raw) == first  # the remembered domain agrees

    @settings(max_examples=400, deadline=None)
    @given(address_parts)
    def test_generated(self, parts: list[tuple[str, str]]) -> None:
        addresses._domains.clear()  # then shared: a verdict is reused for the next address
        for local, domain in parts:
            raw = f"{local}@{domain}"
            assert self.outcome(parse_address, raw) == self.outcome(self.full, raw)

    def test_the_cache_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(addresses, "DOMAIN_CACHE", 3)
        addresses._domains.clear()
        for i in range(10):
            assert parse_address(f"a@d{i}.example.com").normalized == f"a@d{i}.example.com"
            assert len(addresses._domains) <= 3
