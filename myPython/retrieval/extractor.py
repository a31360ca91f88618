"""The one descriptor API: images or frames -> L2-normalised R-MAC descriptors.

Every tool of the project (test.py, embed, the converters, training-time
validation, the demo) extracts descriptors through `DescriptorExtractor`.

Preparation follows the published model: BGR, the long side resized to S
(bilinear), optional query crop, mean subtraction, the rigid grid on the
network-input size; descriptors of several scales are summed and
renormalised.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from myPython.pool.images import InputError, load_image, to_bgr8
from myPython.retrieval.grid import get_rmac_region_coordinates, pack_regions_for_network

# BGR mean of the published model (ImageNet), subtracted from cv2 images.
MODEL_MEAN_BGR = (103.93900299, 116.77899933, 123.68000031)
MULTIRES_OFFSETS = (-250, 0, 250)
# Pixels, after resizing: below 3, conv1 (stride 2) leaves pool1 (3x3, stride 2) an empty map and Caffe aborts.
MIN_INPUT_SIDE = 4

ImageLike = str | os.PathLike | np.ndarray
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


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, eps)


class Engine(Protocol):
    """Runs a deploy net: images (B x 3 x H x W) and rois (R x 5) -> B x D descriptors."""

    name: str
    batchable: bool

    def forward(self, data: np.ndarray, rois: np.ndarray) -> np.ndarray: ...


@dataclass
class DescriptorExtractor:
    """Image(s) -> unit descriptors with one engine and one set of settings."""

    engine: Engine
    settings: ExtractionSettings = field(default_factory=ExtractionSettings)
    batch_size: int = 8

    @classmethod
    def from_files(
        cls,
        proto: str | os.PathLike,
        weights: str | os.PathLike,
        settings: ExtractionSettings | None = None,
        *,
        output: str = "rmac/normalized",
        gpu: int | None = None,
        batch_size: int = 8,
        engine: str = "auto",
    ) -> DescriptorExtractor:
        from myPython.retrieval.engines import open_engine

        return cls(open_engine(engine, proto, weights, output=output, gpu=gpu), settings or ExtractionSettings(),
                   batch_size)

    # -- single images ---------------------------------------------------
    def describe(self, image: ImageLike, box: Box | None = None) -> np.ndarray:
        """One image (path or BGR array) -> D-dim unit vector."""
        return self.describe_batch([image], None if box is None else [box])[0]

    # -- many images -------------------------------------------------------
    def describe_batch(self, images: Sequence[ImageLike],
                       boxes: Sequence[Box | None] | None = None) -> np.ndarray:
        """N images -> N x D unit vectors; equal-size inputs share forward passes."""
        boxes = list(boxes) if boxes is not None else [None] * len(images)
        return self.describe_prepared([prepare_inputs(as_bgr(im), self.settings, b) for im, b in zip(images, boxes)])

    def describe_prepared(self, prepared: Sequence[tuple[np.ndarray, ...]]) -> np.ndarray:
        """Inputs from `prepare_inputs` (one tuple of scales per image) -> N x D unit vectors."""
        if not prepared:
            return np.zeros((0, 0), dtype=np.float32)
        total = None
        for scale in range(len(prepared[0])):
            per_scale = self.forward_inputs([x[scale] for x in prepared])
            total = per_scale if total is None else total + per_scale
        return l2_normalize(total).astype(np.float32)

    def iter_describe(
        self, images: Iterable[ImageLike], *, progress: bool = False, total: int | None = None, desc: str = "describe"
    ) -> Iterable[np.ndarray]:
        """Yield one descriptor per image, batching consecutive images."""
        from tqdm import tqdm

        bar = tqdm(total=total, desc=desc, unit="img", disable=not progress)
        chunk: list[ImageLike] = []
        for image in images:
            chunk.append(image)
            if len(chunk) == self.batch_size:
                yield from self.describe_batch(chunk)
                bar.update(len(chunk))
                chunk = []
        if chunk:
            yield from self.describe_batch(chunk)
            bar.update(len(chunk))
        bar.close()

    def describe_all(self, images: Sequence[ImageLike], *, progress: bool = False,
                     desc: str = "describe") -> np.ndarray:
        rows = list(self.iter_describe(images, progress=progress, total=len(images), desc=desc))
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def forward_inputs(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """Prepared 3 x H x W inputs -> N x D descriptors (one scale, not summed)."""
        out: list[np.ndarray | None] = [None] * len(inputs)
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, x in enumerate(inputs):
            groups[x.shape[1:]].append(i)
        step = self.batch_size if self.engine.batchable else 1
        for (h, w), members in groups.items():
            grid = get_rmac_region_coordinates(h, w, self.settings.L)
            for start in range(0, len(members), step):
                idx = members[start : start + step]
                data = np.stack([inputs[i] for i in idx])
                rois = pack_regions_for_network([grid] * len(idx))
                desc = self.engine.forward(data, rois)
                for row, i in zip(desc, idx):
                    out[i] = row
        return np.stack(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)


def as_bgr(image: ImageLike) -> np.ndarray:
    """Path -> decoded BGR uint8; arrays are checked and converted."""
    if isinstance(image, np.ndarray):
        return to_bgr8(image)
    if isinstance(image, (str, os.PathLike, Path)):
        return load_image(image)
    raise TypeError(f"expected an image path or a BGR array, got {type(image).__name__}")
