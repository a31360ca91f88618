"""Same-origin metrics for items that show several origins, reported per family of edit.

An item lists the origins it shows (a composite shows several); two items are the same origin when
their lists intersect. Pairs are unordered (i < j). Per group of items (a family or an edit kind),
the pairs *involving* the group are those with at least one item in it: their recall and precision at
a threshold (same_origin.at_threshold) and their highest-scoring different-origin pairs (the hardest
negatives) are reported.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from evaluation import same_origin as so


def same_origin_matrix(origins: Sequence[Collection[str]]) -> np.ndarray:
    """N x N booleans: items i and j share at least one origin."""
    index: dict[str, int] = {}
    rows = [[index.setdefault(o, len(index)) for o in item] for item in origins]
    incidence = np.zeros((len(origins), len(index)), np.float32)
    for r, cols in enumerate(rows):
        incidence[r, cols] = 1
    return (incidence @ incidence.T) > 0


def all_pairs(scores: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, score, same origin) of every unordered pair of a dense score matrix."""
    i, j = np.triu_indices(len(scores), k=1)
    return i, j, scores[i, j], same[i, j]


def mean_average_precision(scores: np.ndarray, same: np.ndarray) -> float:
    """Mean AP with every item as a query against all others (queries without a positive are skipped)."""
    aps = []
    for q in range(len(scores)):
        others = np.arange(len(scores)) != q
        ap = so.average_precision(scores[q, others], same[q, others])
        if not np.isnan(ap):
            aps.append(ap)
    return float(np.mean(aps)) if aps else float("nan")


def summary(score: np.ndarray, same: np.ndarray, threshold: float) -> dict:
    """Pair counts, recall at precision 0.95 and the operating point at `threshold`."""
    return {"pairs": int(len(same)), "same_origin_pairs": int(same.sum()),
            "at_threshold": vars(so.at_threshold(score, same, threshold)),
            "at_precision_0.95": vars(so.recall_at_precision(score, same, 0.95))}


def group_pairs(groups: Sequence[Sequence[int]], same: np.ndarray) -> dict:
    """Pair precision and recall of a grouping of items whose same-origin pairs are `same` (N x N booleans; an item
    showing several origins, a composite, is the same origin as each): a pair is predicted when in one group."""
    predicted = correct = 0
    for g in groups:
        g = np.asarray(g)
        inside = same[np.ix_(g, g)]
        predicted += len(g) * (len(g) - 1) // 2
        correct += int(np.triu(inside, k=1).sum())
    possible = int(np.triu(same, k=1).sum())
    return {"pair_precision": correct / predicted if predicted else 1.0,
            "pair_recall": correct / possible if possible else 0.0, "groups": len(groups),
            "largest": max((len(g) for g in groups), default=0)}


def by_group(i: np.ndarray, j: np.ndarray, score: np.ndarray, same: np.ndarray, groups: Sequence[str],
             names: Sequence[str], kinds: Sequence[str], threshold: float, hardest: int = 3,
             skip: Collection[str] = ()) -> list[dict]:
    """One row per group (sorted): items, positive pairs, recall and precision at `threshold` among the pairs
    involving the group, and its `hardest` highest-scoring different-origin pairs (ids, kinds, score)."""
    groups = np.asarray(groups)
    rows = []
    for group in sorted(set(groups.tolist()) - set(skip)):
        member = groups == group
        involved = member[i] | member[j]
        s, y = score[involved], same[involved]
        at = so.at_threshold(s, y, threshold)
        neg = np.flatnonzero(involved & ~same)
        top = neg[np.argsort(-score[neg], kind="stable")[:hardest]]
        rows.append({
            "group": group, "items": int(member.sum()), "positive_pairs": int(y.sum()),
            "recall": at.recall if y.any() else float("nan"), "precision": at.precision,
            "accepted": at.true_pairs + at.false_pairs, "false_accepted": at.false_pairs,
            "hardest_negatives": [{"a": names[i[k]], "b": names[j[k]], "kind_a": kinds[i[k]], "kind_b": kinds[j[k]],
                                   "score": float(score[k])} for k in top],
        })
    return rows


def format_rows(rows: list[dict], title: str, negatives: bool = True) -> list[str]:
    """Text lines of a `by_group` table (and, optionally, each group's hardest negatives)."""
    lines = [f"  {title:<22}{'items':>6}{'pos.pairs':>10}{'R@thr':>8}{'P@thr':>8}{'accepted':>9}"]
    for r in rows:
        lines.append(f"  {r['group']:<22}{r['items']:>6}{r['positive_pairs']:>10}{r['recall']:>8.3f}"
                     f"{r['precision']:>8.3f}{r['accepted']:>9}")
    if negatives:
        for r in rows:
            lines.append(f"  hardest negatives, {r['group']}:")
            lines += [f"    {n['score']:.3f}  {n['a']} ({n['kind_a']})  vs  {n['b']} ({n['kind_b']})"
                      for n in r["hardest_negatives"]]
    return lines
