"""A head made for copies: learned whitening from (photo, edited copy) pairs, and the choice of settings.

The R-MAC head's Scale + InnerProduct layers get a learned whitening (retrieval/whitening.py) fitted on
regional features of the TRAIN split's photos, their edits and training video frames. Regional
features (`pooled_rois/normalized`) are computed once per image and scale; every candidate head is then
evaluated in numpy exactly as the net computes it (per-region transform, L2, sum, L2; scales summed).

    deep-retrieval copy-head select [--out DIR]   measure the candidate settings on the VALIDATION split

prints mAP, recall at precision 0.95 and best F1 of each candidate (S, L, scales, mirror handling,
whitening kind) on validation photos and their copies; the default model uses the winner (see
build/default_model.py, build/head_choice.py and docs/ for the numbers and the choice).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from myPython.retrieval.whitening import PCA, HeadSettings, learn_pca, learn_whitening
from myPython.rmac.functional import l2_normalize

TRAIN_SEED = 101  # edits of the training photos
VALIDATION_SEED = 202  # edits of the validation photos
CALIBRATION_SEED = 303  # edits of the calibration photos


def regions_of(engine, image: np.ndarray, size: int, levels: int, mean_bgr: Sequence[float]) -> np.ndarray:
    """(R, C) L2-normalised regional features of one image at one scale (the `pooled_rois/normalized` blob)."""
    from myPython.rmac.grid import get_rmac_region_coordinates, pack_regions_for_network
    from myPython.rmac.preparation import prepare_input

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


def raw_vectors(regions: list[list[np.ndarray]]) -> np.ndarray:
    """Image-level vectors before whitening: per view L2(sum of regions), summed over views, L2."""
    return l2_normalize(np.stack([sum(l2_normalize(r.sum(axis=0)) for r in views) for views in regions]))


def describe(regions: list[list[np.ndarray]], head: PCA) -> np.ndarray:
    """The net's descriptors for a head: per view L2(sum_r L2(head(r))), summed over views, L2."""
    return l2_normalize(np.stack([sum(l2_normalize(l2_normalize(head.transform(r)).sum(axis=0)) for r in views)
                                  for views in regions]))


def same_origin_pairs(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of items that share a label."""
    labels = np.asarray(labels)
    a, b = np.triu_indices(len(labels), 1)
    keep = labels[a] == labels[b]
    return a[keep], b[keep]


def matched_regions(regions: list[list[np.ndarray]], labels: Sequence[str], min_cosine: float = 0.7
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(all regions stacked, a, b): pairs of regions of same-origin images that are mutual nearest
    neighbours (by cosine of their features, which are unit vectors) with cosine >= min_cosine."""
    flat = [np.concatenate(views) for views in regions]
    starts = np.cumsum([0] + [len(f) for f in flat])
    a_parts, b_parts = [], []
    for i, j in zip(*same_origin_pairs(labels)):
        sims = flat[i] @ flat[j].T
        best_j, best_i = sims.argmax(axis=1), sims.argmax(axis=0)
        rows = np.flatnonzero((best_i[best_j] == np.arange(len(best_j))) & (sims.max(axis=1) >= min_cosine))
        a_parts.append(starts[i] + rows)
        b_parts.append(starts[j] + best_j[rows])
    return np.concatenate(flat), np.concatenate(a_parts), np.concatenate(b_parts)


def learn_head(regions: list[list[np.ndarray]], labels: Sequence[str], settings: HeadSettings, dim: int,
               floor: float = 0.3) -> PCA:
    """The head's whitening: PCA-whitening of all regions ("pca"), learned whitening from same-origin
    image pairs ("learned", image-level vectors) or from matched regions of those pairs ("regions")."""
    if settings.whitening == "pca":
        stacked = np.concatenate([r for views in regions for r in views])
        return learn_pca(stacked, dim, whiten=True, floor=floor)
    if settings.whitening == "regions":
        stacked, a, b = matched_regions(regions, labels)
        return learn_whitening(stacked, a, b, dim)
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
    HeadSettings((512,), 2, False, "regions"),
    HeadSettings((384,), 2, False, "regions"),
    HeadSettings((384,), 3, False, "pca"),
    HeadSettings((384,), 3, False, "regions"),
    HeadSettings((384, 512), 2, False, "regions"),
)
SELECT_EVERY = 2  # selection learns from every other training photo (half the time; relative comparisons)


def select(engine, mean_bgr: Sequence[float], dim: int, candidates: Sequence[HeadSettings] = CANDIDATES,
           progress: bool = True) -> list[tuple[HeadSettings, dict]]:
    """Each candidate learned on the train split and measured on the validation split."""
    from myPython.datasets.copies import copy_set

    train = copy_set("train", TRAIN_SEED, reencode_every=2, every=SELECT_EVERY)
    valid = copy_set("validation", VALIDATION_SEED)
    cache: dict[tuple, tuple] = {}
    rows = []
    for settings in candidates:
        key = (settings.scales, settings.L, settings.mirror)
        if key not in cache:
            cache[key] = tuple(_cached_extract(engine, part, settings, mean_bgr, progress, name)
                               for part, name in ((train, "train"), (valid, "validation")))
        train_regions, valid_regions = cache[key]
        head = learn_head(train_regions, [c.origin for c in train], settings, dim)
        result = metrics(describe(valid_regions, head), [c.origin for c in valid])
        rows.append((settings, result))
        if progress:
            print(f"{settings.label():<40} " + "  ".join(f"{k} {v:.4f}" for k, v in result.items()), flush=True)
    return rows


def _cached_extract(engine, copies, settings: HeadSettings, mean_bgr, progress: bool, name: str):
    """`extract`, saved under the cache (experiments/) by the images' content and the settings."""
    import hashlib

    from myPython.common.assets import cache_dir
    from myPython.common.fileio import atomic_save_npy

    digest = hashlib.sha256(repr((settings.scales, settings.L, settings.mirror, tuple(mean_bgr))).encode())
    for c in copies:
        digest.update(c.origin.encode() + c.kind.encode() + np.ascontiguousarray(c.image[::7, ::7]).tobytes())
    path = cache_dir() / "experiments" / f"regions-{name}-{digest.hexdigest()[:16]}.npy"
    counts_path = path.with_name(path.stem + ".counts.npy")
    views = len(settings.scales) * (2 if settings.mirror else 1)
    if path.exists():  # written after its counts
        parts = np.split(np.load(path), np.cumsum(np.load(counts_path))[:-1])
        return [parts[k * views : (k + 1) * views] for k in range(len(copies))]
    regions = extract(engine, [c.image for c in copies], settings, mean_bgr, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save_npy(counts_path, np.array([len(r) for views_ in regions for r in views_], np.int64))
    atomic_save_npy(path, np.concatenate([r for views_ in regions for r in views_]))
    return regions
