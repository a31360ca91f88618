"""Video-level same-origin metrics: pair AP, precision / recall / F1 at a threshold, segment localisation.

Predictions are match-videos rows ``(query_id, ref_id, qs, qe, rs, re, score)``;
the truth maps unordered pairs ``(a, b)`` with ``a < b`` to their shared
segments ``(a_start, a_end, b_start, b_end)``. A pair's score is its best
segment's; pairs never predicted rank below every predicted one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Row = tuple[str, str, float, float, float, float, float]
TrueSegments = list[tuple[float, float, float, float]]


@dataclass
class VideoScores:
    pairs: int  # true pairs
    predicted: int  # pairs predicted at the threshold
    ap: float
    precision: float
    recall: float
    f1: float
    localised: float  # share of true pairs whose best segment has IoU >= 0.5 on both videos
    threshold: float

    def as_dict(self) -> dict:
        return dict(vars(self))


def oriented(row: Row) -> tuple[tuple[str, str], tuple[float, float, float, float], float]:
    """(unordered pair key, segment in the key's order, score)."""
    q, r, qs, qe, rs, re_, score = row
    if q <= r:
        return (q, r), (qs, qe, rs, re_), score
    return (r, q), (rs, re_, qs, qe), score


def best_segments(rows: Iterable[Row]) -> dict[tuple[str, str], tuple[float, tuple]]:
    """Each predicted pair's (score, best segment)."""
    best: dict[tuple[str, str], tuple[float, tuple]] = {}
    for row in rows:
        key, seg, score = oriented(row)
        if key[0] == key[1]:
            continue
        if key not in best or score > best[key][0]:
            best[key] = (score, seg)
    return best


def interval_iou(a0: float, a1: float, b0: float, b1: float) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


def localised(seg: tuple, truth: TrueSegments, min_iou: float = 0.5) -> bool:
    """Whether a segment overlaps one true segment with IoU >= min_iou on both videos."""
    return any(min(interval_iou(seg[0], seg[1], t[0], t[1]), interval_iou(seg[2], seg[3], t[2], t[3])) >= min_iou
               for t in truth)


def pair_average_precision(scores: dict[tuple[str, str], float], positives: set) -> float:
    """AP of the pairs ranked by score; positives never scored count as missed."""
    if not positives:
        return 0.0
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    hits, total = 0, 0.0
    for rank, (key, _) in enumerate(ranked, 1):
        if key in positives:
            hits += 1
            total += hits / rank
    return total / len(positives)


def evaluate_matches(rows: Iterable[Row], truth: dict[tuple[str, str], TrueSegments], threshold: float,
                     ignore: set[tuple[str, str]] = frozenset()) -> VideoScores:
    """Pair AP, precision / recall / F1 at `threshold` and localisation; pairs in `ignore` count for nothing."""
    best = {k: v for k, v in best_segments(rows).items() if k not in ignore}
    positives = set(truth)
    ap = pair_average_precision({k: s for k, (s, _) in best.items()}, positives)
    accepted = {k for k, (s, _) in best.items() if s >= threshold}
    tp = len(accepted & positives)
    precision = tp / len(accepted) if accepted else 1.0
    recall = tp / len(positives) if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    found = sum(1 for k in positives if k in best and localised(best[k][1], truth[k]))
    return VideoScores(len(positives), len(accepted), ap, precision, recall, f1,
                       found / len(positives) if positives else 0.0, threshold)


def recall_by_kind(rows: Iterable[Row], truth: dict[tuple[str, str], TrueSegments], threshold: float,
                   kind_of) -> dict[str, tuple[int, float, float]]:
    """Per kind of true pair (`kind_of(video)` of both videos, sorted and joined by ' + '):
    (pairs, recall at `threshold`, share localised)."""
    best = best_segments(rows)
    out: dict[str, list[int]] = {}
    for key, segments in truth.items():
        kind = " + ".join(sorted((kind_of(key[0]), kind_of(key[1]))))
        counts = out.setdefault(kind, [0, 0, 0])
        counts[0] += 1
        if key in best:
            counts[1] += best[key][0] >= threshold
            counts[2] += localised(best[key][1], segments)
    return {kind: (n, hit / n, loc / n) for kind, (n, hit, loc) in sorted(out.items())}
