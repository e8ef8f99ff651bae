"""One email address as bouncer compares it: trimmed, display name dropped, lowercased, punycode."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

# RFC 5321 §4.5.3.1.3 caps a path at 256 octets including its angle brackets
# (RFC 3696 erratum 1690), which leaves 254 for the address itself.
MAX_LENGTH = 254
# RFC 5322 §2.1.1: no header line is longer, so longer input is not an address field.
_MAX_INPUT = 998
# Control, format (zero-width, bidi), surrogate and line/paragraph separator characters:
# invisible, so two addresses that look alike could key differently.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_STRUCTURAL = frozenset("<>@,;")


class InvalidAddress(ValueError):
    """The text is not exactly one email address; the message says what is wrong with it."""

    def __init__(self, raw: object, problem: str) -> None:
        shown = repr(raw) if len(repr(raw)) <= 80 else repr(raw)[:77] + "..."
        super().__init__(f"{shown} is not a valid email address: {problem}")
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Address:
    normalized: str
    """The comparison key: lowercase, ASCII, the domain in punycode (``ann@xn--bcher-kva.de``)."""
    display: str
    """The addr-spec as written, display name and angle brackets dropped (``Ann@Bücher.de``)."""


def parse_address(raw: str) -> Address:
    """Read one address, with or without a display name, or raise InvalidAddress."""
    if not isinstance(raw, str):
        raise InvalidAddress(raw, "it is not text")
    text = raw.strip()
    if not text:
        raise InvalidAddress(raw, "it is empty")
    if len(text) <= MAX_LENGTH and (plain := _PLAIN.fullmatch(text)) is not None:
        domain = _domains[plain[2]] if plain[2] in _domains else _plain_domain(plain[2])
        if domain is not None:
            return Address(normalized=f"{plain[1].lower()}@{domain}", display=text)
    return _parse(raw, text)


def address_key(raw: str) -> str:
    """``parse_address(raw).normalized``, or InvalidAddress: the key alone, for a bulk check
    of 10,000 addresses, where building each Address cost a third of the keying."""
    text = raw.strip() if isinstance(raw, str) else ""
    if len(text) <= MAX_LENGTH and (plain := _PLAIN.fullmatch(text)) is not None:
        local, domain = plain.groups()
        key = _domains[domain] if domain in _domains else _plain_domain(domain)
        if key is not None:
            return f"{local.lower()}@{key}"
    return parse_address(raw).normalized


def _parse(raw: str, text: str) -> Address:
    """parse_address for any address (``text`` is ``raw`` stripped, not empty)."""
    if len(text) > _MAX_INPUT:
        raise InvalidAddress(raw, f"it is longer than {_MAX_INPUT} characters")
    for char in text:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise InvalidAddress(raw, f"it contains the invisible character U+{ord(char):04X}")
    specials = _unquoted_specials(raw, text)
    if any(char in ",;" for _, char in specials):
        raise InvalidAddress(raw, "it looks like a list of addresses; give exactly one")
    if sum(char == "@" for _, char in specials) > 1:
        raise InvalidAddress(raw, "it has more than one @ outside quotes; give exactly one address")
    addr_spec = _drop_display_name(raw, text, specials)
    return Address(normalized=_normalize_addr_spec(raw, addr_spec), display=addr_spec)


# A plain address: a dot-atom local part of these characters and an ASCII host name, as
# nearly every address SES reports or an application sends to is. For these the verdict
# and key depend on the domain alone: such a local part always passes email_validator
# (dot-atom text, ASCII, unquoted; strict=False does not cap its length) and the key only
# lowercases it. So each domain goes through the full check once, on a probe address,
# and the rest never reaches email_validator, which costs ~20-60 µs an address (its
# per-character Unicode checks of the domain): a third of a 10,000-address bulk check.
# tests/test_addresses.py checks that both paths agree.
_PLAIN = re.compile(r"([A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)@([A-Za-z0-9.-]+)")
# Domains remembered, ~250 bytes each; forgotten all at once past this many. A plain
# dict of strings: the cyclic GC does not traverse it, as it would an lru_cache's nodes.
DOMAIN_CACHE = 131_072
_domains: dict[str, str | None] = {}
"""domain as written -> its key (lowercase punycode), or None when the check refuses it."""


def _plain_domain(domain: str) -> str | None:
    if len(_domains) >= DOMAIN_CACHE:
        _domains.clear()
    probe = f"x@{domain}"
    try:
        key: str | None = _normalize_addr_spec(probe, probe).partition("@")[2]
    except InvalidAddress:
        key = None  # the full path below gives the reason, worded for the whole address
    _domains[domain] = key
    return key


# _PLAIN for each line of a text, the domain captured.
_PLAIN_LINES = re.compile(r"^[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@([A-Za-z0-9.-]+)$", re.M)


def plain_keys(raws: Sequence[str]) -> list[str] | None:
    """``[address_key(raw) for raw in raws]`` when every one is a plain address whose
    domain keys as itself lowercased, as nearly every address in a bulk check does: then
    each key is the address lowercased, and one regex over the list joined by line breaks
    checks them all, twice as fast as one call per address. None when any is not (or
    holds a line break): key them one by one."""
    if not raws:
        return []
    text = "\n".join(raws)
    if text.count("\n") != len(raws) - 1 or not text.isascii():
        return None
    domains = _PLAIN_LINES.findall(text)
    if len(domains) != len(raws) or max(map(len, raws)) > MAX_LENGTH:
        return None
    for domain in set(domains):
        key = _domains[domain] if domain in _domains else _plain_domain(domain)
        if key != domain.lower():
            return None
    return text.lower().split("\n")


def normalize_address(raw: str) -> str:
    return parse_address(raw).normalized


def domain_of(normalized: str) -> str:
    """The part after the last @ (a quoted local part may hold an @ of its own)."""
    local, at, domain = normalized.rpartition("@")
    if not at or not local or not domain:
        raise InvalidAddress(normalized, "it has no domain after an @")
    return domain


def _unquoted_specials(raw: str, text: str) -> list[tuple[int, str]]:
    """Positions of ``< > @ , ;`` and whitespace outside RFC 5322 quoted strings."""
    found: list[tuple[int, str]] = []
    quoted = escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted:
            if char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in _STRUCTURAL or char.isspace():
            found.append((index, char))
    if quoted:
        raise InvalidAddress(raw, "a double quote is never closed")
    return found


def _drop_display_name(raw: str, text: str, specials: list[tuple[int, str]]) -> str:
    """``Ann <ann@x.com>`` and ``"Ann" <ann@x.com>`` give ``ann@x.com``; a bare address is kept.

    The display name itself (plain, quoted or an RFC 2047 encoded-word) is never decoded:
    it plays no part in the key.
    """
    opens = [index for index, char in specials if char == "<"]
    closes = [index for index, char in specials if char == ">"]
    if not opens and not closes:
        return text
    if len(opens) != 1 or len(closes) != 1 or closes[0] != len(text) - 1 or opens[0] > closes[0]:
        raise InvalidAddress(
            raw, "angle brackets must hold the one address at the end, as in Ann <ann@example.com>"
        )
    # RFC 5322 §3.4 allows whitespace (CFWS) just inside the angle brackets.
    addr_spec = text[opens[0] + 1 : -1].strip()
    if not addr_spec:
        raise InvalidAddress(raw, "the angle brackets are empty")
    return addr_spec


def _normalize_addr_spec(raw: str, addr_spec: str) -> str:
    inner = _unquoted_specials(raw, addr_spec)
    if any(char.isspace() for _, char in inner):
        raise InvalidAddress(raw, "it contains a space outside quotes")
    ats = [index for index, char in inner if char == "@"]
    if not ats:
        raise InvalidAddress(raw, "it has no @")
    if ats[0] == 0:
        raise InvalidAddress(raw, "there is nothing before the @")
    if ats[0] == len(addr_spec) - 1:
        raise InvalidAddress(raw, "there is nothing after the @")
    if len(addr_spec) > MAX_LENGTH:
        raise InvalidAddress(raw, f"it is longer than {MAX_LENGTH} characters")
    try:
        checked = validate_email(
            addr_spec,
            # SES does not support SMTPUTF8: local parts are 7-bit ASCII and internationalised
            # domains travel as punycode, see "Destination" in
            # https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_Destination.html
            allow_smtputf8=False,
            allow_quoted_local=True,
            allow_empty_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            strict=False,
            check_deliverability=False,
            # Requires a dot in the domain and a TLD ending in a letter: no deliverable
            # address has a dotless domain (ICANN prohibits dotless gTLDs since 2013).
            globally_deliverable=True,
            # The flag's only other effect is to accept RFC 6761 ".test" names, which
            # applications are told not to treat as special; localhost, .local, .invalid,
            # .onion and .arpa stay refused, as mail can never reach them.
            test_environment=True,
        )
    except EmailNotValidError as err:
        raise InvalidAddress(raw, str(err)) from err
    # ascii_email holds the punycode (IDNA 2008, UTS #46) domain and a canonical local part
    # ("john"@x becomes john@x; RFC 5322 §3.2.4: a quoted-string is the same as an atom).
    # It has also checked that form against the 254 limit. SPEC §3 compares the whole
    # address case-insensitively.
    return (checked.ascii_email or checked.normalized).lower()
