"""Decoding images into BGR uint8 arrays, with a one-line reason for every bad input.

Memory stays bounded whatever the file claims: encoded files over MAX_FILE_BYTES
and images over MAX_PIXELS are refused; an image whose full decode would need
more than LARGE_DECODE_BYTES (16-bit RGBA, huge photos) is decoded reduced to
8-bit colour (JPEG: scaled while decoding) with at least REDUCED_LONG_SIDE
pixels on its long side, one such decode at a time, and refused only when even
that needs more than MAX_DECODED_BYTES.
"""

from __future__ import annotations

import io
import os
import re
import threading
from pathlib import Path

import numpy as np

from myPython.common.inputfiles import display_name, read_regular
from myPython.errors import InputError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".jp2"}
# Refuse to decode more than this many pixels (decompression bombs).
MAX_PIXELS = 178_956_970
MAX_FILE_BYTES = 256 << 20  # encoded image files above this are refused
LARGE_DECODE_BYTES = 64 << 20  # full decodes above this are done reduced, one at a time
MAX_DECODED_BYTES = 1 << 30  # a reduced decode needing more than this is refused
REDUCED_LONG_SIDE = 2048  # a reduced decode keeps at least this many pixels on the long side
_LARGE_DECODE = threading.Lock()
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))  # OpenCV's own cap, read at first decode

import cv2  # noqa: E402  (after the environment variable above)

__all__ = ["IMAGE_EXTENSIONS", "InputError", "decode_image", "load_image", "to_bgr8"]


# In JPEG entropy-coded data 0xFF is followed by 0x00 (stuffing), a restart marker or 0xFF (fill);
# any other byte after 0xFF starts a marker.
_JPEG_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_scan(data: bytes) -> tuple[tuple[int, int] | None, bool | None]:
    """((width, height) or None, complete) of a JPEG by walking its segments.

    complete is True when the end-of-image marker is reached, False when the
    data runs out first (truncated), None when the structure is not understood.
    Data after the end-of-image marker (thumbnails of motion photos, trailers)
    is ignored, and markers inside segments (EXIF thumbnails) are skipped.
    """
    size = None
    i, n = 2, len(data)
    while i + 2 <= n:
        if data[i] != 0xFF:
            return size, None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:
            return size, True
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            i += 2
            continue
        if i + 4 > n:
            break
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _JPEG_SOF and i + 9 <= n:
            size = int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
        i += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker
            found = _JPEG_MARKER.search(data, i)
            if found is None:
                break
            i = found.start()
    return size, False


_PNG_CHANNELS = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}  # colour type -> channels OpenCV may return (palette: BGRA)


def _header_info(data: bytes, name: str) -> tuple[tuple[int, int] | None, int]:
    """((width, height) or None when unknown, bytes per pixel of a full decode) from the header alone."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 26:
        size = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return size, _PNG_CHANNELS.get(data[25], 4) * (2 if data[24] == 16 else 1)
    if data[:2] == b"\xff\xd8":
        return _jpeg_scan(data)[0], 3
    from PIL import Image  # other formats: Pillow reads the header lazily

    try:
        with Image.open(io.BytesIO(data)) as image:
            wide = 2 if image.mode.startswith("I;16") else 4 if image.mode in ("I", "F") else 1
            return image.size, max(3, len(image.getbands())) * wide
    except Image.DecompressionBombError as exc:
        raise InputError(f"{name}: {exc}".split(", could be")[0]) from None
    except Exception:  # unknown to Pillow, or a broken header: OpenCV decides
        return None, 8


def _reduction(size: tuple[int, int]) -> int:
    """The largest decode reduction (1, 2, 4, 8) that keeps REDUCED_LONG_SIDE pixels on the long side."""
    return next(r for r in (8, 4, 2, 1) if max(size) // r >= REDUCED_LONG_SIDE or r == 1)


_REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}


def to_bgr8(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Any decoded array (gray, alpha, 16-bit, float) as contiguous H x W x 3 BGR uint8."""
    if image is None or image.size == 0:
        raise InputError(f"{name}: empty image")
    if image.dtype == np.uint16:
        image = cv2.convertScaleAbs(image, alpha=1 / 257.0)  # round(x / 257), without a float copy
    elif image.dtype.kind == "f":
        scale = 255.0 if image.max(initial=0) <= 1.0 else 1.0
        image = np.clip(image * scale + 0.5, 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise InputError(f"{name}: unsupported pixel type {image.dtype}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"{name}: unsupported image shape {image.shape}")
    return np.ascontiguousarray(image)


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Decode encoded image bytes into BGR uint8 (reduced when a full decode would be too large)."""
    if not data:
        raise InputError(f"{name}: empty file")
    size, bytes_per_pixel = _header_info(data, name)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise InputError(f"{name}: {size[0]}x{size[1]} pixels exceeds the limit of {MAX_PIXELS}")
    # OpenCV fills the missing part of a truncated JPEG with grey instead of failing.
    if data[:2] == b"\xff\xd8" and _jpeg_scan(data)[1] is False:
        raise InputError(f"{name}: truncated JPEG (no end-of-image marker)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    if size is None or size[0] * size[1] * bytes_per_pixel <= LARGE_DECODE_BYTES:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    else:
        r = _reduction(size)
        # libjpeg scales while decoding; other decoders produce full 8-bit colour that OpenCV then shrinks.
        full = (size[0] // r) * (size[1] // r) * 3 if data[:2] == b"\xff\xd8" else size[0] * size[1] * 3
        if full > MAX_DECODED_BYTES:
            raise InputError(f"{name}: {size[0]}x{size[1]} pixels would need {full / 2**20:.0f} MB to decode, "
                             f"over the limit of {MAX_DECODED_BYTES / 2**20:.0f} MB")
        with _LARGE_DECODE:
            image = cv2.imdecode(buffer, _REDUCED[r] | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data.rfind(b"IEND") < 0:
            raise InputError(f"{name}: truncated PNG (no IEND chunk)")
        raise InputError(f"{name}: not a decodable image")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise InputError(f"{name}: {image.shape[1]}x{image.shape[0]} pixels exceeds the limit of {MAX_PIXELS}")
    return to_bgr8(image, name)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file into BGR uint8 (H x W x 3); only regular files, at most MAX_FILE_BYTES."""
    return decode_image(read_regular(path, MAX_FILE_BYTES, "image file"), display_name(path))


def save_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an image atomically (the format from the suffix; the folder is made); OSError if OpenCV cannot."""
    from myPython.common.fileio import atomic_write_with

    target = Path(path)

    def write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), image):
            raise OSError(f"{display_name(target)}: could not write the image")

    atomic_write_with(target, write, suffix=target.suffix)
    return target
