"""The same-origin score: cosine, fused with geometric verification into a calibrated probability.

For each query, the nearest rows by cosine that reach the fusion's `min_cosine` (at most `candidates`
of them) are verified (pool/verify.py); every pair then scores

    P(same origin) = sigmoid(w_cosine * cosine + w_inliers * log(1 + inliers) + bias)

with inliers = 0 for pairs that were not verified. Where the pool is known (a store scored against itself: the
neighbour graph, `pair_score_matrix`), the inliers on content many unrelated rows share (app chrome, watermarks,
stickers) are not counted (pool/shared_content.py); the calibration fits the score on pairs. The weights,
`min_cosine` and the recommended threshold on this score are fitted on the calibration split when the default
model is built (build/default_model.py) and kept in the model's sidecar (`fusion`). `--raw` (or a store embedded
without local features) gives plain cosine, whose calibrated threshold is `recommended_cosine_threshold`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from myPython.pool.store import DescriptorStore

DEFAULT_CANDIDATES = 20  # neighbours of each query that verification looks at


@dataclass
class Fusion:
    """Logistic model of P(same origin | cosine, inliers); `min_cosine` gates verification."""

    w_cosine: float
    w_inliers: float
    bias: float
    min_cosine: float
    candidates: int = DEFAULT_CANDIDATES

    def score(self, cosine: np.ndarray | float, inliers: np.ndarray | float) -> np.ndarray:
        z = self.w_cosine * np.asarray(cosine, np.float64) + self.w_inliers * np.log1p(inliers) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Fusion:
        return cls(**{k: data[k] for k in ("w_cosine", "w_inliers", "bias", "min_cosine", "candidates") if k in data})


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iterations: int = 50) -> np.ndarray:
    """Weights (features..., bias) of an L2-regularised logistic regression, by Newton's method (deterministic)."""
    a = np.c_[np.asarray(x, np.float64), np.ones(len(x))]
    y = np.asarray(y, np.float64)
    w = np.zeros(a.shape[1])
    penalty = l2 * np.eye(a.shape[1])
    penalty[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-a @ w))
        gradient = a.T @ (p - y) + penalty @ w
        hessian = (a * (p * (1 - p))[:, None]).T @ a + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(w)), gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


@dataclass
class ScoreOptions:
    """Which score `search` and `group` use, and the model's calibrated operating point for it."""

    name: str  # "fused" or "cosine"
    threshold: float
    fusion: Fusion | None = None
    min_link_fraction: float = 1.0


def score_options(spec, raw: bool = False, store: DescriptorStore | None = None) -> ScoreOptions:
    """The score for a model (a ModelSpec): fused when its sidecar has a fusion and the store has local features."""
    info = spec.info or {}
    fraction = float(info.get("group_min_link_fraction", 1.0))
    has_local = store is None or bool(store.meta.get("local_features"))
    if "fusion" in info and not raw and has_local:
        return ScoreOptions("fused", float(info["recommended_threshold"]), Fusion.from_dict(info["fusion"]), fraction)
    threshold = info.get("recommended_cosine_threshold", info.get("recommended_threshold", 0.5))
    return ScoreOptions("cosine", float(threshold), None, fraction)


class LocalFeatureIndex:
    """Packed local features of a store's rows by global row number (shards memory-mapped on demand)."""

    def __init__(self, store: DescriptorStore) -> None:
        self.shards = store.shards()
        self.starts = np.cumsum([0] + [s.rows for s in self.shards])
        self._open: dict[int, np.ndarray | None] = {}

    def __getitem__(self, row: int) -> np.ndarray | None:
        k = int(np.searchsorted(self.starts, row, side="right") - 1)
        if k not in self._open:
            self._open[k] = self.shards[k].local_features()
        feats = self._open[k]
        return None if feats is None else np.asarray(feats[row - self.starts[k]])


def verified_inliers(pairs: list[tuple[int, int]], left: LocalFeatureIndex, right: LocalFeatureIndex,
                     done: dict[tuple[int, int], int] | None = None) -> np.ndarray:
    """Inliers of each (left row, right row) pair; 0 where a side has no local features.

    `done` remembers verified pairs across calls (within one store, (a, b) and (b, a) are verified once).
    """
    from myPython.pool.verify import verify

    out = np.zeros(len(pairs), np.int64)
    done = {} if done is None else done
    for n, (a, b) in enumerate(pairs):
        key = (min(a, b), max(a, b)) if left is right else (a, b)
        if key not in done:
            fa, fb = left[key[0]], right[key[1]]
            done[key] = verify(fa, fb).inliers if fa is not None and fb is not None else 0
        out[n] = done[key]
    return out


def candidate_pairs(cosine: np.ndarray, rows: np.ndarray, fusion: Fusion, query_offset: int = 0,
                    same: bool = True, panels: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[int, int]]:
    """(query row, db row) pairs to verify: each query's first `candidates` neighbours with cosine >= min_cosine.

    `cosine` and `rows` are a block of knn results (best first); with `same`, a pair is listed once
    (lower row first) and self-matches are dropped. `panels` (which query rows, which db rows are panel rows of
    `embed --panels`; None: none are): two panels are never a pair (no reader links them, pool/panel_rows.py),
    and whole rows and panel rows each get their own `candidates`, so that the panels of a picture's many
    composites do not take the budget its copies need.
    """
    out: set[tuple[int, int]] = set()
    for q in range(len(rows)):
        qrow = q + query_offset
        query_panel = panels is not None and bool(panels[0][qrow])
        taken = [0, 0]  # whole rows, panel rows
        for s, r in zip(cosine[q], rows[q]):
            if r < 0 or (same and r == qrow):
                continue
            if s < fusion.min_cosine or (taken[0] if panels is None else min(taken)) >= fusion.candidates:
                break
            kind = int(panels is not None and bool(panels[1][r]))
            if (query_panel and kind) or taken[kind] >= fusion.candidates:
                continue
            taken[kind] += 1
            out.add((min(qrow, int(r)), max(qrow, int(r))) if same else (qrow, int(r)))
    return sorted(out)


def panel_rows_of(store: DescriptorStore) -> np.ndarray | None:
    """Which rows of the store are panel rows (`embed --panels`); None for a store without them."""
    if not store.meta.get("panels"):
        return None
    from myPython.common.ids import is_panel

    return np.array([is_panel(i) for shard in store.shards() for i in shard.ids()], bool)


def pair_features(store: DescriptorStore, fusion: Fusion | None, threshold: float | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(cosine N x N, inliers N x N) of every pair of a small store (inliers only for verified candidates).

    With the fused score's `threshold`, inliers on content the pool shares are not counted (pool/shared_content.py).
    """
    _, x = store.load()
    cosine = x @ x.T
    inliers = np.zeros(cosine.shape, np.int64)
    if fusion is not None and len(x) > 1:
        masked = cosine.copy()
        np.fill_diagonal(masked, -np.inf)
        panel = panel_rows_of(store)
        k = len(x) - 1 if panel is not None else min(fusion.candidates, len(x) - 1)  # panels: budgets by kind
        rows = np.argsort(-masked, axis=1, kind="stable")[:, :k]
        scores = np.take_along_axis(masked, rows, 1)
        pairs = candidate_pairs(scores, rows, fusion, panels=None if panel is None else (panel, panel))
        index = LocalFeatureIndex(store)
        values = verified_inliers(pairs, index, index)
        if threshold is not None and pairs:
            from myPython.pool.shared_content import effective_inliers, feature_matches

            listed = np.array(pairs, np.int64)
            values = effective_inliers(listed, cosine[listed[:, 0], listed[:, 1]], values, fusion, threshold,
                                       feature_matches(index.__getitem__), lambda rows: x[rows])
        for (a, b), v in zip(pairs, values):
            inliers[a, b] = inliers[b, a] = v
    return cosine, inliers


def pair_score_matrix(store: DescriptorStore, options: ScoreOptions) -> np.ndarray:
    """The default score of every pair of a small store, its shared content taken out (evaluation)."""
    cosine, inliers = pair_features(store, options.fusion, options.threshold if options.fusion is not None else None)
    return cosine if options.fusion is None else options.fusion.score(cosine, inliers)


def scored_knn_blocks(db: DescriptorStore, source: DescriptorStore, k: int, options: ScoreOptions, search_options
                      ) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
    """Like search's knn blocks (query ids, scores, db rows), with scores in the options' score, best first."""
    from myPython.pool.search import _knn_blocks

    same = source is db
    fusion = options.fusion
    k_search = max(k, fusion.candidates + (1 if same else 0)) if fusion else k
    panels = (panel_rows_of(source), panel_rows_of(db)) if fusion else (None, None)
    panels = None if panels[0] is None and panels[1] is None else panels
    keep = k_search
    if panels is not None:  # panel rows: whole rows and panel rows each get their budget, out of twice the list
        panels = tuple(np.zeros(len(s), bool) if m is None else m for m, s in zip(panels, (source, db)))
        k_search *= 2
    left = LocalFeatureIndex(source) if fusion else None
    right = left if same else (LocalFeatureIndex(db) if fusion else None)
    done: dict[tuple[int, int], int] = {}  # a pair met again from its other side, in a later block
    offset = 0
    for query_ids, scores, rows in _knn_blocks(db, source, k_search, search_options):
        if fusion is not None:
            pairs = candidate_pairs(scores, rows, fusion, offset, same=False, panels=panels)
            if same:
                pairs = [(q, r) for q, r in pairs if q != r]
            inliers = np.zeros(scores.shape, np.int64)
            position = {(q - offset, int(r)): j for q in range(offset, offset + len(rows))
                        for j, r in enumerate(rows[q - offset])}
            for (q, r), v in zip(pairs, verified_inliers(pairs, left, right, done)):
                inliers[q - offset, position[(q - offset, r)]] = v
            fused = fusion.score(scores, inliers)
            fused[rows < 0] = -np.inf
            order = np.argsort(-fused, axis=1, kind="stable")[:, :keep]  # as long as without panel rows
            scores, rows = np.take_along_axis(fused, order, 1), np.take_along_axis(rows, order, 1)
        offset += len(query_ids)
        yield query_ids, scores, rows
