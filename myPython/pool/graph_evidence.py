"""Verification evidence of one part of the neighbour graph (pool/knn_graph.py): which pairs, and their inliers.

The pairs are those `scoring.candidate_pairs` lists for the part's rows (what `scored_knn_blocks` verifies).
A pair is verified once: a pair met again from its other side, or already verified by the graph being extended,
is read back from the committed parts (memory-mapped) through `PairLookup`; within the part, duplicates are
verified once. Memory is bounded by one part's pairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NOT_VERIFIED = -1


class PairLookup:
    """Inliers recorded in committed graph parts, found by pair (either side's list)."""

    def __init__(self) -> None:
        self.sources: list[tuple[np.ndarray, np.ndarray, list[dict | None]]] = []  # starts, stops, arrays
        self._current: dict[int, tuple[int, dict]] = {}

    def add_graph(self, folder: Path, parts: list[list[int]], width: int) -> None:
        """Every part of a complete graph (read when needed)."""
        from myPython.pool.knn_graph import read_part

        arrays = [read_part(folder, a, b, width) for a, b in parts]
        self.sources.append((np.array([a for a, _ in parts], np.int64), np.array([b for _, b in parts], np.int64),
                             arrays))

    def add_part(self, start: int, stop: int, arrays: dict) -> None:
        """A part of the graph being built, once committed."""
        self._current[start] = (stop, arrays)

    def _all_sources(self):
        if self._current:
            starts = sorted(self._current)
            yield (np.array(starts, np.int64), np.array([self._current[s][0] for s in starts], np.int64),
                   [self._current[s][1] for s in starts])
        yield from self.sources

    def find(self, pairs: np.ndarray) -> np.ndarray:
        """int32 inliers of each (a, b) pair recorded in a part holding a's or b's list; NOT_VERIFIED if none."""
        out = np.full(len(pairs), NOT_VERIFIED, np.int32)
        for starts, stops, arrays in self._all_sources():
            if not len(starts):
                continue
            for side in (0, 1):
                rows, others = pairs[:, side], pairs[:, 1 - side]
                part = np.searchsorted(starts, rows, side="right") - 1
                ok = (out == NOT_VERIFIED) & (part >= 0)
                ok[ok] &= rows[ok] < stops[part[ok]]
                for p in np.unique(part[ok]):
                    if arrays[p] is None:
                        continue
                    idx = np.flatnonzero(ok & (part == p))
                    local = rows[idx] - starts[p]
                    listed = np.asarray(arrays[p]["rows"][local])
                    values = np.asarray(arrays[p]["inliers"][local])
                    hit = (listed == others[idx][:, None]) & (values >= 0)
                    found = hit.any(axis=1)
                    out[idx[found]] = values[found, hit[found].argmax(axis=1)]
        return out


def evidence(start: int, cosine: np.ndarray, rows: np.ndarray, fusion, lookup: PairLookup, verifier,
             panel: np.ndarray | None = None) -> tuple[np.ndarray, int, int]:
    """(inliers of the part's lists, NOT_VERIFIED off the candidate pairs; pairs verified; pairs looked up).
    `panel`: which rows of the store are panel rows (scoring.candidate_pairs), None when none are."""
    from myPython.pool.scoring import candidate_pairs

    inliers = np.full(rows.shape, NOT_VERIFIED, np.int32)
    if fusion is None:
        return inliers, 0, 0
    panels = None if panel is None else (panel, panel)
    pairs = np.array([(q, r) for q, r in candidate_pairs(cosine, rows, fusion, start, same=False, panels=panels)
                      if q != r], np.int64).reshape(-1, 2)
    if not len(pairs):
        return inliers, 0, 0
    unique, inverse = np.unique(np.sort(pairs, axis=1), axis=0, return_inverse=True)
    values = lookup.find(unique)
    todo = values == NOT_VERIFIED
    if todo.any():
        values[todo] = verifier(unique[todo])
    local = pairs[:, 0] - start
    column = (rows[local] == pairs[:, 1][:, None]).argmax(axis=1)
    inliers[local, column] = values[inverse.ravel()]
    return inliers, int(todo.sum()), int((~todo).sum())
