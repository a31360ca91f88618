"""Average-precision measures for image retrieval.

* :func:`compute_ap` -- one ranked list of names, identical to the ``compute_ap`` C++ tool (Oxford protocol).
* :func:`average_precision` -- the same AP for every query of a similarity matrix at once.
* :func:`voc_average_precision`, :func:`r_precision` -- measures of the fork's class-based evaluators.
* :func:`evaluate_revisited` -- ROxford5k/RParis6k easy/medium/hard mAP and mP@k.

Similarity matrices are ``Nq x Ndb``; database items are ranked by decreasing similarity, ties broken by the
lower database index. Label masks are ``Nq x Ndb`` (any dtype; non-zero means set). Queries without positives
get ``nan``.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

REVISITED_PROTOCOLS = ("easy", "medium", "hard")


def compute_ap(ranked: Sequence[str], good: Iterable[str], junk: Iterable[str] = (), ok: Iterable[str] = ()) -> float:
    """Oxford AP of one ranked list: positives = good U ok, junk skipped, trapezoidal PR-curve area."""
    positives = set(good) | set(ok)
    junk_set = set(junk)
    if not positives:
        return float("nan")
    old_recall, old_precision, ap = 0.0, 1.0, 0.0
    hits = seen = 0
    for name in ranked:
        if name in junk_set:
            continue
        hits += name in positives
        recall = hits / len(positives)
        precision = hits / (seen + 1)
        ap += (recall - old_recall) * (old_precision + precision) / 2.0
        old_recall, old_precision = recall, precision
        seen += 1
    return ap


def rank_database(sim: np.ndarray) -> np.ndarray:
    """Database indices of each row of ``sim`` by decreasing similarity (stable: ties keep index order)."""
    sim = np.asarray(sim)
    if sim.ndim != 2:
        raise ValueError(f"similarity matrix must be 2-D (Nq x Ndb), got shape {sim.shape}")
    return np.argsort(-sim, axis=1, kind="stable")


def _sorted_masks(
    sim: np.ndarray, positive_mask: np.ndarray, junk_mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positive and junk masks reordered by rank, plus the number of positives per query."""
    order = rank_database(sim)
    pos = np.asarray(positive_mask) != 0
    junk = np.zeros_like(pos) if junk_mask is None else np.asarray(junk_mask) != 0
    for label, mask in (("positive", pos), ("junk", junk)):
        if mask.shape != order.shape:
            raise ValueError(f"{label} mask has shape {mask.shape}, similarity matrix {order.shape}")
    return np.take_along_axis(pos, order, 1), np.take_along_axis(junk, order, 1), pos.sum(axis=1)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` as float, ``nan`` where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=np.asarray(den) != 0)


def average_precision(sim: np.ndarray, positive_mask: np.ndarray, junk_mask: np.ndarray | None = None,
                      extra_positives: np.ndarray | None = None) -> np.ndarray:
    """Oxford AP (same as :func:`compute_ap`) of every query; returns an ``Nq`` float array.

    A positive that is also junk is skipped but still counts in the number of positives (as in the C++ tool).
    ``extra_positives`` counts, per query, ground-truth positives that are not in the database (e.g. Paris's
    excluded images): like the C++ tool, they are never retrieved but count in the recall.
    This is also the revisited-protocol AP (precision at the ranks, junk removed).
    """
    pos, junk, n_pos = _sorted_masks(sim, positive_mask, junk_mask)
    if extra_positives is not None:
        n_pos = n_pos + np.asarray(extra_positives)
    keep = ~junk
    hit = pos & keep
    rank = np.cumsum(keep, axis=1)  # 1-based rank among non-junk items
    hits = np.cumsum(hit, axis=1)
    precision = hits / rank.clip(min=1)
    previous = np.where(rank > 1, (hits - 1) / (rank - 1).clip(min=1), 1.0)
    return _divide(np.where(hit, precision + previous, 0.0).sum(axis=1) / 2.0, n_pos)


def voc_average_precision(sim: np.ndarray, positive_mask: np.ndarray) -> np.ndarray:
    """VOC2010-style interpolated AP: mean over the positives of max precision at that recall or higher."""
    pos, _, n_pos = _sorted_masks(sim, positive_mask, None)
    precision = np.where(pos, np.cumsum(pos, axis=1) / np.arange(1, pos.shape[1] + 1), 0.0)
    interpolated = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    return _divide(np.where(pos, interpolated, 0.0).sum(axis=1), n_pos)


def r_precision(sim: np.ndarray, positive_mask: np.ndarray) -> np.ndarray:
    """Fraction of positives among the top ``|positives|`` items of each query."""
    pos, _, n_pos = _sorted_masks(sim, positive_mask, None)
    found = np.cumsum(pos, axis=1)
    at_r = np.take_along_axis(found, (n_pos - 1).clip(min=0)[:, None], 1)[:, 0]
    return _divide(at_r, n_pos)


def precision_at_k(
    sim: np.ndarray, positive_mask: np.ndarray, junk_mask: np.ndarray | None, ks: Sequence[int] = (1, 5, 10)
) -> np.ndarray:
    """Revisited-protocol precision at k, ``Nq x len(ks)``.

    Junk is removed from the ranking and k is capped at the rank of the last positive (revisitop definition).
    """
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be positive integers, got {list(ks)}")
    pos, junk, n_pos = _sorted_masks(sim, positive_mask, junk_mask)
    keep = ~junk
    hit = pos & keep
    rank = np.where(hit, np.cumsum(keep, axis=1), 0)  # 1-based rank of each ranked positive, else 0
    last = rank.max(axis=1)
    out = np.empty((pos.shape[0], len(ks)))
    for col, k in enumerate(ks):
        kq = np.minimum(last, k)
        out[:, col] = _divide((hit & (rank <= kq[:, None])).sum(axis=1), kq)
    out[n_pos == 0] = np.nan
    return out


def revisited_sets(entry: Mapping[str, Iterable[int]], protocol: str) -> tuple[np.ndarray, np.ndarray]:
    """(positive, junk) database indices of one revisited ground-truth entry under ``protocol``."""

    def ids(*keys: str) -> np.ndarray:
        return np.unique(np.concatenate([np.asarray(entry[key], dtype=np.int64).ravel() for key in keys]))

    if protocol == "easy":
        return ids("easy"), ids("junk", "hard")
    if protocol == "medium":
        return ids("easy", "hard"), ids("junk")
    if protocol == "hard":
        return ids("hard"), ids("junk", "easy")
    raise ValueError(f"unknown revisited protocol {protocol!r}; expected one of {REVISITED_PROTOCOLS}")


def index_mask(indices: Sequence[np.ndarray], n_db: int) -> np.ndarray:
    """Boolean ``len(indices) x n_db`` mask with row ``i`` set at ``indices[i]``."""
    mask = np.zeros((len(indices), n_db), dtype=bool)
    for row, idx in enumerate(indices):
        mask[row, idx] = True
    return mask


def revisited_masks(gnd: Mapping, protocol: str) -> tuple[np.ndarray, np.ndarray]:
    """(positive, junk) ``Nq x Ndb`` masks of a revisited ``gnd`` dict (keys imlist, qimlist, gnd)."""
    sets = [revisited_sets(entry, protocol) for entry in gnd["gnd"]]
    n_db = len(gnd["imlist"])
    return index_mask([p for p, _ in sets], n_db), index_mask([j for _, j in sets], n_db)


@dataclass
class RevisitedResult:
    """Scores of one revisited protocol; ``map`` and ``mp`` are fractions averaged over non-empty queries."""

    map: float
    mp: dict[int, float]
    aps: np.ndarray
    precisions: np.ndarray


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring ``nan`` (``nan`` where everything is ``nan``), without warnings."""
    valid = ~np.isnan(values)
    return _divide(np.where(valid, values, 0.0).sum(axis=0), valid.sum(axis=0))


def evaluate_revisited(sim: np.ndarray, gnd: Mapping, ks: Sequence[int] = (1, 5, 10)) -> dict[str, RevisitedResult]:
    """mAP and mP@k of the easy, medium and hard revisited protocols (queries without positives skipped)."""
    results = {}
    for protocol in REVISITED_PROTOCOLS:
        pos, junk = revisited_masks(gnd, protocol)
        aps = average_precision(sim, pos, junk)
        precisions = precision_at_k(sim, pos, junk, ks)
        mp = _nanmean(precisions)
        results[protocol] = RevisitedResult(
            map=float(_nanmean(aps)), mp={k: float(v) for k, v in zip(ks, mp)}, aps=aps, precisions=precisions
        )
    return results
