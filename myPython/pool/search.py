"""Nearest neighbours over a descriptor store with FAISS, and the mapped file format.

Exact search streams the database shard by shard (memory: one shard plus
one block of queries). Approximate indexes are built from a FAISS factory
string ("IVF1024,Flat", "IVF1024,PQ64", "HNSW32", ...), trained on a sample,
saved next to the store and reloaded. Every verb works on a snapshot of the
committed shards, so an embed run adding shards meanwhile changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from myPython.common.fileio import atomic_open, atomic_write_with
from myPython.common.ids import check_id
from myPython.pool.store import DescriptorStore

if TYPE_CHECKING:
    from myPython.pool.scoring import ScoreOptions

Neighbours = list[tuple[str, float]]
QUERY_BLOCK = 4096
DB_BLOCK = 32768  # rows of the database compared at once by exact search
DEFAULT_NPROBE = 32  # inverted lists visited per query (IVF), unless given
DEFAULT_EF_SEARCH = 64  # HNSW candidate list length, unless given


# ---- mapped format ---------------------------------------------------------
# Ids are written as they are: they are escaped when made (common.ids), so an id is one token without
# spaces, tabs or newlines, and ':' before the score is found from the right.
def format_mapped_line(query: str, neighbours: Neighbours) -> str:
    """`<query>\\t<id>:<score> <id>:<score> ...`, best first, 4 decimals."""
    items = " ".join(f"{i}:{s:.4f}" for i, s in neighbours)
    if not items.isprintable() or items.count(" ") != max(len(neighbours) - 1, 0):  # cheap; then say which
        for ident, _ in neighbours:
            check_id(ident)
    return f"{check_id(query)}\t{items}"


def parse_mapped_line(line: str) -> tuple[str, Neighbours]:
    query, _, rest = line.rstrip("\n").partition("\t")
    out = []
    for token in rest.split(" "):
        if token:
            ident, _, score = token.rpartition(":")
            out.append((ident, float(score)))
    return query, out


def write_mapped(path: str | os.PathLike, results: Iterator[tuple[str, Neighbours]]) -> int:
    """Write results atomically, line by line as they come; returns the number of lines."""
    count = 0
    with atomic_open(Path(path), "w", encoding="utf-8") as handle:
        for query, neighbours in results:
            handle.write(format_mapped_line(query, neighbours) + "\n")
            count += 1
    return count


def read_mapped(path: str | os.PathLike) -> dict[str, Neighbours]:
    with open(path, encoding="utf-8", newline="\n") as handle:
        return dict(parse_mapped_line(line) for line in handle if line.strip())


# ---- exact search, streamed over shards ------------------------------------
def exact_knn(queries: np.ndarray, db: DescriptorStore, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k inner products of queries against every row of the store (global row numbers; -1: none).

    Consecutive shards are read into blocks of about DB_BLOCK rows, one block in memory at a time, and
    merged in a result heap (faiss.contrib's streamed ground truth).
    """
    import faiss
    from faiss.contrib.exhaustive_search import knn_ground_truth

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    scores, index = knn_ground_truth(queries, _row_blocks(db, DB_BLOCK), k, faiss.METRIC_INNER_PRODUCT, ngpu=0)
    # A block smaller than k pads with (-FLT_MAX, -1) and the offset shifts those -1; put them back.
    index[scores <= -0.5 * np.finfo(np.float32).max] = -1
    return scores, index


def row_block_plan(db: DescriptorStore, size: int | None = None) -> list[list[int]]:
    """Exact search's database blocks: the numbers of the consecutive non-empty shards joined into each block of
    >= size rows (but the last). Whoever compares queries with the same blocks gets the same floats (BLAS sums
    depend on the shapes of the products): a graph's extension, the index shards of pool/knn_ray.py."""
    size = DB_BLOCK if size is None else size
    plan: list[list[int]] = [[]]
    count = 0
    for number, shard in enumerate(db.shards()):
        if shard.rows:
            plan[-1].append(number)
            count += shard.rows
        if count >= size:
            plan.append([])
            count = 0
    return [block for block in plan if block]


def read_block(db: DescriptorStore, shards: list[int]) -> np.ndarray:
    """The float32 rows of these shards (numbers in db.shards()), joined."""
    listed = db.shards()
    parts = [listed[n].vectors() for n in shards]
    return np.ascontiguousarray(np.concatenate(parts) if len(parts) > 1 else parts[0], dtype=np.float32)


def _row_blocks(db: DescriptorStore, size: int) -> Iterator[np.ndarray]:
    """The store's rows in order, in the blocks of `row_block_plan`."""
    for block in row_block_plan(db, size):
        yield read_block(db, block)


# ---- approximate indexes ---------------------------------------------------
def _index_state(db: DescriptorStore, factory: str) -> dict:
    return {"factory": factory, "shards": [(s.name, s.rows) for s in db.shards()]}


def _index_stem(factory: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", factory)


def index_path(db: DescriptorStore, factory: str) -> Path:
    """Where the index of these shards built with this factory string is saved."""
    digest = hashlib.sha256(json.dumps(_index_state(db, factory)).encode()).hexdigest()[:12]
    return db.root / "index" / f"{_index_stem(factory)}.{digest}.faiss"


def trained_path(db: DescriptorStore, factory: str) -> Path:
    """Where the trained, empty index of these shards is kept while Ray actors fill copies of it (pool/knn_ray.py)."""
    path = index_path(db, factory)
    return path.with_name(path.name[: -len(".faiss")] + ".trained.faiss")


def sample_rows(db: DescriptorStore, count: int, seed: int = 0) -> np.ndarray:
    """A uniform sample of rows, read shard by shard."""
    shards = db.shards()
    total = sum(s.rows for s in shards)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(total, size=min(count, total), replace=False))
    out, offset = [], 0
    for shard in shards:
        local = chosen[(chosen >= offset) & (chosen < offset + shard.rows)] - offset
        if len(local):
            out.append(np.asarray(shard.vectors()[local], dtype=np.float32))
        offset += shard.rows
    return np.concatenate(out) if out else np.zeros((0, db.dim), np.float32)


def trained_index(db: DescriptorStore, factory: str, *, train_size: int = 100_000, seed: int = 0):
    """An empty FAISS index of this factory, trained on a uniform sample of `train_size` rows (seeded)."""
    import faiss

    index = faiss.index_factory(db.dim, factory, faiss.METRIC_INNER_PRODUCT)
    # The factory turns on polysemous training for PQ codes: minutes of training for Hamming
    # filtering that search never uses.
    ivf = faiss.try_extract_index_ivf(index)
    for part in (index, faiss.downcast_index(ivf) if ivf is not None else None):
        if hasattr(part, "do_polysemous_training"):
            part.do_polysemous_training = False
    if not index.is_trained:
        index.train(sample_rows(db, train_size, seed))
    return index


def build_index(db: DescriptorStore, factory: str, *, train_size: int = 100_000, seed: int = 0):
    """Build (or load, when saved for the same shards) a FAISS index of the store.

    The file name holds a digest of the shard list, so concurrent builders of
    different snapshots never mix files; older builds of the factory are removed.
    """
    import faiss

    db = db.snapshot()
    path = index_path(db, factory)
    try:
        return faiss.read_index(str(path))
    except RuntimeError:  # not built yet (or removed by a newer build meanwhile)
        pass
    index = trained_index(db, factory, train_size=train_size, seed=seed)
    for shard in db.shards():
        index.add(np.ascontiguousarray(shard.vectors(), dtype=np.float32))
    atomic_write_with(path, lambda tmp: faiss.write_index(index, str(tmp)))
    stale = re.compile(re.escape(_index_stem(factory)) + r"\.[0-9a-f]{12}\.faiss")
    for old in path.parent.iterdir():
        if old != path and stale.fullmatch(old.name):
            old.unlink(missing_ok=True)
    return index


def set_search_params(index, nprobe: int | None = None, ef_search: int | None = None) -> None:
    """nprobe of IVF indexes and efSearch of HNSW ones (also under a pre-transform such as OPQ)."""
    import faiss

    space = faiss.ParameterSpace()
    for name, value in (("nprobe", nprobe), ("efSearch", ef_search)):
        if value is not None:
            try:
                space.set_index_parameter(index, name, value)
            except RuntimeError:  # the index has no such parameter
                pass


# ---- the search verb -------------------------------------------------------
@dataclass
class SearchOptions:
    top_k: int = 10
    threshold: float | None = None
    factory: str = "Flat"  # "Flat" = exact, streamed over shards
    nprobe: int | None = None
    ef_search: int | None = None
    score: ScoreOptions | None = None  # the fused, verified score (pool/scoring.py); None: plain cosine


def _knn_blocks(db: DescriptorStore, source: DescriptorStore, k: int, options: SearchOptions
                ) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
    """(query ids, scores, db row numbers) per block of query rows; rows are -1 where none was found."""
    index = None
    if options.factory != "Flat":
        index = build_index(db, options.factory)
        set_search_params(index, options.nprobe or DEFAULT_NPROBE, options.ef_search or max(DEFAULT_EF_SEARCH, k))
    for query_ids, block in _query_blocks(source):
        if index is None:
            yield query_ids, *exact_knn(block, db, k)
        else:
            yield query_ids, *index.search(block, min(k, max(1, index.ntotal)))


def search(db: DescriptorStore, queries: DescriptorStore | None, options: SearchOptions
           ) -> Iterator[tuple[str, Neighbours]]:
    """Yield (query id, neighbours) for every query row; a query never lists itself."""
    same = queries is None or Path(queries.root).resolve() == Path(db.root).resolve()
    db = db.snapshot()
    source = db if same else queries.snapshot()
    if source.dim != db.dim:
        raise ValueError(f"queries have dimension {source.dim}, the database {db.dim}")
    db_ids = [i for shard in db.shards() for i in shard.ids()]
    k = options.top_k + (1 if same else 0)
    if options.score is not None and options.score.fusion is not None:
        from myPython.pool.scoring import scored_knn_blocks

        blocks = scored_knn_blocks(db, db if same else source, k, options.score, options)
    else:
        blocks = _knn_blocks(db, source, k, options)
    for query_ids, scores, found in blocks:
        for qid, srow, irow in zip(query_ids, scores, found):
            neighbours = []
            for s, i in zip(srow, irow):
                if i < 0 or (same and db_ids[i] == qid):
                    continue
                if options.threshold is not None and s < options.threshold:
                    break
                neighbours.append((db_ids[i], float(s)))
            yield qid, neighbours[: options.top_k]


def _query_blocks(store: DescriptorStore) -> Iterator[tuple[list[str], np.ndarray]]:
    """(ids, rows) in blocks of QUERY_BLOCK rows, across shard boundaries (small shards share a block)."""
    ids: list[str] = []
    parts: list[np.ndarray] = []
    for chunk_ids, rows in store.iter_chunks():
        start = 0
        while start < len(rows):
            take = min(QUERY_BLOCK - len(ids), len(rows) - start)
            ids.extend(chunk_ids[start : start + take])
            parts.append(rows[start : start + take])
            start += take
            if len(ids) == QUERY_BLOCK:
                yield ids, np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
                ids, parts = [], []
    if ids:
        yield ids, np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
