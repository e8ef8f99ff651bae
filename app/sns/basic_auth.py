"""Optional HTTP basic auth on /sns (SNS_BASIC_AUTH), checked in constant time.

SNS sends the credentials it finds in the subscription's endpoint URL
(https://user:password@host/sns) only after a 401 with a Basic challenge:
https://docs.aws.amazon.com/sns/latest/dg/sns-http-https-endpoint-as-subscriber.html
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence

from app.errors import Unauthorized

_REALM = "bouncer-sns"


def check_basic_auth(header: str | None, pairs: Sequence[str]) -> None:
    """Pass when no pairs are configured or the header carries one of them."""
    if not pairs:
        return
    given = _decode(header)
    # Compare against every pair, always, so timing reveals nothing about which matched.
    matched = False
    for pair in pairs:
        matched |= given is not None and hmac.compare_digest(given.encode(), pair.encode())
    if not matched:
        raise Unauthorized(
            "this endpoint needs the user:password from SNS_BASIC_AUTH: put them in the "
            "subscription URL (https://user:password@host/sns)",
            scheme="Basic",
            realm=_REALM,
        )


def _decode(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        return base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
