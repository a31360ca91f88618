"""The neighbour graph's kNN search from index shards held by Ray actors (`search --ray`, `group --ray`).

Each actor holds one contiguous part of the store's rows, read by itself from the store (every node reads the
store at the same path, as for the verification tasks of pool/graph_ray.py), and answers the top k of a block of
queries over its part; the driver merges the actors' lists in row order (a FAISS result heap, as exact search
merges its database blocks), so each list is the one a single machine finds:

- exact: an actor holds whole database blocks of exact search (`search.row_block_plan`: consecutive shards joined
  to DB_BLOCK rows), so every inner product comes from the same BLAS product, in the same floats, as locally;
- approximate (IVF): the driver trains the coarse quantizer once (`search.trained_index`: the sample and seed of
  a local build, saved under STORE/index/ so that a resumed build keeps it), every actor adds its shards' rows to
  a copy under their global row numbers; a query visits the same `nprobe` lists in every actor, and the actors'
  lists together are the local index's lists. The recall measurement (graph_index) runs on the actors as well.

Memory: an actor holds 4 D bytes a row of its part (float32 rows or IVF-Flat codes), the driver a block of
queries and k results per actor; a store too large for one machine's memory is searched by a cluster whose
memory holds it. Actors are spread over the nodes and run FAISS on the threads `distributed.actor_cpus` gives
each, reserving none (see ShardedIndex). A lost actor is restarted by Ray and rebuilds its part from the store
(its calls are retried).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from myPython.pool.store import DescriptorStore

PAD = -0.5 * float(np.finfo(np.float32).max)  # FAISS pads a list shorter than k with -FLT_MAX, row -1


@dataclass
class Part:
    """One actor's rows: store shards (numbers in db.shards()) in blocks, from global row `first`."""

    blocks: list[list[int]]
    first: int
    rows: int


def plan_parts(db: DescriptorStore, count: int, approximate: bool) -> list[Part]:
    """At most `count` contiguous parts of about equal rows: whole exact-search blocks, or (approximate) whole
    shards, one block each."""
    from myPython.pool.search import row_block_plan

    shards = db.shards()
    units = [[n] for n, s in enumerate(shards) if s.rows] if approximate else row_block_plan(db)
    sizes = [sum(shards[n].rows for n in unit) for unit in units]
    total = sum(sizes)
    count = max(1, min(count, len(units)))
    parts: list[Part] = []
    first = done = 0
    for unit, size in zip(units, sizes):
        if not parts or (done >= total * len(parts) / count and len(parts) < count):
            parts.append(Part([], first, 0))
        parts[-1].blocks.append(unit)
        parts[-1].rows += size
        first += size
        done += size
    return parts


class IndexShard:
    """A Ray actor: one part of the store's rows, exact blocks or an IVF index of them; answers top-k queries."""

    def __init__(self, store: DescriptorStore, part: Part, trained: bytes | None, threads: int) -> None:
        import faiss

        from myPython.pool.search import read_block

        faiss.omp_set_num_threads(max(1, threads))
        self.part = part
        self.blocks = [read_block(store, block) for block in part.blocks] if trained is None else []
        self.index = None
        if trained is not None:
            self.index = faiss.deserialize_index(np.frombuffer(trained, np.uint8))
            row = part.first
            for block in part.blocks:
                rows = read_block(store, block)
                self.index.add_with_ids(rows, np.arange(row, row + len(rows), dtype=np.int64))
                row += len(rows)

    def set_nprobe(self, nprobe: int) -> None:
        from myPython.pool.search import set_search_params

        set_search_params(self.index, nprobe)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, global rows) of the k best rows of this part for each query, best first; (-FLT_MAX, -1) pads."""
        import faiss
        from faiss.contrib.exhaustive_search import knn_ground_truth

        if self.index is not None:
            return self.index.search(queries, k)
        scores, rows = knn_ground_truth(queries, iter(self.blocks), k, faiss.METRIC_INNER_PRODUCT, ngpu=0)
        return scores, np.where(scores <= PAD, -1, rows + self.part.first)


def merge(results: list[tuple[np.ndarray, np.ndarray]], k: int, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """The k best of the parts' lists (given in row order), as one search over all rows finds them.

    Exact: merged by FAISS's result heap, as exact search merges its database blocks, so equal scores at the end
    of a list are kept as locally too. Approximate: equal scores the higher row first; which of rows scoring the
    same at the end of a list an index keeps depends on the order it scanned them, so the graph asks an index for
    graph_index.TIE_MARGIN more than it keeps (graph_index.canonical).
    """
    import faiss

    if exact:
        heap = faiss.ResultHeap(len(results[0][0]), k, keep_max=True)
        for scores, rows in results:
            heap.add_result(np.ascontiguousarray(scores, np.float32), np.ascontiguousarray(rows, np.int64))
        heap.finalize()
        scores, rows = heap.D, heap.I.copy()
    else:
        scores = np.concatenate([s for s, _ in results], 1)
        rows = np.concatenate([r for _, r in results], 1)
        order = np.lexsort((-rows, -scores), axis=1)[:, :k]
        scores, rows = np.take_along_axis(scores, order, 1), np.take_along_axis(rows, order, 1)
    rows[scores <= PAD] = -1
    return scores, rows


class ShardedIndex:
    """The store's rows spread over Ray actors (`IndexShard`); `search(queries, k)` as a FAISS index answers it.

    `factory` None: exact blocks; else an IVF factory, its quantizer trained here. Use as a context manager: the
    actors are killed at the end, and a Ray this object started is shut down.
    """

    def __init__(self, db: DescriptorStore, address: str | None, factory: str | None = None,
                 actors: int | None = None) -> None:
        from myPython.pool.distributed import actor_cpus, connect

        self.db = db.snapshot()
        self.factory = factory
        trained = None if factory is None else _trained_bytes(self.db, factory)
        self.ray, self._started = connect(address)
        try:
            cpus = max(1, int(self.ray.cluster_resources().get("CPU", 1)))
            parts = plan_parts(self.db, actors or cpus, factory is not None)
            nodes = [n["Resources"].get("CPU", 0.0) for n in self.ray.nodes() if n.get("Alive")] or [float(cpus)]
            threads = max(1, int(actor_cpus(nodes, len(parts))))
            # Reserving no CPU: an actor computes only while the driver waits for its answer, never beside the
            # verification tasks that follow each block (reserved CPUs would leave those none to run on).
            remote = self.ray.remote(IndexShard).options(num_cpus=0, scheduling_strategy="SPREAD", max_restarts=2,
                                                         max_task_retries=2)
            store = self.ray.put(self.db.portable())
            trained_ref = None if trained is None else self.ray.put(trained)
            self.actors = [remote.remote(store, part, trained_ref, threads) for part in parts]
            self._arguments = (store, trained_ref)  # held: a restarted actor is built from them again
            self.parts = parts
        except BaseException:
            self.close()
            raise

    @property
    def ntotal(self) -> int:
        return len(self.db)

    def __enter__(self) -> ShardedIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for actor in getattr(self, "actors", []):
            self.ray.kill(actor)
        self.actors = []
        if self._started:
            self.ray.shutdown()
            self._started = False

    def _call(self, method: str, *args) -> list:
        try:
            return self.ray.get([getattr(actor, method).remote(*args) for actor in self.actors])
        except self.ray.exceptions.RayError as exc:
            message = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise RuntimeError(f"the neighbour search on Ray failed: {message}") from exc

    def set_nprobe(self, nprobe: int) -> None:
        self._call("set_nprobe", nprobe)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = self.ray.put(np.ascontiguousarray(queries, np.float32))
        return merge(self._call("search", queries, k), k, self.factory is None)


def _trained_bytes(db: DescriptorStore, factory: str) -> bytes:
    """The serialised trained (empty) index of this factory, trained once and kept under STORE/index/."""
    import faiss

    from myPython.common.fileio import atomic_write_bytes
    from myPython.pool.search import trained_index, trained_path

    path = trained_path(db, factory)
    try:
        return path.read_bytes()
    except OSError:
        pass
    data = faiss.serialize_index(trained_index(db, factory)).tobytes()
    atomic_write_bytes(path, data)
    return data
