"""address_key and plain_keys, the bulk check's keying: exactly parse_address's key, or
its error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import addresses
from app.addresses import InvalidAddress, address_key, parse_address, plain_keys
from tests.address_parts import address_parts


def both(raw: Any) -> tuple[str, str]:
    try:
        expected = parse_address(raw).normalized
    except InvalidAddress as err:
        expected = f"error: {err}"
    try:
        got = address_key(raw)
    except InvalidAddress as err:
        got = f"error: {err}"
    return got, expected


@pytest.mark.parametrize(
    "raw",
    [
        "ann@example.com",
        "Ann.Lee+tag@Sub.Example.COM",
        " padded@example.com\t",
        '"Ann" <ANN@example.com>',
        '"john smith"@example.com',
        "ann@Bücher.de",
        "x@localhost",
        "x@bad..example.com",
        "x@xn--zz.com",
        "a" * 200 + "@" + "b" * 49 + ".com",
        "a" * 201 + "@" + "b" * 49 + ".com",
        " " + "a" * 200 + "@" + "b" * 49 + ".com ",
        ".x@example.com",
        "nope",
        "a@@b.example",
        "",
        "   ",
        "ann@example.com\nbob@example.com",
        None,
        5,
    ],
)
@pytest.mark.parametrize("domain_known", [False, True])
def test_cases(raw: Any, domain_known: bool) -> None:
    addresses._domains.clear()
    if domain_known:
        both(raw)
    got, expected = both(raw)
    assert got == expected


@settings(max_examples=400, deadline=None)
@given(address_parts)
def test_generated(parts: list[tuple[str, str]]) -> None:
    addresses._domains.clear()  # then shared: a verdict is reused for the next address
    raws = [f"{local}@{domain}" for local, domain in parts]
    for raw in raws:
        got, expected = both(raw)
        assert got == expected
    addresses._domains.clear()
    keys = plain_keys(raws)
    assert keys is None or keys == [address_key(raw) for raw in raws]


class TestPlainKeys:
    def test_a_list_of_plain_addresses_in_one_pass(self) -> None:
        raws = ["Ann@Example.com", "b.c+d@sub.example.org", "ANN@example.com", "x_%-@a-b.io"]
        assert plain_keys(raws) == [address_key(raw) for raw in raws]
        assert plain_keys([]) == []

    @pytest.mark.parametrize(
        "odd",
        [
            " ann@example.com",  # whitespace, which address_key strips
            '"Ann" <ann@example.com>',
            "ann@xn--bcher-kva.de",  # keys as itself, but checked
            "ann@Bücher.de",  # not ASCII
            "x@localhost",  # refused
            "nope",
            "",
            "a@example.com\nb@example.com",  # two lines: would shift every later key
            "a" * 201 + "@" + "b" * 49 + ".com",  # over 254
        ],
    )
    def test_one_odd_address_and_it_is_none(self, odd: str) -> None:
        addresses._domains.clear()
        raws = ["ann@example.com", odd, "bob@example.com"]
        keys = plain_keys(raws)
        if odd == "ann@xn--bcher-kva.de":
            assert keys == [address_key(raw) for raw in raws]
        else:
            assert keys is None


@given(st.text(max_size=300))
def test_any_text(raw: str) -> None:
    got, expected = both(raw)
    assert got == expected
