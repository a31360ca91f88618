"""Training-time validation: retrieval mAP of a deploy net on a held-out set (class folders or an
Oxford/Paris layout), with the training weights copied in every few iterations."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myPython.nets.runtime import caffe


@dataclass
class HeldOutSet:
    """Database images, query rows (into the database) and positive/junk masks."""

    images: list[Path]
    queries: np.ndarray
    positives: np.ndarray
    junk: np.ndarray

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> HeldOutSet:
        root = Path(root).resolve()  # training runs inside the data root
        if (root / "jpg").is_dir() and (root / "lab").is_dir():
            from evaluation.datasets import load_oxford_paris

            ds = load_oxford_paris(root)
            return cls(list(ds.image_paths), ds.query_indices(), ds.positive_mask(), ds.junk_mask())
        from myPython.training.samplers import iter_class_images

        items = list(iter_class_images(root))
        if not items:
            raise ValueError(f"{root}: no class folders with images")
        labels = np.array([label for label, _ in items])
        same = labels[:, None] == labels[None, :]
        eye = np.eye(len(labels), dtype=bool)
        return cls([p for _, p in items], np.arange(len(items)), same & ~eye, eye)

    def mean_ap(self, descriptors: np.ndarray) -> float:
        from evaluation.ap import average_precision

        sim = descriptors[self.queries] @ descriptors.T
        return float(np.nanmean(average_precision(sim, self.positives, self.junk)))


class Validator:
    """Every ``every`` iterations: copy the training weights into a deploy net and compute held-out mAP."""

    def __init__(self, val_dir: str | os.PathLike[str], proto: str | os.PathLike[str],
                 weights: str | os.PathLike[str] | None, every: int, S: int | None = None, L: int | None = None,
                 mean: Sequence[float] | None = None, output: str | None = None) -> None:
        from myPython.nets.surgery import load_net
        from myPython.retrieval.engines import CaffeEngine
        from myPython.retrieval.extractor import DescriptorExtractor
        from myPython.retrieval.models import ModelSpec, load_model

        self.every = int(every)
        self.data = HeldOutSet.load(val_dir)
        spec = load_model(proto, weights) if weights else ModelSpec(name="val", proto=str(proto), weights=None)
        self.net = load_net(proto, weights)
        settings = spec.settings(S=S, L=L)
        if mean is not None:
            from dataclasses import replace

            settings = replace(settings, mean_bgr=tuple(float(m) for m in mean))
        engine = CaffeEngine.from_net(self.net, output or spec.output)
        if not engine.batchable:
            raise ValueError("validation net must give one descriptor per image (AggregateLayer with rois)")
        self.extractor = DescriptorExtractor(engine, settings)

    def __call__(self, train_net: caffe.Net) -> float:
        for name, blobs in self.net.params.items():
            if name in train_net.params:
                src = train_net.params[name]
                if len(src) == len(blobs) and all(a.data.size == b.data.size for a, b in zip(src, blobs)):
                    for a, b in zip(src, blobs):
                        b.data[...] = a.data.reshape(b.data.shape)
        return self.data.mean_ap(self.extractor.describe_all(self.data.images))
