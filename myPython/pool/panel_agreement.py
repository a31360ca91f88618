"""Whole pictures that match only around their pictures inside: a link a store with panel rows does not keep.

Two screenshots of different photos in one app are the same pixels around two photos: the status bar, header,
buttons and caption layout match in the descriptor and in the inliers (fused score 0.99), and no per-pair rule
tells them from copies. With `embed --panels` each screenshot also has a panel row, the photo inside the chrome
(pool/panels.py). Two screenshots of one photo have panels that match each other; two of different photos do not.
So a link between two whole rows that BOTH have panel rows stands only when some panel of one is alike some panel
of the other (cosine >= PANEL_AGREEMENT); otherwise the pair keeps only what a panel of one says against the other's
whole row (folded as usual, pool/panel_rows.py). A pair where either row has no panel is not touched: a photo and
its screenshot are linked through the screenshot's panel, and two plain copies without false panels as before.

Chosen on the validation split (`bench/panel_confirm_study.py`: 30 validation photos, 52 screenshots under 4 app
templates, 90 plain copies; the default model, `--panels`, fused score at its threshold): the 58 links between
screenshots of different photos under one template fall to 7, and 1 of 374 same-origin links is lost (a plain
copy pair whose false panels differ); at 0.6, 6 false links stay and 7 true ones are lost.

Panel-to-panel cosines are used only to confirm, never to link (pool/panel_rows.py: a box that many unrelated
posts carry must not link them).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

PANEL_AGREEMENT = 0.5

Vectors = Callable[[np.ndarray], np.ndarray]  # global row numbers -> their descriptors (unit rows)


def store_vectors(store) -> Vectors:
    """rows -> descriptors of a store's rows, read from its memory-mapped shards."""
    shards = store.shards()
    offsets = np.cumsum([0] + [s.rows for s in shards])
    maps: dict[int, np.ndarray] = {}

    def read(rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, np.int64)
        shard_of = np.searchsorted(offsets, rows, side="right") - 1
        out = np.empty((len(rows), store.dim), np.float32)
        for s in np.unique(shard_of):
            if s not in maps:
                maps[int(s)] = shards[s].vectors()
            pick = shard_of == s
            out[pick] = maps[int(s)][rows[pick] - offsets[s]]
        return out

    return read


class PanelRuns:
    """The panel rows of each owner row of one store (`owners`: panel_rows.owner_rows)."""

    def __init__(self, owners: np.ndarray, vectors: Vectors) -> None:
        whole = np.arange(len(owners))
        panel = np.flatnonzero(owners != whole)
        self.order = panel[np.argsort(owners[panel], kind="stable")]
        self.count = np.bincount(owners[panel], minlength=len(owners))
        self.start = np.cumsum(self.count) - self.count
        self.vectors = vectors

    def of(self, row: int) -> np.ndarray:
        return self.order[self.start[row] : self.start[row] + self.count[row]]


def unconfirmed(left: PanelRuns, right: PanelRuns, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which pairs of whole rows (a[i] of `left`'s store, b[i] of `right`'s) have panel rows on both sides and no
    two panels alike (cosine >= PANEL_AGREEMENT): their whole-row link is the frame around them alone."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    out = np.zeros(len(a), bool)
    both = np.flatnonzero((left.count[a] > 0) & (right.count[b] > 0)) if len(a) else np.zeros(0, np.int64)
    if not len(both):
        return out
    rows_a = np.unique(np.concatenate([left.of(int(r)) for r in np.unique(a[both])]))
    rows_b = np.unique(np.concatenate([right.of(int(r)) for r in np.unique(b[both])]))
    va, vb = left.vectors(rows_a), right.vectors(rows_b)
    for i in both:
        pa = np.searchsorted(rows_a, left.of(int(a[i])))
        pb = np.searchsorted(rows_b, right.of(int(b[i])))
        out[i] = float((va[pa] @ vb[pb].T).max()) < PANEL_AGREEMENT
    return out
