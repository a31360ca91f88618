"""The alignment of `match-videos`' candidate pairs as Ray tasks (`match-videos --ray`, `group --videos --ray`).

`RayAligner` is an `Aligner` (pool/video_match.py): the driver finds the candidate pairs as always (the store's
neighbour graph or a frame search), then cuts them, in order, into batches of about ALIGN_BATCH pairs that never
split a query video's pairs; each batch is a Ray task that opens the stores from their paths through the driver's
snapshot (so every node must read them at the same paths, as `embed --ray` assumes for its inputs), runs
`video_match.align_candidates` on its pairs and returns their matches. A pair's segments depend on that pair
alone and OpenCV's RANSAC seeds its generator on every call, so the matches are those of a local run, in the same
order. Tasks keep Ray's default retries (a lost worker's task runs again elsewhere), run with BLAS and OpenMP
limited to one thread each (graph_verify's settings), and a worker keeps the last stores' video index
(`VideoRows`: one pass over the ids) for the tasks that follow.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

import numpy as np

from myPython.pool.graph_verify import MALLOC_VARIABLES, THREAD_VARIABLES
from myPython.pool.store import DescriptorStore
from myPython.pool.video_match import MatchOptions, VideoMatch, VideoRows, align_candidates

ALIGN_BATCH = 64  # candidate pairs a task aligns (a few seconds of work with verification)

_rows_cache: dict[tuple, VideoRows] = {}  # per worker process: the stores of the current run


def _video_rows(store: DescriptorStore) -> VideoRows:
    key = (str(store.root), tuple((s.name, s.rows) for s in store.shards()))
    if key not in _rows_cache:
        if len(_rows_cache) >= 2:
            _rows_cache.clear()
        _rows_cache[key] = VideoRows(store)
    return _rows_cache[key]


def _align_batch(stores: tuple, backgrounds: tuple, pairs: list[tuple[int, int, float]], options: MatchOptions
                 ) -> list[VideoMatch]:
    """One task: the matches of its pairs (stores: the db's `portable` snapshot and the queries', None for the db
    itself)."""
    import cv2

    cv2.setNumThreads(1)
    db_store, q_store = stores
    db_rows = _video_rows(db_store)
    q_rows = db_rows if q_store is None else _video_rows(q_store)
    q_bg, db_bg = backgrounds
    return list(align_candidates(q_rows, db_rows, q_bg, db_bg, pairs, options))


def batches(pairs: Sequence[tuple[int, int, float]], size: int) -> list[list[tuple[int, int, float]]]:
    """`pairs` cut in order into runs of at least `size` pairs (the last may be shorter), a query video's pairs
    never split (a task reads each query video once)."""
    out: list[list] = []
    run: list = []
    for pair in pairs:
        if len(run) >= size and pair[0] != run[-1][0]:
            out.append(run)
            run = []
        run.append(pair)
    if run:
        out.append(run)
    return out


class RayAligner:
    """Aligns candidate pairs on Ray; `address` as `embed --ray` takes it (None: a local Ray, or the cluster of
    RAY_ADDRESS). A Ray this aligner started is shut down after the run; one already running is left as it is."""

    def __init__(self, address: str | None = None, batch: int = ALIGN_BATCH) -> None:
        self.address = address
        self.batch = max(1, batch)

    def __call__(self, q_rows: VideoRows, db_rows: VideoRows, q_bg: np.ndarray, db_bg: np.ndarray,
                 pairs: Sequence[tuple[int, int, float]], options: MatchOptions, progress: bool = False
                 ) -> Iterator[VideoMatch]:
        from tqdm import tqdm

        from myPython.pool.distributed import connect

        work = batches(pairs, self.batch)
        if not work:
            return
        ray, started = connect(self.address)
        try:
            env = {**{name: "1" for name in THREAD_VARIABLES}, **MALLOC_VARIABLES}
            task = ray.remote(_align_batch).options(num_cpus=1, runtime_env={"env_vars": env})
            stores = ray.put((db_rows.store.portable(), None if q_rows is db_rows else q_rows.store.portable()))
            backgrounds = ray.put((q_bg, db_bg))
            refs = [task.remote(stores, backgrounds, run, options) for run in work]
            with tqdm(total=len(pairs), desc="pairs aligned", unit="pair", disable=not progress,
                      file=sys.stderr) as bar:
                for ref, run in zip(refs, work):  # in order: the matches of a local run
                    try:
                        matches = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        message = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
                        raise RuntimeError(f"video alignment on Ray failed: {message}") from exc
                    bar.update(len(run))
                    yield from matches
        finally:
            if started:
                ray.shutdown()
