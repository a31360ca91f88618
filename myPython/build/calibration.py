"""Calibration of the same-origin score on the CALIBRATION split (run by every default-model build).

The calibration photos (datasets/sources.py, split "calibration") and one copy of each edit kind
(seeded with CALIBRATION_SEED) are described with the model and their local features computed, into a
temporary descriptor store, exactly as `embed` would. Then, over every pair:

1. `min_cosine`, the cosine below which pairs are not verified: the 0.5 % quantile of the same-origin
   pairs' cosine (lower than nearly every copy), so verification costs little and loses almost nothing;
2. the fusion: a logistic regression of "same origin" on (cosine, log(1 + inliers)) (pool/scoring.py);
3. `recommended_threshold`: the lowest fused score with precision >= TARGET_PRECISION, and
   `recommended_cosine_threshold`: the same rule on plain cosine (for `--raw` and descriptor-only engines);
4. `group_min_link_fraction`: the grouping rule (pool/groups.py) with the best pair F1 among a few
   fractions at the recommended threshold whose pair precision reaches the target (else the most precise).

What counts as the same origin is what the held-out evaluation counts (datasets/heldout.py): the
stereo pair motorcycle_left / motorcycle_right (two cameras of one rig, one moment) is one scene seen
from one viewpoint, and its cross pairs are left out (`SCENES`), neither same origin nor unrelated.

Deterministic: the same model gives the same numbers (a test checks it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

TARGET_PRECISION = 0.97
SCENES = {"scikit-image/motorcycle_left": "motorcycle", "scikit-image/motorcycle_right": "motorcycle"}
LINK_FRACTIONS = (1.0, 0.8, 0.6, 0.5)
GATE_QUANTILE = 0.005


def describe_into_store(extractor, images: Sequence[np.ndarray], root: Path, name: str = "calibration"):
    """A descriptor store (with local features) of in-memory images, rows named 0..n-1."""
    from myPython.common.fileio import atomic_save_npy
    from myPython.pool.store import LOCAL_SUFFIX, DescriptorStore
    from myPython.pool.jobs import store_meta
    from myPython.pool.verify import local_features

    vectors = np.concatenate([extractor.describe_batch(images[i : i + 8]) for i in range(0, len(images), 8)])
    store = DescriptorStore.create(root, {**store_meta(None, extractor, dim=vectors.shape[1]), "model": name})
    ids = [str(i) for i in range(len(images))]
    # the local features first, as embed writes them: the commit marker then lists them
    atomic_save_npy(store.shard_dir / f"shard-000000{LOCAL_SUFFIX}", np.stack([local_features(im) for im in images]))
    store.commit_shard("shard-000000", ids, vectors, ids, [])
    return store


def calibrate(extractor, images: Sequence[np.ndarray], labels: Sequence[str],
              target: float = TARGET_PRECISION, *, decisions: bool = False) -> dict:
    """Fit the fusion and the recommended thresholds on labelled images; returns the sidecar entries (and, with
    `decisions`, under "decisions" the same-origin decision at the fitted threshold of every pair counted, in
    `evaluation.same_origin.pairs` order: two builds are compared by them)."""
    from evaluation import same_origin as so
    from myPython.pool.groups import find_groups
    from myPython.pool.scoring import DEFAULT_CANDIDATES, Fusion, ScoreOptions, fit_logistic, pair_features

    labels = list(labels)
    scenes = [SCENES.get(label, label) for label in labels]
    with tempfile.TemporaryDirectory() as tmp:
        store = describe_into_store(extractor, list(images), Path(tmp) / "store")
        cosine, _ = pair_features(store, None)
        i, j, cos, same = so.pairs(cosine, labels, scenes)
        gate = float(np.floor(np.quantile(cos[same], GATE_QUANTILE) * 100) / 100)
        probe = Fusion(0.0, 0.0, 0.0, gate, DEFAULT_CANDIDATES)
        _, inliers = pair_features(store, probe)
        inl = inliers[i, j]
        w = fit_logistic(np.c_[cos, np.log1p(inl)], same)
        fusion = Fusion(float(w[0]), float(w[1]), float(w[2]), gate, DEFAULT_CANDIDATES)
        fused = fusion.score(cos, inl)
        threshold = so.threshold_for_precision(fused, same, target)
        cosine_threshold = so.threshold_for_precision(cos, same, target)
        options = ScoreOptions("fused", threshold, fusion)
        grouping = {}
        for fraction in LINK_FRACTIONS:
            groups = find_groups(store, threshold, options=options, min_link_fraction=fraction)
            rows = [[int(m) for m in g.members] for g in groups]
            precision, recall, _ = so.group_pair_metrics(rows, labels, scenes)
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            grouping[fraction] = (f1, precision, recall)
    precise = [f for f in LINK_FRACTIONS if grouping[f][1] >= target]
    best_fraction = (max(precise, key=lambda f: (round(grouping[f][0], 6), f)) if precise
                     else max(LINK_FRACTIONS, key=lambda f: (round(grouping[f][1], 6), f)))
    at = so.at_threshold(fused, same, threshold)
    at_cos = so.at_threshold(cos, same, cosine_threshold)
    extra = {"decisions": fused >= threshold} if decisions else {}
    return {
        **extra,
        "recommended_threshold": round(float(threshold), 6),
        "recommended_cosine_threshold": round(float(cosine_threshold), 6),
        "fusion": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in fusion.to_dict().items()},
        "group_min_link_fraction": best_fraction,
        "calibration": {
            "target_precision": target,
            "set": "the calibration split's photos and one copy of each edit kind (datasets/sources.py, "
                   "datasets/edits.py)",
            "items": len(labels), "origins": len(set(labels)), "same_origin_pairs": int(same.sum()),
            "pairs": int(len(same)), "ignored_pairs": int(len(labels) * (len(labels) - 1) // 2 - len(same)),
            "fused": {"precision": round(at.precision, 4), "recall": round(at.recall, 4)},
            "cosine": {"precision": round(at_cos.precision, 4), "recall": round(at_cos.recall, 4)},
            "groups": {str(f): {"f1": round(v[0], 4), "precision": round(v[1], 4), "recall": round(v[2], 4)}
                       for f, v in grouping.items()},
        },
    }
