"""Decoding images into BGR uint8 arrays, with a one-line reason for every bad input."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import cv2
import numpy as np

from myPython.errors import InputError  # noqa: F401  (decoding errors are InputErrors)

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".jp2"}
# Refuse to decode more than this many pixels (decompression bombs).
MAX_PIXELS = 178_956_970


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


def _check_header_size(data: bytes, name: str) -> None:
    """Refuse images whose header claims more than MAX_PIXELS, before decoding anything."""
    size = None
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        size = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    elif data[:2] == b"\xff\xd8":
        size = _jpeg_scan(data)[0]
    else:  # other formats: Pillow reads the header lazily
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as image:
                size = image.size
        except Image.DecompressionBombError as exc:
            raise InputError(f"{name}: {exc}".split(", could be")[0]) from None
        except Exception:  # unknown to Pillow, or a broken header: OpenCV decides
            pass
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise InputError(f"{name}: {size[0]}x{size[1]} pixels exceeds the limit of {MAX_PIXELS}")


def to_bgr8(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Any decoded array (gray, alpha, 16-bit, float) as contiguous H x W x 3 BGR uint8."""
    if image is None or image.size == 0:
        raise InputError(f"{name}: empty image")
    if image.dtype == np.uint16:
        image = (image / 257.0 + 0.5).astype(np.uint8)
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
    """Decode encoded image bytes into BGR uint8."""
    if not data:
        raise InputError(f"{name}: empty file")
    _check_header_size(data, name)
    # OpenCV fills the missing part of a truncated JPEG with grey instead of failing.
    if data[:2] == b"\xff\xd8" and _jpeg_scan(data)[1] is False:
        raise InputError(f"{name}: truncated JPEG (no end-of-image marker)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data.rfind(b"IEND") < 0:
            raise InputError(f"{name}: truncated PNG (no IEND chunk)")
        raise InputError(f"{name}: not a decodable image")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise InputError(f"{name}: {image.shape[1]}x{image.shape[0]} pixels exceeds the limit of {MAX_PIXELS}")
    return to_bgr8(image, name)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file into BGR uint8 (H x W x 3)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        reason = "broken symbolic link" if path.is_symlink() else "file not found"
        raise InputError(f"{path}: {reason}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode_image(data, str(path))
