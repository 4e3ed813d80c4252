"""Walking folders by directory file descriptor, never by path string.

A path checked with ``resolve()`` and then opened by name can be redirected between the check
and the open: swap a folder for a symlink and the write (or read) lands elsewhere. Here every
component is opened relative to its parent's descriptor with ``O_NOFOLLOW | O_DIRECTORY``, so
a symlink anywhere below the trusted top folder fails the walk (``ELOOP``/``ENOTDIR``) instead of
being followed, and files are created, renamed and opened relative to the folder's descriptor.
The top folder itself (the operator's configured path) may run through symlinks.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
import uuid
from collections.abc import Callable, Iterator, Sequence

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
FILE_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC


class UnsafePath(ValueError):
    """A relative path that is absolute, climbs out with ``..`` or holds a NUL."""


def relative_parts(path: str) -> tuple[str, ...]:
    """``"a/./b/../c"`` → ``("a", "c")``, lexically. Refuses anything that would leave the
    folder it is relative to. Lexical ``..`` removal is only sound because the walk then
    refuses symlinks: no component can mean something other than what it spells."""
    if "\x00" in path or path.startswith("/"):
        raise UnsafePath(path)
    normal = posixpath.normpath(path) if path else "."
    if normal == ".":
        return ()
    parts = tuple(normal.split("/"))
    if parts[0] == "..":
        raise UnsafePath(path)
    return parts


@contextlib.contextmanager
def open_top(path: str, *, create: bool = False) -> Iterator[int]:
    """A descriptor of the trusted top folder (created first when ``create``)."""
    if create:
        os.makedirs(path, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def walk(top_fd: int, parts: Sequence[str], *, create: bool = False) -> Iterator[int]:
    """A descriptor of ``top/parts...``, each component opened without following symlinks
    (made first when ``create``). Raises ``OSError``: ``ELOOP``/``ENOTDIR`` for a symlink or a
    file on the way, ``ENOENT`` for a missing folder."""
    fd = os.dup(top_fd)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def existing_prefix_is_folders(top_fd: int, parts: Sequence[str]) -> bool:
    """False when a component that exists is a file or a symlink; missing ones are fine
    (they will be made). Reads only, creates nothing."""
    fd = os.dup(top_fd)
    try:
        for part in parts:
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                return True
            except OSError:
                return False
            os.close(fd)
            fd = child
        return True
    finally:
        os.close(fd)


def atomic_write(dir_fd: int, name: str, data: bytes) -> None:
    """Write ``name`` inside the folder ``dir_fd`` atomically: a temp file beside it (created
    exclusively, never through a symlink), fsync, then a rename within the same folder. A
    reader never sees a half-written file, and a failure leaves no temp file behind."""
    tmp = f".{name}.{uuid.uuid4().hex[:12]}.tmp"
    fd = create_exclusive(dir_fd, tmp)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def create_exclusive(dir_fd: int, name: str) -> int:
    """A new file ``name`` in ``dir_fd``, owner-only like ``mkstemp``'s."""
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=dir_fd)


def read_file(
    dir_fd: int, name: str, limit: int, check: Callable[[os.stat_result], None] | None = None
) -> bytes:
    """Open ``name`` in ``dir_fd`` without following a symlink and read at most ``limit``
    bytes. ``check`` sees the opened file's own ``fstat`` before anything is read, so checks
    apply to the file read, not to what a path named a moment earlier. Raises ``OSError``
    (``IsADirectoryError`` for anything but a regular file) or whatever ``check`` raises."""
    fd = os.open(name, FILE_READ_FLAGS, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(name)
        if check is not None:
            check(info)
        chunks, remaining = [], limit
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
