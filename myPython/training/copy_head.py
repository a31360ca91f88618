"""A head made for copies: learned whitening from (photo, edited copy) pairs, and the choice of settings.

The R-MAC head's Scale + InnerProduct layers get a learned whitening (retrieval/whitening.py) fitted on
regional features of the TRAIN split's photos, their edits and training video frames. Regional
features (`pooled_rois/normalized`) are computed once per image and scale; every candidate head is then
evaluated in numpy exactly as the net computes it (per-region transform, L2, sum, L2; scales summed).

    deep-retrieval copy-head select [--out DIR]   measure the candidate settings on the VALIDATION split

prints mAP, recall at precision 0.95 and best F1 of each candidate (S, L, scales, mirror handling,
whitening kind) on validation photos and their copies; the default model uses the winner (see
nets/default_model.py and the README for the numbers and the choice).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from myPython.retrieval.whitening import PCA, learn_pca, learn_whitening

TRAIN_SEED = 101  # edits of the training photos
VALIDATION_SEED = 202  # edits of the validation photos
CALIBRATION_SEED = 303  # edits of the calibration photos


@dataclass(frozen=True)
class HeadSettings:
    scales: tuple[int, ...] = (384,)
    L: int = 2
    mirror: bool = False  # descriptor of image + mirror (twice the cost, mirror-invariant)
    whitening: str = "learned"  # "learned" (pairs) or "pca" (PCA-whitening of regions, the old head)

    def label(self) -> str:
        return (f"S={'+'.join(map(str, self.scales))} L={self.L} mirror={'yes' if self.mirror else 'no'} "
                f"{self.whitening}")


def regions_of(engine, image: np.ndarray, size: int, levels: int, mean_bgr: Sequence[float]) -> np.ndarray:
    """(R, C) L2-normalised regional features of one image at one scale (the `pooled_rois/normalized` blob)."""
    from myPython.retrieval.extractor import prepare_input
    from myPython.retrieval.grid import get_rmac_region_coordinates, pack_regions_for_network

    data = prepare_input(image, size, mean_bgr)
    grid = get_rmac_region_coordinates(data.shape[1], data.shape[2], levels)
    out = engine.forward(data[None], pack_regions_for_network([grid]))
    return np.asarray(out, np.float32).reshape(len(grid), -1)


def extract(engine, images: Sequence[np.ndarray], settings: HeadSettings, mean_bgr: Sequence[float],
            progress: bool = False) -> list[list[np.ndarray]]:
    """Per image, per view (scales x mirror), its regional features."""
    from tqdm import tqdm

    out = []
    for image in tqdm(images, desc="regions", unit="img", disable=not progress):
        views = [image, np.ascontiguousarray(image[:, ::-1])] if settings.mirror else [image]
        out.append([regions_of(engine, v, s, settings.L, mean_bgr) for v in views for s in settings.scales])
    return out


def _l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def raw_vectors(regions: list[list[np.ndarray]]) -> np.ndarray:
    """Image-level vectors before whitening: per view L2(sum of regions), summed over views, L2."""
    return _l2(np.stack([sum(_l2(r.sum(axis=0)) for r in views) for views in regions]))


def describe(regions: list[list[np.ndarray]], head: PCA) -> np.ndarray:
    """The net's descriptors for a head: per view L2(sum_r L2(head(r))), summed over views, L2."""
    return _l2(np.stack([sum(_l2(_l2(head.transform(r)).sum(axis=0)) for r in views) for views in regions]))


def same_origin_pairs(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of items that share a label."""
    labels = np.asarray(labels)
    a, b = np.triu_indices(len(labels), 1)
    keep = labels[a] == labels[b]
    return a[keep], b[keep]


def learn_head(regions: list[list[np.ndarray]], labels: Sequence[str], settings: HeadSettings, dim: int,
               floor: float = 0.3) -> PCA:
    """The head's whitening: learned from the same-origin pairs, or PCA-whitening of all regions."""
    if settings.whitening == "pca":
        stacked = np.concatenate([r for views in regions for r in views])
        return learn_pca(stacked, dim, whiten=True, floor=floor)
    a, b = same_origin_pairs(labels)
    return learn_whitening(raw_vectors(regions), a, b, dim)


def metrics(desc: np.ndarray, labels: Sequence[str]) -> dict:
    """mAP, recall at precision 0.95 and best F1 (with its threshold) of cosine over all pairs."""
    from evaluation import same_origin as so

    scores = desc @ desc.T
    _, _, score, same = so.pairs(scores, labels)
    r95 = so.recall_at_precision(score, same, 0.95)
    order = np.argsort(-score, kind="stable")
    tp = np.cumsum(same[order])
    f1 = 2 * tp / (np.arange(1, len(order) + 1) + same.sum())
    best = int(np.argmax(f1))
    return {"mAP": so.mean_average_precision(scores, labels), "R@P0.95": r95.recall, "t@P0.95": r95.threshold,
            "best_F1": float(f1[best]), "t@F1": float(score[order][best])}


CANDIDATES = (
    HeadSettings((512,), 2, False, "pca"),
    HeadSettings((384,), 2, False, "pca"),
    HeadSettings((512,), 2, False, "learned"),
    HeadSettings((384,), 2, False, "learned"),
    HeadSettings((384,), 3, False, "learned"),
    HeadSettings((320,), 2, False, "learned"),
    HeadSettings((320, 448), 2, False, "learned"),
    HeadSettings((384,), 2, True, "learned"),
)


def select(engine, mean_bgr: Sequence[float], dim: int, candidates: Sequence[HeadSettings] = CANDIDATES,
           progress: bool = True) -> list[tuple[HeadSettings, dict]]:
    """Each candidate learned on the train split and measured on the validation split."""
    from myPython.datasets.copies import copy_set

    train = copy_set("train", TRAIN_SEED, reencode_every=2)
    valid = copy_set("validation", VALIDATION_SEED)
    cache: dict[tuple, tuple] = {}
    rows = []
    for settings in candidates:
        key = (settings.scales, settings.L, settings.mirror)
        if key not in cache:
            cache[key] = (extract(engine, [c.image for c in train], settings, mean_bgr, progress),
                          extract(engine, [c.image for c in valid], settings, mean_bgr, progress))
        train_regions, valid_regions = cache[key]
        head = learn_head(train_regions, [c.origin for c in train], settings, dim)
        result = metrics(describe(valid_regions, head), [c.origin for c in valid])
        rows.append((settings, result))
        if progress:
            print(f"{settings.label():<40} " + "  ".join(f"{k} {v:.4f}" for k, v in result.items()), flush=True)
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["select"])


def run(args: argparse.Namespace) -> int:
    from myPython.nets.default_model import NSFW_MEAN_BGR, PCA_DIM, regional_engine

    select(regional_engine(), NSFW_MEAN_BGR, PCA_DIM)
    return 0
