"""Decoding images into BGR uint8 arrays, with a one-line reason for every bad input."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".jp2"}
# Refuse to decode more than this many pixels (decompression bombs).
MAX_PIXELS = 178_956_970


class InputError(ValueError):
    """An input that cannot be used; the message names it and says why."""


def _header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header without decoding, else None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + length
    return None


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
    size = _header_size(data)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise InputError(f"{name}: {size[0]}x{size[1]} pixels exceeds the limit of {MAX_PIXELS}")
    if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-4096:]:
        raise InputError(f"{name}: truncated JPEG (no end-of-image marker)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
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
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode_image(data, str(path))
