"""Bearer tokens for the ops API: API_TOKENS may do everything, API_READ_TOKENS only read."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.errors import ReadOnlyToken, Unauthorized
from app.private_files import (
    UnsafePath,
    create_private_file,
    make_private_dir,
    open_private_file,
)

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


# The console's session cookies are signed with a key derived from every token (SPEC §9):
# each replica with the same settings derives the same key, with no secret to share; a
# read token alone cannot forge one; and changing the tokens ends every session.
_SESSION_KEY_LABEL = b"bouncer console session key v1"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


# SPEC §4 Edges: a token is at least 16 characters, and an entry is ``name=token`` only
# when what precedes the first "=" is a name and the rest a whole token. Anything else is
# one token as written, so base64 padding (`openssl rand -base64 16` ends in "==") stays
# part of the secret instead of splitting it into a name and a token "=".
MIN_TOKEN_LENGTH = 16
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}", re.ASCII)


def split_entry(entry: str, *, number: int) -> tuple[str, str]:
    """``(name, secret)`` of one API_TOKENS entry; an unnamed token is ``token-<number>``."""
    name, sep, secret = entry.partition("=")
    if sep and _NAME.fullmatch(name) and len(secret) >= MIN_TOKEN_LENGTH:
        return name, secret
    return f"token-{number}", entry


def check_entries(entries: Sequence[str], *, setting: str) -> None:
    """Raise ValueError naming the entry (by position, never its secret) whose token is short."""
    for position, entry in enumerate(entries, start=1):
        _, secret = split_entry(entry, number=position)
        if len(secret) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"entry {position} of {setting} is a token of {len(secret)} characters; "
                f"a token needs at least {MIN_TOKEN_LENGTH} (make one with "
                "`openssl rand -base64 24`), optionally named as name=token"
            )


def parse_tokens(entries: Sequence[str], *, can_write: bool, first: int) -> list[_Token]:
    """``name=token`` or a bare ``token`` (named ``token-N``), as ``split_entry`` reads them."""
    tokens = []
    for n, entry in enumerate(entries, start=first):
        name, secret = split_entry(entry, number=n)
        tokens.append(_Token(_digest(secret), Principal(name, can_write)))
    return tokens


class TokenRegistry:
    def __init__(self, tokens: Sequence[_Token]) -> None:
        self._tokens = list(tokens)
        material = b"".join(sorted(token.digest for token in self._tokens))
        self.session_key = hmac.new(_SESSION_KEY_LABEL, material, hashlib.sha256).digest()

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
        found = self._find(_digest(secret))
        if found is None:
            raise Unauthorized("that bearer token is not valid")
        return found.principal

    def sign_in(self, secret: str) -> tuple[Principal, str]:
        """The principal of a token typed into the console, and the fingerprint its session
        carries; Unauthorized when it is no token."""
        found = self._find(_digest(secret.strip())) if secret.strip() else None
        if found is None:
            raise Unauthorized("that token is not valid: use one of API_TOKENS or API_READ_TOKENS")
        return found.principal, self._fingerprint(found)

    def by_fingerprint(self, fingerprint: str) -> Principal | None:
        """The principal whose token a session was signed in with, None once that token is
        no longer configured (its sessions end with it)."""
        found: Principal | None = None
        for token in self._tokens:
            if hmac.compare_digest(fingerprint, self._fingerprint(token)):
                found = token.principal
        return found

    def _fingerprint(self, token: _Token) -> str:
        # Keyed, so a cookie (signed, not encrypted) gives no hash of the token to guess at.
        return hmac.new(self.session_key, token.digest, hashlib.sha256).hexdigest()[:32]

    def _find(self, digest: bytes) -> _Token | None:
        found: _Token | None = None
        # Compare with every token, so the time taken says nothing about which matched.
        for token in self._tokens:
            if hmac.compare_digest(digest, token.digest):
                found = token
        return found


def require_write(principal: Principal) -> Principal:
    if not principal.can_write:
        raise ReadOnlyToken(
            f"token {principal.name!r} is read-only: use a token from API_TOKENS to change things"
        )
    return principal


def ensure_token_file(data_dir: Path) -> str:
    """The generated token in DATA_DIR/api-token (0600), created once even by racing workers.

    Raises UnsafePath when DATA_DIR is not a directory, or when the token file found there
    is a symlink, not a regular file, another user's, or open to group or others: such a
    file could have been planted to choose the token, or to read it.
    """
    path = data_dir / TOKEN_FILE
    make_private_dir(data_dir, setting="DATA_DIR")
    fd = create_private_file(path)
    if fd is None:
        existing = _read_token(path)
        log.info("no API_TOKENS set: the API token is in %s", path)
        return existing
    secret = secrets.token_urlsafe(32)
    # Written to a temporary name and renamed, so a racing reader never sees half a token:
    # O_EXCL on the final name decides the winner, the rename publishes the content.
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}")
    tmp_fd = create_private_file(tmp)
    if tmp_fd is None:
        # Left by a crash, or planted (a symlink to write through): unlink never follows.
        tmp.unlink()
        tmp_fd = create_private_file(tmp)
        if tmp_fd is None:
            os.close(fd)
            raise UnsafePath(f"{tmp} keeps reappearing: check who else writes to {data_dir}")
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
        with os.fdopen(open_private_file(path, what="generate a new token"), "r") as handle:
            secret = handle.read().strip()
        if len(secret) >= MIN_TOKEN_LENGTH:
            return secret
        if secret:
            # Complete (the winner renames it in whole) but too short to be a token.
            raise UnsafePath(
                f"{path} holds a token of {len(secret)} characters, a token needs at least "
                f"{MIN_TOKEN_LENGTH}: delete it and restart to generate a new token"
            )
        time.sleep(0.01)
    raise UnsafePath(f"{path} is empty: delete it and restart to generate a new token")
