"""A message's header section as bouncer reads it: the display name of an address, and a raw
message with its Bcc fields taken out before SES sees it."""

from __future__ import annotations

import re


def display_name(raw: str) -> str:
    """The display name of an address parse_address accepted, quotes and escapes undone.

    Read here, not by the email package's header parser: that one raises AttributeError
    on a name that starts with a dot (``. <ann@example.org>``, an RFC 5322 obs-phrase),
    which was a 500. Encoded-words are kept as written: formataddr passes them on and the
    reader's mail client decodes them.
    """
    name: list[str] = []
    quoted = escaped = False
    for char in raw.strip():
        if escaped:
            name.append(char)
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            return " ".join("".join(name).split())
        else:
            name.append(char)
    return ""  # a bare address: no angle brackets, no name


# A line ends at CRLF, a bare CR or a bare LF: the email package's parser splits on all
# three (email.feedparser), and so may SES or the receiving server, so a Bcc field after
# any of them is a header to someone.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def strip_bcc(raw: str) -> str:
    """The message without its Bcc header fields, the body byte for byte as given.

    SES delivers a raw message as written, so a Bcc header would show every blind
    recipient to all the others; RFC 5322 §3.6.3 has the sender remove it. Whatever the
    line endings (CRLF, bare CR, bare LF, mixed), the field and its folded continuation
    lines go.
    """
    kept: list[str] = []
    dropping = False
    lines = _LINE.findall(raw)
    for index, line in enumerate(lines):
        if line.strip("\r\n") == "":  # the blank line that ends the header section
            kept.extend(lines[index:])
            break
        if line[:1] not in (" ", "\t"):  # not a folded continuation: a new field
            # Resent-Bcc (RFC 5322 §3.6.6) holds blind addresses just as Bcc does.
            dropping = line.split(":", 1)[0].strip().lower() in ("bcc", "resent-bcc")
        if not dropping:
            kept.append(line)
    return "".join(kept)
