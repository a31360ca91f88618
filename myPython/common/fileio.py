"""Atomic file writes and the one folder walker.

Every file the project writes for users (stores, mapped files, reports,
models, caches) appears whole or not at all: it is written to a temporary
name in the same folder, flushed, then renamed over the target.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside `path`; renamed onto `path` when the block ends without error.

    For writers that want a file name (cv2.imwrite, savefig, caffe's Net.save,
    onnx.save). `suffix` keeps the extension writers look at (".png").
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        _fsync_file(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """`open(path, mode)` for writing, committed by rename when the block ends without error."""
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as handle:
        yield handle
        handle.flush()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    with atomic_open(path, "wb") as handle:
        np.save(handle, array)


def atomic_copy(src: str | os.PathLike, path: str | os.PathLike, chunk: int = 1 << 20) -> None:
    with open(src, "rb") as source, atomic_open(path, "wb") as handle:
        while block := source.read(chunk):
            handle.write(block)


def atomic_write_with(path: str | os.PathLike, writer: Callable[[Path], object], suffix: str = "") -> None:
    """Call `writer(temporary_path)`, then rename the result onto `path`."""
    with atomic_path(path, suffix) as tmp:
        writer(tmp)


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def walk_files(folder: str | os.PathLike, suffixes: set[str] | frozenset[str] | None = None, *,
               recursive: bool = True, include_hidden: bool = False,
               on_skip: Callable[[Path, str], None] | None = None) -> list[Path]:
    """Files under `folder` (or directly in it), in name order within each folder, optionally by suffix.

    Hidden names (starting with ".") are left out unless `include_hidden`, and
    links to folders are not followed; `on_skip(path, reason)` hears of every
    file or folder left out, and of folders that cannot be read.
    """
    found: list[Path] = []

    def unreadable(err: OSError) -> None:
        if on_skip is not None:
            on_skip(Path(err.filename or folder), f"folder not readable ({err.strerror})")

    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        if not include_hidden:
            for name in [d for d in dirnames if d.startswith(".")]:
                if on_skip is not None:
                    on_skip(Path(dirpath) / name, "hidden folder")
                dirnames.remove(name)
        for name in [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            if on_skip is not None:  # os.walk does not enter them (no cycles); say so
                on_skip(Path(dirpath) / name, "symbolic link to a folder, not followed")
            dirnames.remove(name)
        dirnames.sort()
        if not recursive:
            dirnames.clear()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") and not include_hidden:
                if on_skip is not None:
                    on_skip(path, "hidden file")
                continue
            if suffixes is not None and path.suffix.lower() not in suffixes:
                continue
            found.append(path)
    return found
