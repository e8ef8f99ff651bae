"""Bearer tokens for the ops API: API_TOKENS may do everything, API_READ_TOKENS only read."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.errors import ReadOnlyToken, Unauthorized

log = logging.getLogger("bouncer.access")

TOKEN_FILE = "api-token"  # noqa: S105  (a file name, not a secret)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name goes into the suppression history."""

    name: str
    can_write: bool


@dataclass(frozen=True)
class _Token:
    digest: bytes
    principal: Principal


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_tokens(entries: Sequence[str], *, can_write: bool, first: int) -> list[_Token]:
    """``name=token`` or a bare ``token`` (named ``token-N``)."""
    tokens = []
    for n, entry in enumerate(entries, start=first):
        name, sep, secret = entry.partition("=")
        if not sep:
            name, secret = f"token-{n}", entry
        tokens.append(_Token(_digest(secret), Principal(name.strip(), can_write)))
    return tokens


class TokenRegistry:
    def __init__(self, tokens: Sequence[_Token]) -> None:
        self._tokens = list(tokens)

    @classmethod
    def from_settings(
        cls, write: Sequence[str], read: Sequence[str], *, data_dir: Path
    ) -> TokenRegistry:
        if not write and not read:
            secret = ensure_token_file(data_dir)
            return cls([_Token(_digest(secret), Principal("generated", can_write=True))])
        tokens = parse_tokens(write, can_write=True, first=1)
        tokens += parse_tokens(read, can_write=False, first=len(write) + 1)
        return cls(tokens)

    def authenticate(self, header: str | None) -> Principal:
        scheme, _, secret = (header or "").partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise Unauthorized("send Authorization: Bearer <token> (API_TOKENS or API_READ_TOKENS)")
        digest = _digest(secret)
        found: Principal | None = None
        # Compare with every token, so the time taken says nothing about which matched.
        for token in self._tokens:
            if hmac.compare_digest(digest, token.digest):
                found = token.principal
        if found is None:
            raise Unauthorized("that bearer token is not valid")
        return found


def require_write(principal: Principal) -> Principal:
    if not principal.can_write:
        raise ReadOnlyToken(
            f"token {principal.name!r} is read-only: use a token from API_TOKENS to change things"
        )
    return principal


def ensure_token_file(data_dir: Path) -> str:
    """The generated token in DATA_DIR/api-token (0600), created once even by racing workers."""
    path = data_dir / TOKEN_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        log.info("no API_TOKENS set: the API token is in %s", path)
        return _read_token(path)
    secret = secrets.token_urlsafe(32)
    # Written to a temporary name and renamed, so a racing reader never sees half a token:
    # O_EXCL on the final name decides the winner, the rename publishes the content.
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}")
    tmp_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(tmp_fd, "w") as handle:
        handle.write(secret + "\n")
    os.close(fd)
    os.replace(tmp, path)
    log.warning(
        "no API_TOKENS set: generated an API token in %s (mode 0600); "
        "set API_TOKENS to choose your own",
        path,
    )
    return secret


def _read_token(path: Path) -> str:
    # The winner may still be writing; its content appears atomically by rename.
    for _ in range(100):
        secret = path.read_text().strip()
        if secret:
            return secret
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: delete it and restart to generate a new token")
