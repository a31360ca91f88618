"""Database-side augmentation (DBE) and average query expansion (AQE), as in upstream ``test.py``."""

import numpy as np


def _top_k(sim: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest entries of each row, by decreasing value (ties: lower index first)."""
    if not 1 <= k <= sim.shape[1]:
        raise ValueError(f"k must be in [1, {sim.shape[1]}], got {k}")
    part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    # Order the selected columns by (-value, index), independent of argpartition's internal order.
    part.sort(axis=1)
    order = np.argsort(-np.take_along_axis(sim, part, 1), axis=1, kind="stable")
    return np.take_along_axis(part, order, 1)


def _weighted_neighbours(sim: np.ndarray, vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row i: weighted mean (weights normalised to sum 1) of the vectors at the top len(weights) of sim[i]."""
    idx = _top_k(sim, len(weights))
    mixing = np.zeros(sim.shape, dtype=np.result_type(vectors.dtype, np.float32))
    np.put_along_axis(mixing, idx, weights / weights.sum(), axis=1)
    return (mixing @ vectors).astype(vectors.dtype, copy=False)


def dbe(db: np.ndarray, k: int) -> np.ndarray:
    """Replace each database vector by the weighted mean of its ``k + 1`` nearest neighbours (incl. itself).

    Weights ``[1, 1, (k-1)/k, ..., 1/k]`` by decreasing similarity; the result is not re-normalised.
    """
    db = np.asarray(db)
    if db.ndim != 2:
        raise ValueError(f"database must be 2-D (Ndb x D), got shape {db.shape}")
    if k < 1:
        raise ValueError(f"DBE k must be >= 1, got {k}")
    weights = np.concatenate(([1.0], np.arange(k, 0, -1) / k))
    return _weighted_neighbours(db @ db.T, db, weights)


def aqe(queries: np.ndarray, db: np.ndarray, k: int) -> np.ndarray:
    """New queries: unweighted mean of each query and its top-``k`` database vectors (not re-normalised)."""
    queries, db = np.asarray(queries), np.asarray(db)
    if queries.ndim != 2 or db.ndim != 2 or queries.shape[1] != db.shape[1]:
        raise ValueError(f"queries {queries.shape} and database {db.shape} must be 2-D with equal dimension")
    if k < 1:
        raise ValueError(f"AQE k must be >= 1, got {k}")
    neighbours = _weighted_neighbours(queries @ db.T, db, np.ones(k))
    return ((queries + k * neighbours) / (k + 1)).astype(queries.dtype, copy=False)
