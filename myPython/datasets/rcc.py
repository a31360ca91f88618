"""A reader for Qt binary resource files (`.rcc`), enough to take the photos out of gcompris-qt-data.

Layout (big-endian): the magic ``qres``, then u32 format version, tree offset, data offset and names
offset (version >= 3 adds u32 flags). The tree is an array of nodes, 14 bytes each in version 1 and
22 in later versions (a u64 modification time is appended): u32 name offset, u16 flags, then for a
directory (flag 2) u32 child count and u32 index of its first child, for a file u16 country, u16
language and u32 data offset. A name is u16 length, u32 hash, then UTF-16BE characters. A file's data
is u32 size then bytes: flag 1 means zlib with a 4-byte uncompressed length in front, flag 4 zstd.
Node 0 is the root directory.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from myPython.errors import InputError

COMPRESSED_ZLIB = 0x1
DIRECTORY = 0x2
COMPRESSED_ZSTD = 0x4


class RccFile:
    """The files inside one .rcc, by their path (``images/cat.webp``)."""

    def __init__(self, data: bytes, name: str = "rcc") -> None:
        if data[:4] != b"qres" or len(data) < 20:
            raise InputError(f"{name}: not a Qt resource file (no 'qres' header)")
        self.data, self.name = data, name
        self.version, self.tree, self.payload, self.names = struct.unpack_from(">4I", data, 4)
        if self.version not in (1, 2, 3):
            raise InputError(f"{name}: unsupported rcc format version {self.version}")
        self.node_size = 14 if self.version == 1 else 22

    @classmethod
    def open(cls, path: str | os.PathLike) -> RccFile:
        return cls(Path(path).read_bytes(), str(path))

    def _node(self, index: int) -> tuple[str, int, int, int]:
        """(name, flags, a, b): a, b = child count, first child (directories) or 0, data offset (files)."""
        offset = self.tree + index * self.node_size
        name_offset, flags = struct.unpack_from(">IH", self.data, offset)
        if flags & DIRECTORY:
            a, b = struct.unpack_from(">II", self.data, offset + 6)
        else:
            a, b = 0, struct.unpack_from(">I", self.data, offset + 10)[0]
        return self._name(name_offset), flags, a, b

    def _name(self, offset: int) -> str:
        length = struct.unpack_from(">H", self.data, self.names + offset)[0]
        start = self.names + offset + 6
        return self.data[start : start + 2 * length].decode("utf-16-be")

    def paths(self) -> Iterator[tuple[str, int, int]]:
        """(path, flags, data offset) of every file, depth first in tree order."""
        stack = [(0, "")]
        while stack:
            index, prefix = stack.pop()
            name, flags, count, first = self._node(index)
            path = f"{prefix}/{name}" if prefix else name
            if flags & DIRECTORY:
                stack.extend((child, path if index else "") for child in reversed(range(first, first + count)))
            else:
                yield path, flags, first

    def read(self, flags: int, offset: int) -> bytes:
        start = self.payload + offset
        size = struct.unpack_from(">I", self.data, start)[0]
        body = self.data[start + 4 : start + 4 + size]
        if flags & COMPRESSED_ZLIB:
            return zlib.decompress(body[4:])
        if flags & COMPRESSED_ZSTD:
            import zstandard

            return zstandard.ZstdDecompressor().decompressobj().decompress(body)
        return body

    def files(self, suffixes: tuple[str, ...] = ()) -> Iterator[tuple[str, bytes]]:
        """(path, bytes) of the files whose name ends with one of the suffixes (all when empty)."""
        for path, flags, offset in self.paths():
            if not suffixes or path.lower().endswith(suffixes):
                yield path, self.read(flags, offset)
