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

import numpy as np

from myPython.common.images import load_image, to_bgr8
from myPython.rmac.functional import l2_normalize
from myPython.rmac.grid import get_rmac_region_coordinates, pack_regions_for_network
from myPython.rmac.preparation import (  # noqa: F401  (re-exported: the descriptor API in one import)
    MIN_INPUT_SIDE,
    MODEL_MEAN_BGR,
    MULTIRES_OFFSETS,
    Box,
    ExtractionSettings,
    crop_box,
    prepare_input,
    prepare_inputs,
    resize_long_side,
    round_half_up,
)

ImageLike = str | os.PathLike | np.ndarray


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

        # `auto` gates int8 at these settings (at the model's when none are given).
        return cls(open_engine(engine, proto, weights, output=output, gpu=gpu, settings=settings),
                   settings or ExtractionSettings(), batch_size)

    # -- single images ---------------------------------------------------
    def key(self) -> str:
        """Short text that changes whenever the descriptors would: the settings' key, plus ``_int8`` when the
        engine quantises (exact engines agree to 1e-4; stores and caches keep int8 descriptors apart)."""
        return self.settings.key() + ("_int8" if getattr(self.engine, "name", "") == "onnxruntime-int8" else "")

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
