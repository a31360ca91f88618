"""VSC22 matching-track metric: segment-level micro average precision (Pizzi et al. 2023).

A match is a box: a query interval times a reference interval, for one (query_id, ref_id) pair.
Predictions are ranked by descending score; after each distinct score (tied predictions enter
together) every pair is summarised, separately on the query axis and on the reference axis, by

* predicted length: length of the union of the pair's predicted intervals so far;
* matched length: length of that union intersected with the union of the pair's ground-truth
  intervals, counting only ground-truth boxes that overlap (with positive area) at least one
  predicted box of the pair so far.

Summed over all pairs (micro average), per axis: precision = matched / predicted and
recall = matched / total ground-truth length (union per pair, summed over the pairs of the truth).
Precision and recall at that rank are geometric means of the two axes, and
AP = sum_k precision_k * (recall_k - recall_{k-1}), without interpolation.
Predictions for pairs absent from the truth only add predicted length; true pairs never predicted
only add ground-truth length. Where the official code divides by zero, this raises ValueError (truth of
zero total length) or takes precision as 0 (nothing predicted yet on an axis; recall is 0 there too).
"""

from __future__ import annotations

import csv
import itertools
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

Interval = tuple[float, float]
NUMERIC = ("query_start", "query_end", "ref_start", "ref_end", "score")


@dataclass(frozen=True)
class Match:
    """One predicted or true matching segment; times in seconds. Ground truth ignores score."""

    query_id: str
    ref_id: str
    query_start: float
    query_end: float
    ref_start: float
    ref_end: float
    score: float = 1.0

    @property
    def pair(self) -> tuple[str, str]:
        return self.query_id, self.ref_id


def _problem(m: Match, score: bool = True) -> str | None:
    """Why ``m`` is unusable (non-finite value, end before start), or None."""
    for name in NUMERIC if score else NUMERIC[:4]:
        if not math.isfinite(getattr(m, name)):
            return f"{name} is {getattr(m, name)!r}, not a finite number"
    for axis in ("query", "ref"):
        start, end = getattr(m, f"{axis}_start"), getattr(m, f"{axis}_end")
        if end < start:
            return f"{axis}_end {end!r} < {axis}_start {start!r}"
    return None


def _check(matches: Sequence[Match], what: str, score: bool = True) -> None:
    for i, m in enumerate(matches):
        problem = _problem(m, score)
        if problem:
            raise ValueError(f"{what}[{i}] ({m.query_id!r}, {m.ref_id!r}): {problem}")


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same points."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _length(merged: list[Interval]) -> float:
    return float(sum(end - start for start, end in merged))


def _common_length(a: list[Interval], b: list[Interval]) -> float:
    """Length of the intersection of two merged interval lists (two-pointer sweep)."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        total += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _boxes_overlap(a: Match, b: Match) -> bool:
    q = min(a.query_end, b.query_end) - max(a.query_start, b.query_start)
    r = min(a.ref_end, b.ref_end) - max(a.ref_start, b.ref_start)
    return q > 0 and r > 0


def _axes(m: Match) -> tuple[Interval, Interval]:
    return (m.query_start, m.query_end), (m.ref_start, m.ref_end)


def _pair_lengths(preds: list[Match], gts: list[Match]) -> np.ndarray:
    """[matched_q, matched_r, predicted_q, predicted_r] for one pair."""
    hit = [g for g in gts if any(_boxes_overlap(g, p) for p in preds)]
    out = np.zeros(4)
    for axis in (0, 1):
        pred = _merge(_axes(p)[axis] for p in preds)
        out[axis] = _common_length(pred, _merge(_axes(g)[axis] for g in hit))
        out[2 + axis] = _length(pred)
    return out


def segment_average_precision(predictions: Sequence[Match], truth: Sequence[Match]) -> float:
    """VSC22 matching-track segment micro AP of ``predictions`` against ``truth`` (see module doc)."""
    _check(truth, "truth", score=False)
    _check(predictions, "predictions")
    gts: dict[tuple[str, str], list[Match]] = defaultdict(list)
    for g in truth:
        gts[g.pair].append(g)
    true_length = np.zeros(2)
    for pair_gts in gts.values():
        true_length += [_length(_merge(_axes(g)[axis] for g in pair_gts)) for axis in (0, 1)]
    if not np.all(true_length > 0):
        raise ValueError("truth has zero total length on the query or reference axis")
    ranked = sorted(predictions, key=lambda m: -m.score)
    preds: dict[tuple[str, str], list[Match]] = defaultdict(list)
    lengths: dict[tuple[str, str], np.ndarray] = {}
    totals = np.zeros(4)  # matched_q, matched_r, predicted_q, predicted_r over all pairs
    ap = recall = 0.0
    for _, group in itertools.groupby(ranked, key=lambda m: m.score):
        touched = set()
        for m in group:
            preds[m.pair].append(m)
            touched.add(m.pair)
        for pair in touched:
            new = _pair_lengths(preds[pair], gts.get(pair, []))
            totals += new - lengths.get(pair, 0.0)
            lengths[pair] = new
        new_recall = math.sqrt(np.prod(totals[:2] / true_length))
        precision = math.sqrt(np.prod(totals[:2] / totals[2:])) if np.all(totals[2:] > 0) else 0.0
        ap += precision * (new_recall - recall)
        recall = new_recall
    return float(ap)


def read_matches_csv(path: str | os.PathLike[str]) -> list[Match]:
    """Matches from a VSC22 CSV with a header: query_id, ref_id, query_start, query_end, ref_start,
    ref_end and, optionally (ground truth), score (1.0 when the column is absent)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        missing = [c for c in ("query_id", "ref_id", *NUMERIC[:4]) if c not in columns]
        if missing:
            raise ValueError(f"{path}:1: missing column(s) {', '.join(missing)}")
        matches = []
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if None in row or None in row.values():
                raise ValueError(f"{where}: expected {len(columns)} fields")
            values = {}
            for name in NUMERIC if "score" in columns else NUMERIC[:4]:
                try:
                    values[name] = float(row[name])
                except ValueError:
                    raise ValueError(f"{where}: {name} {row[name]!r} is not a number") from None
            ids = row["query_id"].strip(), row["ref_id"].strip()
            if not all(ids):
                raise ValueError(f"{where}: empty query_id or ref_id")
            m = Match(*ids, **values)
            problem = _problem(m)
            if problem:
                raise ValueError(f"{where}: {problem}")
            matches.append(m)
    return matches


def pool_segment_ap(rows: Iterable[tuple], truth: dict, ignore: Iterable[tuple[str, str]] = ()) -> float:
    """VSC22 segment AP of a self-matched pool: `rows` are match-videos CSV rows (query, ref, qs, qe, rs, re,
    score), `truth` maps each true pair (a < b) to its (a_start, a_end, b_start, b_end) segments. Both are put in
    (a < b) order; predictions for `ignore`d pairs (neither true nor unrelated) are left out."""
    ignored = set(ignore)
    predictions = []
    for query, ref, qs, qe, rs, re_, score in rows:
        if query > ref:
            query, ref, qs, qe, rs, re_ = ref, query, rs, re_, qs, qe
        if (query, ref) not in ignored:
            predictions.append(Match(query, ref, qs, qe, rs, re_, score))
    gt = [Match(a, b, *segment) for (a, b), segments in truth.items() for segment in segments]
    return segment_average_precision(predictions, gt)
