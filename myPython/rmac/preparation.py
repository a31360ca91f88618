"""Image preparation of the published model: BGR, the long side resized to S (bilinear, with Python 2's
rounding), optional query crop, mean subtraction, CHW float32; one input per scale of the settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from myPython.errors import InputError

# BGR mean of the published model (ImageNet), subtracted from cv2 images.
MODEL_MEAN_BGR = (103.93900299, 116.77899933, 123.68000031)
MULTIRES_OFFSETS = (-250, 0, 250)
# Pixels, after resizing: below 3, conv1 (stride 2) leaves pool1 (3x3, stride 2) an empty map and Caffe aborts.
MIN_INPUT_SIDE = 4

Box = Sequence[float]  # x1, y1, x2, y2 in original-image pixels


def round_half_up(value: float) -> int:
    """Python 2's round() for non-negative values, as the published code used."""
    return int(np.floor(value + 0.5))


@dataclass(frozen=True)
class ExtractionSettings:
    """How images become network inputs."""

    S: int = 512
    L: int = 2
    multires: bool = False
    scales: tuple[int, ...] | None = None  # overrides S / multires when given
    mean_bgr: tuple[float, float, float] = MODEL_MEAN_BGR

    def resolved_scales(self) -> tuple[int, ...]:
        if self.scales:
            return tuple(int(s) for s in self.scales)
        if self.multires:
            return tuple(self.S + o for o in MULTIRES_OFFSETS)
        return (self.S,)

    def key(self) -> str:
        """Short text that changes whenever the extracted descriptors would."""
        scales = "-".join(str(s) for s in self.resolved_scales())
        mean = ",".join(f"{m:.4f}" for m in self.mean_bgr)
        return f"S{scales}_L{self.L}_mean{mean}"


def resize_long_side(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """Bilinear resize so that max(H, W) == size; returns (image, ratio)."""
    h, w = image.shape[:2]
    ratio = size / max(h, w)
    new_h, new_w = max(1, round_half_up(h * ratio)), max(1, round_half_up(w * ratio))
    if (new_h, new_w) == (h, w):
        return image, ratio
    return cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR), ratio


def crop_box(image: np.ndarray, box: Box, ratio: float) -> np.ndarray:
    """Crop a query box given in original pixels from the resized image (end-exclusive)."""
    x1, y1, x2, y2 = (round_half_up(v * ratio) for v in box)
    h, w = image.shape[:2]
    x1, x2 = max(0, min(x1, w - 1)), max(1, min(x2, w))
    y1, y2 = max(0, min(y1, h - 1)), max(1, min(y2, h))
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"query box {tuple(box)} is empty after scaling by {ratio:.4f}")
    return image[y1:y2, x1:x2]


def prepare_input(image: np.ndarray, size: int, mean_bgr: Sequence[float], box: Box | None = None) -> np.ndarray:
    """3 x H x W float32 network input: resized, optionally cropped, mean-subtracted."""
    resized, ratio = resize_long_side(image, size)
    if box is not None:
        resized = crop_box(resized, box, ratio)
    data = resized.astype(np.float32)
    data -= np.asarray(mean_bgr, dtype=np.float32)
    return np.ascontiguousarray(data.transpose(2, 0, 1))


def prepare_inputs(image: np.ndarray, settings: ExtractionSettings, box: Box | None = None,
                   name: str = "image") -> tuple[np.ndarray, ...]:
    """The network inputs of one BGR image, one per scale of the settings.

    Raises InputError when an input would be thinner than MIN_INPUT_SIDE (the
    trunk would give Caffe an empty feature map, which aborts the process).
    """
    inputs = tuple(prepare_input(image, size, settings.mean_bgr, box) for size in settings.resolved_scales())
    short = min(min(x.shape[1:]) for x in inputs)
    if short < MIN_INPUT_SIDE:
        h, w = image.shape[:2]
        raise InputError(f"{name}: {w}x{h} is too elongated (shorter side {short} px once resized, "
                         f"under {MIN_INPUT_SIDE})")
    return inputs
