"""The shared-content pass of the neighbour graph (pool/knn_graph.py): pool/shared_content.py on its pairs.

Once every part of a graph is committed, the pairs of its lists that merge on their inliers (the only ones the rule
can change) are verified again with their keypoints, and the inliers the rule leaves them are written to
SHARED_FILE, atomically, as (row, other row, inliers) entries sorted by row; the graph's meta records the file's
size. Readers apply it to each part as they read it (`apply_shared`): the stored parts keep the plain inliers, so
an extension looks them up as before and runs the pass again over the whole graph.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from myPython.pool import shared_content
from myPython.pool.store import DescriptorStore

SHARED_FILE = "shared.npz"  # (row, other, inliers): list entries whose inliers on shared content are taken out


def no_shared() -> dict[str, np.ndarray]:
    return {"row": np.zeros(0, np.int64), "other": np.zeros(0, np.int64), "inliers": np.zeros(0, np.int32)}


def _row_vectors(db: DescriptorStore, rows: np.ndarray) -> np.ndarray:
    out, offset = np.zeros((len(rows), db.dim), np.float32), 0
    for shard in db.shards():
        inside = (rows >= offset) & (rows < offset + shard.rows)
        if inside.any():
            out[inside] = np.asarray(shard.vectors()[rows[inside] - offset], np.float32)
        offset += shard.rows
    return out


def shared_pass(db: DescriptorStore, folder: Path, parts: list[list[int]], width: int, score, verifier=None
                ) -> dict | None:
    """Take the inliers on shared content out of the complete graph's pairs that merge on their inliers (the only
    ones the rule can change): written to SHARED_FILE, atomically; what it did, for the graph's meta. The pairs'
    matches come from `verifier.matches` (graph_verify's workers) when it has one, else from this process."""
    from myPython.pool.knn_graph import read_part
    from myPython.pool.scoring import LocalFeatureIndex

    fusion = getattr(score, "fusion", None)
    if fusion is None:
        return None
    found = []
    for start, stop in parts:
        arrays = read_part(folder, start, stop, width)
        rows, cosine = np.asarray(arrays["rows"]), np.asarray(arrays["cosine"])
        inliers = np.asarray(arrays["inliers"], np.int32)  # as computed: the stored int16 would score in float32
        q, c = np.nonzero((rows >= 0) & (rows != np.arange(start, stop)[:, None])
                          & shared_content.merging_on_inliers(cosine, inliers, fusion, score.threshold))
        pair = np.sort(np.c_[q + start, rows[q, c]], axis=1)
        found.append(np.c_[pair, cosine[q, c], inliers[q, c]])
    table = np.concatenate(found) if found else np.zeros((0, 4))
    pairs, first = np.unique(table[:, :2].astype(np.int64), axis=0, return_index=True)
    cosine, inliers = table[first, 2], table[first, 3].astype(np.int64)
    if getattr(verifier, "matches", None) is not None:
        answered = dict(zip(map(tuple, pairs.tolist()), verifier.matches(pairs)))

        def matches(a: int, b: int) -> tuple:
            return answered[(a, b)]
    else:
        matches = shared_content.feature_matches(LocalFeatureIndex(db).__getitem__)
    kept = shared_content.effective_inliers(pairs, cosine, inliers, fusion, score.threshold, matches,
                                            lambda rows: _row_vectors(db, rows))
    changed = kept != inliers
    row = np.concatenate([pairs[changed, 0], pairs[changed, 1]])
    order = np.argsort(row, kind="stable")
    overlay = {"row": row[order], "other": np.concatenate([pairs[changed, 1], pairs[changed, 0]])[order],
               "inliers": np.tile(kept[changed], 2)[order].astype(np.int32)}
    path = folder / SHARED_FILE
    tmp = folder / f".{SHARED_FILE}.tmp"
    with open(tmp, "wb") as handle:
        np.savez(handle, **overlay)
    tmp.replace(path)
    return {"rule": shared_content.VERSION, "pairs_looked": int(len(pairs)), "pairs_changed": int(changed.sum()),
            "bytes": path.stat().st_size}


def read_shared(folder: Path, meta: dict) -> dict[str, np.ndarray] | None:
    """The graph's shared-content overlay (empty for a cosine graph); None when it is damaged or missing."""
    info = meta.get("shared_content")
    if info is None:
        return no_shared()
    path = folder / SHARED_FILE
    try:
        if path.stat().st_size != info["bytes"]:
            return None
        with np.load(path) as data:
            return {n: data[n] for n in ("row", "other", "inliers")}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def apply_shared(arrays: dict[str, np.ndarray], start: int, shared: dict[str, np.ndarray], fusion
                 ) -> dict[str, np.ndarray]:
    """A part's lists with the overlay's inliers and the fused scores they give, each list sorted again (best fused
    score first, then cosine, then the higher row: the order the build writes)."""
    lo, hi = np.searchsorted(shared["row"], [start, start + len(arrays["rows"])])
    if lo == hi:
        return arrays
    out = {n: np.array(a) for n, a in arrays.items()}
    touched = set()
    for row, other, inliers in zip(*(shared[n][lo:hi].tolist() for n in ("row", "other", "inliers"))):
        local = row - start
        column = np.flatnonzero(out["rows"][local] == other)
        out["inliers"][local, column] = inliers
        out["fused"][local, column] = fusion.score(out["cosine"][local, column].astype(np.float64), inliers)
        touched.add(local)
    for local in touched:
        order = np.lexsort((-out["rows"][local], -out["cosine"][local], -out["fused"][local]))
        for n in out:
            out[n][local] = out[n][local][order]
    return out
