"""The addresses an import has taken so far, in ~50 bytes each where a set takes ~110.

A set of str held a million addresses in ~110 MB (each string object and its slot),
which put a million-line import over its 200 MB. Here each address is packed into one
bytearray, and found through an open-addressing table of 64-bit slots: the address's
place in it (its offset and length) and 21 bits of its hash, so that a probe compares
bytes only when those match. Exact: an address is held only when its bytes are.
"""

from __future__ import annotations

from array import array

_HASH_BITS = 21
_LENGTH_BITS = 10  # an address (254 characters at most) and then some
_HASH_MASK = (1 << _HASH_BITS) - 1
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1
_OFFSET_SHIFT = _HASH_BITS + _LENGTH_BITS


class SeenAddresses:
    def __init__(self) -> None:
        self._data = bytearray()
        self._slots = array("q", bytes(8 * 1024))  # 0: empty
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, address: str) -> bool:
        """True when ``address`` is new (and now held), False when it is held already."""
        key = address.encode("utf-8", "surrogatepass")
        length = len(key)
        if length > _LENGTH_MASK:
            raise ValueError(f"an address of {length} bytes")  # none is: parse_address
        code = hash(address)
        slots, data = self._slots, self._data
        mask = len(slots) - 1
        index = code & mask
        tag = (code >> 32) & _HASH_MASK  # bits the index (code & mask) does not use
        while slot := slots[index]:
            if slot & _HASH_MASK == tag and (slot >> _HASH_BITS) & _LENGTH_MASK == length:
                start = (slot >> _OFFSET_SHIFT) - 1
                if data[start : start + length] == key:
                    return False
            index = (index + 1) & mask
        slots[index] = ((len(data) + 1) << _OFFSET_SHIFT) | (length << _HASH_BITS) | tag
        data += key
        self._count += 1
        if self._count * 2 > len(slots):
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        slots = array("q", bytes(16 * len(old)))
        mask = len(slots) - 1
        data = self._data
        for slot in old:
            if slot:
                start = (slot >> _OFFSET_SHIFT) - 1
                length = (slot >> _HASH_BITS) & _LENGTH_MASK
                index = hash(data[start : start + length].decode("utf-8", "surrogatepass")) & mask
                while slots[index]:
                    index = (index + 1) & mask
                slots[index] = slot
        self._slots = slots
