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
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from myPython.pool.store import DescriptorStore

Searcher = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # query rows -> (scores, global rows)
NPROBES = (4, 8, 16, 32, 64, 128, 256, 512)
TIE_MARGIN = 8  # more neighbours asked of an approximate index than kept (see canonical)


def canonical(cosine: np.ndarray, rows: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each query's first `width` neighbours by cosine, equal cosines the higher row first (the order of FAISS's
    heaps, so exact search's lists come out as they are); missing ones (-1, -inf) last. An approximate index's
    lists are TIE_MARGIN longer, so that of rows scoring the same at the end, the higher are kept whatever order
    the index scanned them in (a sharded index scans in another order than one index)."""
    cosine = np.where(rows < 0, -np.inf, cosine).astype(np.float32)
    order = np.lexsort((-rows.astype(np.int64), -cosine), axis=1)[:, :width]
    cosine, rows = np.take_along_axis(cosine, order, 1), np.take_along_axis(rows.astype(np.int64), order, 1)
    if cosine.shape[1] < width:  # fewer rows than the graph's width
        pad = width - cosine.shape[1]
        cosine = np.pad(cosine, ((0, 0), (0, pad)), constant_values=-np.inf)
        rows = np.pad(rows, ((0, 0), (0, pad)), constant_values=-1)
    return cosine, rows


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

    if method is None:
        if len(db) <= exact_max_rows:
            method = {"method": "exact", "recall": 1.0}
        else:
            method = _measure(db, k, min_recall, sample, lambda factory: _LocalIndex(build_index(db, factory)))
    if method["method"] == "exact":
        return method, exact_searcher(db, k)
    index = build_index(db, method["factory"])
    set_search_params(index, method["nprobe"])
    return method, _LocalIndex(index).searcher(k + TIE_MARGIN)


@contextmanager
def open_searcher(db: DescriptorStore, k: int, *, exact_max_rows: int, min_recall: float, sample: int,
                  method: dict | None = None, ray: str | None = None) -> Iterator[tuple[dict, Searcher]]:
    """`choose_searcher`, or with `ray` (an address, "" a local Ray) the same search from index shards held by
    Ray actors (pool/knn_ray.py): the same method, measurement and lists."""
    if ray is None:
        yield choose_searcher(db, k, exact_max_rows=exact_max_rows, min_recall=min_recall, sample=sample,
                              method=method)
        return
    from myPython.pool.knn_ray import ShardedIndex

    opened: list[ShardedIndex] = []

    def sharded(factory: str | None) -> ShardedIndex:
        opened.append(ShardedIndex(db, ray or None, factory))
        return opened[-1]

    try:
        if method is None:
            if len(db) <= exact_max_rows:
                method = {"method": "exact", "recall": 1.0}
            else:
                method = _measure(db, k, min_recall, sample, sharded)
        factory = None if method["method"] == "exact" else method["factory"]
        if opened and opened[-1].factory != factory:
            opened.pop().close()  # the measured index reached no recall: exact search
        index = opened[-1] if opened else sharded(factory)
        if factory is not None:
            index.set_nprobe(method["nprobe"])
        yield method, lambda block: index.search(block, k if factory is None else k + TIE_MARGIN)
    finally:
        for index in reversed(opened):
            index.close()


class _LocalIndex:
    """A FAISS index answering as knn_ray.ShardedIndex does (search(queries, k), set_nprobe, ntotal)."""

    def __init__(self, index) -> None:
        self.index = index

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def set_nprobe(self, nprobe: int) -> None:
        from myPython.pool.search import set_search_params

        set_search_params(self.index, nprobe)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.searcher(k)(queries)

    def searcher(self, k: int) -> Searcher:
        take = min(k, max(1, self.ntotal))

        def search(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            scores, found = self.index.search(np.ascontiguousarray(block, np.float32), take)
            if take < k:
                scores = np.pad(scores, ((0, 0), (0, k - take)), constant_values=-np.inf)
                found = np.pad(found, ((0, 0), (0, k - take)), constant_values=-1)
            return scores, found

        return search


def _measure(db: DescriptorStore, k: int, min_recall: float, sample: int, open_index: Callable) -> dict:
    """The cheapest nprobe of an IVF index (`open_index(factory)`) whose recall@k on `sample` query rows reaches
    `min_recall`."""
    from myPython.pool.search import exact_knn, sample_rows

    lists = ivf_lists(len(db))
    factory = f"IVF{lists},Flat"
    queries = sample_rows(db, sample, seed=1)
    truth = exact_knn(queries, db, k)[1]
    index = open_index(factory)
    measured = []
    for nprobe in [p for p in NPROBES if p < lists] + [lists]:
        index.set_nprobe(nprobe)
        value = recall(canonical(*index.search(queries, k + TIE_MARGIN), k)[1], truth)
        measured.append([nprobe, value])
        if value >= min_recall:
            return {"method": "approximate", "factory": factory, "nprobe": nprobe, "recall": value,
                    "sample": len(queries), "measured": measured}
    return {"method": "exact", "recall": 1.0, "sample": len(queries), "measured": measured,
            "note": f"no nprobe of {factory} reached recall {min_recall}"}
