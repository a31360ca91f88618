"""Nearest neighbours over a descriptor store with FAISS, the mapped file format, same-origin groups.

Exact search streams the database shard by shard (memory: one shard plus
one block of queries). Approximate indexes are built from a FAISS factory
string ("IVF1024,Flat", "IVF1024,PQ64", "HNSW32", ...), trained on a sample,
saved next to the store and reloaded.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .store import DescriptorStore, atomic_write_text

Neighbours = list[tuple[str, float]]
QUERY_BLOCK = 4096


# ---- mapped format ---------------------------------------------------------
def _escape(text: str) -> str:
    return text.replace("%", "%25").replace(" ", "%20").replace("\t", "%09").replace("\n", "%0A")


def _unescape(text: str) -> str:
    return text.replace("%0A", "\n").replace("%09", "\t").replace("%20", " ").replace("%25", "%")


def format_mapped_line(query: str, neighbours: Neighbours) -> str:
    """`<query>\\t<id>:<score> <id>:<score> ...`, best first, 4 decimals."""
    items = " ".join(f"{_escape(i)}:{s:.4f}" for i, s in neighbours)
    return f"{_escape(query)}\t{items}"


def parse_mapped_line(line: str) -> tuple[str, Neighbours]:
    query, _, rest = line.rstrip("\n").partition("\t")
    out = []
    for token in rest.split():
        ident, _, score = token.rpartition(":")
        out.append((_unescape(ident), float(score)))
    return _unescape(query), out


def write_mapped(path: str | os.PathLike, results: Iterator[tuple[str, Neighbours]]) -> int:
    """Write results atomically; returns the number of lines."""
    lines = [format_mapped_line(q, n) for q, n in results]
    atomic_write_text(Path(path), "".join(line + "\n" for line in lines))
    return len(lines)


def read_mapped(path: str | os.PathLike) -> dict[str, Neighbours]:
    with open(path, encoding="utf-8") as handle:
        return dict(parse_mapped_line(line) for line in handle if line.strip())


# ---- exact search, streamed over shards ------------------------------------
def _merge_topk(scores: np.ndarray, index: np.ndarray, new_scores: np.ndarray, new_index: np.ndarray,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    s = np.concatenate([scores, new_scores], axis=1)
    i = np.concatenate([index, new_index], axis=1)
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, order, 1), np.take_along_axis(i, order, 1)


def exact_knn(queries: np.ndarray, db: DescriptorStore, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k inner products of queries against every row of the store (global row numbers)."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    index = np.zeros((len(queries), 0), dtype=np.int64)
    offset = 0
    for shard in db.shards():
        rows = np.ascontiguousarray(shard.vectors(), dtype=np.float32)
        if len(rows):
            kk = min(k, len(rows))
            s, i = faiss.knn(queries, rows, kk, metric=faiss.METRIC_INNER_PRODUCT)
            scores, index = _merge_topk(scores, index, s, i + offset, k)
        offset += shard.rows
    return scores, index


# ---- approximate indexes ---------------------------------------------------
def index_path(db: DescriptorStore, factory: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", factory)
    return db.root / "index" / f"{safe}.faiss"


def sample_rows(db: DescriptorStore, count: int, seed: int = 0) -> np.ndarray:
    """A uniform sample of rows, read shard by shard."""
    total = len(db)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(total, size=min(count, total), replace=False))
    out, offset = [], 0
    for shard in db.shards():
        local = chosen[(chosen >= offset) & (chosen < offset + shard.rows)] - offset
        if len(local):
            out.append(np.asarray(shard.vectors()[local], dtype=np.float32))
        offset += shard.rows
    return np.concatenate(out) if out else np.zeros((0, db.dim), np.float32)


def build_index(db: DescriptorStore, factory: str, *, train_size: int = 100_000, seed: int = 0):
    """Build (or load, when up to date) a FAISS index of the store."""
    import faiss

    path = index_path(db, factory)
    info_path = path.with_suffix(".json")
    state = {"factory": factory, "shards": [(s.name, s.rows) for s in db.shards()]}
    if path.exists() and info_path.exists() and json.loads(info_path.read_text()) == state:
        return faiss.read_index(str(path))
    index = faiss.index_factory(db.dim, factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        index.train(sample_rows(db, train_size, seed))
    for shard in db.shards():
        index.add(np.ascontiguousarray(shard.vectors(), dtype=np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    faiss.write_index(index, str(tmp))
    os.replace(tmp, path)
    atomic_write_text(info_path, json.dumps(state))
    return index


def set_search_params(index, nprobe: int | None = None, ef_search: int | None = None) -> None:
    import faiss

    if nprobe is not None:
        try:
            faiss.extract_index_ivf(index).nprobe = nprobe
        except RuntimeError:
            pass
    if ef_search is not None and hasattr(index, "hnsw"):
        index.hnsw.efSearch = ef_search


# ---- the search verb -------------------------------------------------------
@dataclass
class SearchOptions:
    top_k: int = 10
    threshold: float | None = None
    factory: str = "Flat"  # "Flat" = exact, streamed over shards
    nprobe: int | None = None
    ef_search: int | None = None


def search(db: DescriptorStore, queries: DescriptorStore | None, options: SearchOptions
           ) -> Iterator[tuple[str, Neighbours]]:
    """Yield (query id, neighbours) for every query row; a query never lists itself."""
    same = queries is None or Path(queries.root).resolve() == Path(db.root).resolve()
    source = db if same else queries
    if source.dim != db.dim:
        raise ValueError(f"queries have dimension {source.dim}, the database {db.dim}")
    db_ids = [i for shard in db.shards() for i in shard.ids()]
    k = options.top_k + (1 if same else 0)
    index = None
    if options.factory != "Flat":
        index = build_index(db, options.factory)
        set_search_params(index, options.nprobe, options.ef_search)
    for query_ids, rows in source.iter_chunks():
        for start in range(0, len(rows), QUERY_BLOCK):
            block = np.ascontiguousarray(rows[start : start + QUERY_BLOCK])
            if index is None:
                scores, found = exact_knn(block, db, k)
            else:
                scores, found = index.search(block, min(k, max(1, index.ntotal)))
            for qi, (srow, irow) in enumerate(zip(scores, found)):
                qid = query_ids[start + qi]
                neighbours = []
                for s, i in zip(srow, irow):
                    if i < 0 or (same and db_ids[i] == qid):
                        continue
                    if options.threshold is not None and s < options.threshold:
                        break
                    neighbours.append((db_ids[i], float(s)))
                yield qid, neighbours[: options.top_k]


# ---- same-origin groups ----------------------------------------------------
class UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = np.arange(size)

    def find(self, a: int) -> int:
        root = a
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[a] != root:
            self.parent[a], a = root, self.parent[a]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def find_groups(db: DescriptorStore, threshold: float, *, neighbours: int = 50, factory: str = "Flat",
                min_size: int = 2) -> list[list[str]]:
    """Connected components of the pairs scoring >= threshold among each row's nearest neighbours.

    Memory is one shard plus the union-find array; no N x N matrix is formed.
    """
    ids = [i for shard in db.shards() for i in shard.ids()]
    position = {ident: n for n, ident in enumerate(ids)}
    uf = UnionFind(len(ids))
    options = SearchOptions(top_k=neighbours, threshold=threshold, factory=factory)
    for qid, found in search(db, None, options):
        a = position[qid]
        for other, _ in found:
            uf.union(a, position[other])
    members: dict[int, list[str]] = {}
    for n, ident in enumerate(ids):
        members.setdefault(uf.find(n), []).append(ident)
    groups = [m for m in members.values() if len(m) >= min_size]
    groups.sort(key=lambda m: (-len(m), m[0]))
    return groups
