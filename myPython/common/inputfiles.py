"""Opening input files safely: regular files only, never blocking, with a size cap and a reason.

A pool may hold anything a file system can: named pipes (opening one for
reading blocks until a writer comes), devices (``/dev/zero`` never ends),
sockets, links to those, files that vanish or lose their permissions while
the run goes on. Every input is checked with ``os.stat`` before it is opened,
opened with ``O_NONBLOCK`` and checked again on the open descriptor (so a file
swapped in between cannot slip through). Problems the file system reports
(permission, I/O error, a file that vanished) are *transient*: an embed run
records them and the next run tries the input again.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from myPython.common.ids import printable
from myPython.errors import InputError


class TransientInputError(InputError):
    """An input the file system would not give (permission, I/O error, vanished): retried by the next run."""


_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def display_name(path: str | os.PathLike) -> str:
    """A path as it appears in one-line messages (control characters and undecodable bytes escaped)."""
    return printable(os.fsdecode(path))


def _os_error(path: str | os.PathLike, exc: OSError) -> InputError:
    name = display_name(path)
    if isinstance(exc, FileNotFoundError):
        broken = os.path.islink(path)
        return TransientInputError(f"{name}: {'broken symbolic link' if broken else 'file not found'}")
    if isinstance(exc, PermissionError):
        return TransientInputError(f"{name}: permission denied")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"{name}: is a directory")
    if exc.errno == errno.ELOOP:
        return InputError(f"{name}: symbolic link loop")
    if exc.errno == errno.ENXIO:
        return InputError(f"{name}: not a regular file (a socket or a device without a driver)")
    return TransientInputError(f"{name}: cannot read ({exc.strerror or exc})")


def check_regular(path: str | os.PathLike, info: os.stat_result) -> None:
    """InputError unless `info` (of `path`, links followed) is a regular, non-empty file."""
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{display_name(path)}: is a directory")
    if not stat.S_ISREG(info.st_mode):
        kind = next((text for test, text in _KINDS if test(info.st_mode)), "a special file")
        raise InputError(f"{display_name(path)}: not a regular file ({kind}), skipped without reading")
    if info.st_size == 0:
        raise InputError(f"{display_name(path)}: empty file")


def stat_input(path: str | os.PathLike) -> os.stat_result:
    """os.stat of an input (links followed) that must be a regular, non-empty file."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _os_error(path, exc) from None
    check_regular(path, info)
    return info


@contextmanager
def open_regular(path: str | os.PathLike) -> Iterator[tuple[int, os.stat_result]]:
    """(file descriptor, stat) of a regular file, opened without ever blocking; closed afterwards."""
    stat_input(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise _os_error(path, exc) from None
    try:
        info = os.fstat(fd)
        check_regular(path, info)
        yield fd, info
    finally:
        os.close(fd)


def fd_path(fd: int, path: str | os.PathLike) -> str:
    """A name for the open file `fd` for libraries that want a path (Linux: /proc/self/fd/N, no race)."""
    proc = Path(f"/proc/self/fd/{fd}")
    return str(proc) if proc.exists() else os.fspath(path)


def read_regular(path: str | os.PathLike, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `max_bytes` (InputError with the reason otherwise)."""
    with open_regular(path) as (fd, info):
        if info.st_size > max_bytes:
            raise InputError(f"{display_name(path)}: {what} of {info.st_size / 2**20:.0f} MB exceeds the limit of "
                             f"{max_bytes / 2**20:.0f} MB")
        chunks, total = [], 0
        try:
            while total <= max_bytes:
                block = os.read(fd, min(1 << 22, max_bytes + 1 - total))
                if not block:
                    break
                chunks.append(block)
                total += len(block)
        except OSError as exc:
            raise _os_error(path, exc) from None
        if total > max_bytes:  # grew while being read
            raise InputError(f"{display_name(path)}: {what} exceeds the limit of {max_bytes / 2**20:.0f} MB")
        return b"".join(chunks)
