"""Same-origin metrics over a labelled set of items: ranking, pair decisions, groups, per-kind recall.

Scores are a dense symmetric N x N matrix (the set is small; items never pair with themselves).
Pairs are unordered: each (i, j), i < j, counts once. Optional `scenes` (one per item) mark pairs to
ignore, like Oxford's junk: two items of different origins but one scene count neither as same origin
nor as unrelated (they are left out of every list and count).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """AP of one ranked list (scores descending, ties in index order); NaN without positives."""
    order = np.argsort(-scores, kind="stable")
    hits = positive[order]
    if not hits.any():
        return float("nan")
    ranks = np.flatnonzero(hits) + 1
    return float(np.mean(np.arange(1, len(ranks) + 1) / ranks))


def mean_average_precision(scores: np.ndarray, labels: Sequence[str], scenes: Sequence[str] | None = None) -> float:
    """Mean AP with every item as the query against all others (items without a positive are skipped)."""
    labels = np.asarray(labels)
    scenes = labels if scenes is None else np.asarray(scenes)
    aps = []
    for q in range(len(labels)):
        others = (np.arange(len(labels)) != q) & ~((scenes == scenes[q]) & (labels != labels[q]))
        ap = average_precision(scores[q, others], labels[others] == labels[q])
        if not np.isnan(ap):
            aps.append(ap)
    return float(np.mean(aps)) if aps else float("nan")


def pairs(scores: np.ndarray, labels: Sequence[str], scenes: Sequence[str] | None = None
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, score, same origin) of every unordered pair that is not ignored."""
    i, j = np.triu_indices(len(labels), k=1)
    labels = np.asarray(labels)
    if scenes is not None:
        scenes = np.asarray(scenes)
        keep = (labels[i] == labels[j]) | (scenes[i] != scenes[j])
        i, j = i[keep], j[keep]
    return i, j, scores[i, j], labels[i] == labels[j]


@dataclass
class OperatingPoint:
    threshold: float
    precision: float
    recall: float
    true_pairs: int
    false_pairs: int


def at_threshold(score: np.ndarray, same: np.ndarray, threshold: float) -> OperatingPoint:
    taken = score >= threshold
    tp, fp = int((taken & same).sum()), int((taken & ~same).sum())
    return OperatingPoint(float(threshold), tp / (tp + fp) if tp + fp else 1.0, tp / max(int(same.sum()), 1), tp, fp)


def recall_at_precision(score: np.ndarray, same: np.ndarray, target: float) -> OperatingPoint:
    """The operating point with the highest recall whose precision is >= target (thresholds at the scores)."""
    order = np.argsort(-score, kind="stable")
    s, y = score[order], same[order]
    tp, fp = np.cumsum(y), np.cumsum(~y)
    last = np.r_[s[1:] != s[:-1], True]  # a threshold takes every pair with an equal score
    ok = last & (tp / (tp + fp) >= target)
    if not ok.any():
        return OperatingPoint(float("inf"), 1.0, 0.0, 0, 0)
    k = int(np.flatnonzero(ok)[np.argmax(tp[ok])])
    return OperatingPoint(float(s[k]), float(tp[k] / (tp[k] + fp[k])), float(tp[k] / max(int(y.sum()), 1)),
                          int(tp[k]), int(fp[k]))


def threshold_for_precision(score: np.ndarray, same: np.ndarray, target: float) -> float:
    """The lowest threshold whose pairs reach the target precision (the calibration rule)."""
    return recall_at_precision(score, same, target).threshold


def _same_pairs(values: np.ndarray) -> int:
    _, counts = np.unique(values, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def group_pair_metrics(groups: Sequence[Sequence[int]], labels: Sequence[str], scenes: Sequence[str] | None = None
                       ) -> tuple[float, float, int]:
    """(pair precision, pair recall, pairs predicted) of a grouping: a pair is predicted when in one group."""
    labels = np.asarray(labels)
    predicted = correct = 0
    for g in groups:
        g = np.asarray(g)
        n = len(g)
        ignored = 0
        if scenes is not None:  # different origins of one scene: neither right nor wrong
            keys = np.asarray(scenes)[g]
            ignored = _same_pairs(keys) - _same_pairs(np.char.add(np.char.add(keys.astype(str), "\t"),
                                                                  labels[g].astype(str)))
        predicted += n * (n - 1) // 2 - ignored
        correct += _same_pairs(labels[g])
    _, sizes = np.unique(labels, return_counts=True)
    possible = int((sizes * (sizes - 1) // 2).sum())
    return (correct / predicted if predicted else 1.0), (correct / possible if possible else 0.0), predicted


def per_kind_recall(score: np.ndarray, labels: Sequence[str], kinds: Sequence[str], thresholds: dict[str, float],
                    reference: str = "original") -> list[dict]:
    """For each kind of item: how many of its pairs with the `reference` item of its origin score >= each threshold."""
    labels, kinds = np.asarray(labels), np.asarray(kinds)
    ref = {labels[k]: k for k in np.flatnonzero(kinds == reference)}
    rows = []
    for kind in sorted(set(kinds.tolist()) - {reference}):
        members = [k for k in np.flatnonzero(kinds == kind) if labels[k] in ref]
        if not members:
            continue
        values = np.array([score[k, ref[labels[k]]] for k in members])
        row = {"kind": kind, "pairs": len(members), "median_score": float(np.median(values))}
        for name, t in thresholds.items():
            row[f"recall@{name}"] = float((values >= t).mean())
        rows.append(row)
    return rows


def components(scores: np.ndarray, threshold: float) -> list[list[int]]:
    """Connected components (of >= 2 items) of the pairs scoring >= threshold: what chaining would group."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    linked = scores >= threshold
    np.fill_diagonal(linked, False)
    _, label = connected_components(csr_matrix(linked), directed=False)
    groups = [np.flatnonzero(label == c).tolist() for c in np.unique(label)]
    return [g for g in groups if len(g) >= 2]
