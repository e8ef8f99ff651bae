"""SeenAddresses (the import's duplicate check) answers exactly as a set would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.suppression.transfer.seen import SeenAddresses


@settings(max_examples=300, deadline=None)
@given(addresses=st.lists(st.text(max_size=12), max_size=300))
def test_add_is_true_exactly_for_an_address_not_held_yet(addresses: list[str]) -> None:
    seen, held = SeenAddresses(), set()
    for address in addresses:
        assert seen.add(address) == (address not in held)
        held.add(address)
    assert len(seen) == len(held)


def test_many_addresses_through_several_growths() -> None:
    seen = SeenAddresses()
    assert all(seen.add(f"user{i}@example.com") for i in range(20_000))
    assert not any(seen.add(f"user{i}@example.com") for i in range(0, 20_000, 7))
    assert seen.add("user20000@example.com")
    assert len(seen) == 20_001


def test_addresses_alike_but_for_a_byte_are_told_apart() -> None:
    seen = SeenAddresses()
    assert seen.add("ann@example.com")
    assert seen.add("ann@example.co")
    assert seen.add("anne@example.com")
    assert seen.add("\udcffann@example.com")  # a lone surrogate, kept as it is
    assert not seen.add("ann@example.com")
