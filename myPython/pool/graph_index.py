"""How the neighbour graph finds each row's nearest rows: exact, or an approximate index measured to be good enough.

Below `exact_max_rows` rows the streamed exact search (pool/search.py `exact_knn`) is cheap enough. Above, an
inverted-file index ("IVF<lists>,Flat", saved under STORE/index/ like `search --index` while the graph is built, so
that a killed build reloads it; removed once the graph is complete: 2 KB a row) is built and its `nprobe`
raised until the recall of the graph's lists, measured against exact search on a sample of query rows, reaches
`min_recall`; when no setting does, exact search is used. The method and the measured recall go into the graph's
metadata.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from myPython.pool.store import DescriptorStore

Searcher = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # query rows -> (scores, global rows)
NPROBES = (4, 8, 16, 32, 64, 128, 256, 512)


def ivf_lists(rows: int) -> int:
    """Inverted lists for `rows` rows: a power of two near 4 sqrt(rows), with >= 39 training rows per list."""
    target = max(1.0, min(4 * math.sqrt(rows), rows / 39))
    return max(1, 2 ** round(math.log2(target)))


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean over queries of the share of the exact neighbours (rows >= 0) that were found."""
    shares = []
    for f, t in zip(found, truth):
        t = t[t >= 0]
        if len(t):
            shares.append(len(np.intersect1d(f[f >= 0], t)) / len(t))
    return float(np.mean(shares)) if shares else 1.0


def exact_searcher(db: DescriptorStore, k: int) -> Searcher:
    from myPython.pool.search import exact_knn

    return lambda block: exact_knn(block, db, k)


def choose_searcher(db: DescriptorStore, k: int, *, exact_max_rows: int, min_recall: float, sample: int,
                    method: dict | None = None) -> tuple[dict, Searcher]:
    """(method, searcher) of the k nearest rows of a block of queries over the store `db`.

    `method`: a method chosen before (a resumed build keeps it; no new measurement).
    """
    from myPython.pool.search import build_index, set_search_params

    rows = len(db)
    if method is None:
        if rows <= exact_max_rows:
            method = {"method": "exact", "recall": 1.0}
        else:
            method = _measure(db, k, min_recall, sample)
    if method["method"] == "exact":
        return method, exact_searcher(db, k)
    index = build_index(db, method["factory"])
    set_search_params(index, method["nprobe"])
    take = min(k, max(1, index.ntotal))

    def search(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores, found = index.search(np.ascontiguousarray(block, np.float32), take)
        if take < k:
            scores = np.pad(scores, ((0, 0), (0, k - take)), constant_values=-np.inf)
            found = np.pad(found, ((0, 0), (0, k - take)), constant_values=-1)
        return scores, found

    return method, search


def _measure(db: DescriptorStore, k: int, min_recall: float, sample: int) -> dict:
    """The cheapest nprobe of an IVF index whose recall@k on `sample` query rows reaches `min_recall`."""
    from myPython.pool.search import build_index, exact_knn, sample_rows, set_search_params

    rows = len(db)
    lists = ivf_lists(rows)
    factory = f"IVF{lists},Flat"
    queries = sample_rows(db, sample, seed=1)
    truth = exact_knn(queries, db, k)[1]
    index = build_index(db, factory)
    measured = []
    for nprobe in [p for p in NPROBES if p < lists] + [lists]:
        set_search_params(index, nprobe)
        value = recall(index.search(queries, min(k, index.ntotal))[1], truth)
        measured.append([nprobe, value])
        if value >= min_recall:
            return {"method": "approximate", "factory": factory, "nprobe": nprobe, "recall": value,
                    "sample": len(queries), "measured": measured}
    return {"method": "exact", "recall": 1.0, "sample": len(queries), "measured": measured,
            "note": f"no nprobe of {factory} reached recall {min_recall}"}
