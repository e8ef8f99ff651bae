"""Files only bouncer's user may read: DATA_DIR, the generated API token, the SQLite file.

Created private whatever the umask (0700 directories, 0600 files), and a file found in
their place is checked before it is trusted: a token file someone else planted or
linked would otherwise become the API's password, or receive it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class UnsafePath(Exception):
    """A path bouncer will not use; ``str(err)`` is the one line the operator reads."""


def make_private_dir(path: Path, *, setting: str) -> None:
    """Create ``path`` and any missing parents with mode 0700; an existing one is kept."""
    missing: list[Path] = []
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        try:
            # mode is masked by the umask, which can only take bits away from 0700.
            directory.mkdir(mode=0o700)
        except FileExistsError:
            if not directory.is_dir():
                raise UnsafePath(
                    f"{setting} {path}: {directory} is not a directory; "
                    f"point {setting} at a directory"
                ) from None
        except NotADirectoryError:
            raise UnsafePath(
                f"{setting} {path}: a part of it is a file, not a directory; "
                f"point {setting} at a directory"
            ) from None
        except OSError as err:
            raise UnsafePath(f"cannot create {setting} {path}: {err.strerror}") from None


def create_private_file(path: Path) -> int | None:
    """Create ``path`` (0600, never through a symlink) and return its descriptor, or None
    when something is already there."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return None


def open_private_file(path: Path, *, what: str) -> int:
    """Open an existing file for reading only if it is a regular file of bouncer's user
    that nobody else may read or write; raises UnsafePath naming what is wrong."""
    fix = f"delete it and restart to {what}"
    try:
        # O_NOFOLLOW: a symlink is refused by the open itself, not by a check an attacker
        # could race; O_NONBLOCK: a FIFO planted here must not hang the start.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UnsafePath(f"{path} is a symbolic link: {fix}") from None
        raise UnsafePath(f"cannot open {path}: {err.strerror}") from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file"
    elif info.st_uid != os.geteuid():
        problem = f"is owned by uid {info.st_uid}, not bouncer's user (uid {os.geteuid()})"
    elif info.st_mode & 0o077:
        file_mode = stat.S_IMODE(info.st_mode)
        problem = f"has mode {file_mode:04o}: group or others may read or write it"
        fix = f"chmod 600 it if you wrote it, else {fix}"
    if problem is not None:
        os.close(fd)
        raise UnsafePath(f"{path} {problem}: {fix}")
    os.set_blocking(fd, True)
    return fd


def create_sqlite_file(path: Path) -> None:
    """Create an empty SQLite database file 0600 if none exists. SQLite itself would
    create it 0644 less the umask (0644 under umask 000), and gives the -wal and -shm
    files it makes later the database file's own permissions.
    https://www.sqlite.org/compile.html#default_file_permissions
    """
    fd = create_private_file(path)
    if fd is not None:
        os.close(fd)
