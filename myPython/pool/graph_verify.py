"""Geometric verification of many pairs on all cores, for the neighbour graph (pool/knn_graph.py).

Pairs go in batches to worker processes, one per core (`python -m myPython.pool.graph_verify`, talking pickles
over pipes: unlike multiprocessing's spawn, nothing re-runs the caller's main script), each started with BLAS and
OpenMP limited to one thread in its environment, so the limit holds before numpy loads there; results come back
batch by batch, in order. A pair's inliers are `verify(features[low row], features[high row]).inliers`, as
`scoring.verified_inliers` computes them (0 where a side has no local features), so the result does not depend
on the number of workers: OpenCV's RANSAC seeds its generator on every call.
"""

from __future__ import annotations

import os
import pickle
import selectors
import subprocess
import sys
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from myPython.pool.store import DescriptorStore

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS")
# glibc returns every freed block over 128 KB to the kernel and faults it in again on the next call: a pair's
# distance matrices (0.5 MB each) then cost as much system time as the matching itself (measured x2.4 per pair)
MALLOC_VARIABLES = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(128 << 20)}
BATCH_PAIRS = 64  # pairs per message to a worker (about 1 s of work)
IN_FLIGHT = 2  # batches queued per worker, so that none waits for the next
MIN_PARALLEL_PAIRS = 256  # fewer pairs are verified in this process: starting workers costs more


def inliers_of(pairs: np.ndarray, features) -> np.ndarray:
    """int32 inliers of each (low row, high row) pair of `pairs` (m x 2), features from a LocalFeatureIndex."""
    from myPython.pool.verify import verify

    out = np.zeros(len(pairs), np.int32)
    for n, (a, b) in enumerate(np.asarray(pairs, np.int64).tolist()):
        fa, fb = features[a], features[b]
        out[n] = verify(fa, fb).inliers if fa is not None and fb is not None else 0
    return out


def _send(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(8, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd: int) -> object:
    """One message (8-byte length, then a pickle), read with os.read: no buffer holds a next message unseen."""
    def exactly(n: int) -> bytes:
        chunks = []
        while n:
            chunk = os.read(fd, n)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    return pickle.loads(exactly(int.from_bytes(exactly(8), "little")))


def matches_of(pairs: np.ndarray, features) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each pair's inlier matches as `shared_content.effective_inliers` takes them (A's keypoints, B's, in place)."""
    from myPython.pool.shared_content import feature_matches

    match = feature_matches(features.__getitem__)
    return [match(a, b) for a, b in np.asarray(pairs, np.int64).tolist()]


def _serve() -> None:
    """A worker: the store (`DescriptorStore.portable`), then batches until None, one reply per batch: a batch of
    pairs gets their inliers, ("matches", pairs) their inlier matches."""
    import cv2

    from myPython.pool.scoring import LocalFeatureIndex

    cv2.setNumThreads(1)
    source, replies = sys.stdin.fileno(), os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the reply pipe carries replies only
    features = LocalFeatureIndex(_receive(source))
    try:
        while (batch := _receive(source)) is not None:
            if isinstance(batch, tuple):
                _send(replies, matches_of(batch[1], features))
            else:
                _send(replies, inliers_of(batch, features))
    except EOFError:  # the parent went away
        pass


class Verifier:
    """Inliers of pairs of one store's rows, on `workers` processes (None: every core); use as a context manager.

    The workers start on the first call with at least `min_parallel` pairs (fewer are verified in this process)
    and live until the context ends.
    """

    def __init__(self, store: DescriptorStore, workers: int | None = None, batch: int = BATCH_PAIRS,
                 min_parallel: int = MIN_PARALLEL_PAIRS) -> None:
        from myPython.pool.scoring import LocalFeatureIndex

        self.store = store.snapshot()
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.batch = max(1, batch)
        self.min_parallel = min_parallel
        self.local = LocalFeatureIndex(self.store)
        self._procs: list[subprocess.Popen] = []

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for proc in self._procs:
            try:
                _send(proc.stdin.fileno(), None)
                proc.stdin.close()
            except OSError:
                pass
        for proc in self._procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        self._procs = []

    def _start(self) -> list[subprocess.Popen]:
        if not self._procs:
            env = {**os.environ, **{name: "1" for name in THREAD_VARIABLES}, **MALLOC_VARIABLES}
            package_root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
            for _ in range(self.workers):
                proc = subprocess.Popen([sys.executable, "-m", "myPython.pool.graph_verify"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env, bufsize=0)
                self._procs.append(proc)
                _send(proc.stdin.fileno(), self.store.portable())
        return self._procs

    def __call__(self, pairs: Sequence[tuple[int, int]] | np.ndarray) -> np.ndarray:
        """int32 inliers of each pair, in order; a pair is verified with its lower row first."""
        pairs = np.sort(np.asarray(pairs, np.int64).reshape(-1, 2), axis=1)
        if len(pairs) < self.min_parallel:  # one worker is worth it too: one BLAS thread, no page faults
            return inliers_of(pairs, self.local)
        results = self._run(pairs, lambda batch: batch)
        return np.concatenate(results) if results else np.zeros(0, np.int32)

    def matches(self, pairs: Sequence[tuple[int, int]] | np.ndarray) -> list:
        """The inlier matches of each (lower row, higher row) pair, in order (`matches_of`)."""
        pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
        if len(pairs) < self.min_parallel:
            return matches_of(pairs, self.local)
        return [m for batch in self._run(pairs, lambda batch: ("matches", batch)) for m in batch]

    def _run(self, pairs: np.ndarray, message) -> list:
        """The workers' replies to `message(batch)` for every batch of `pairs`, in order."""
        batches = deque(enumerate(pairs[i : i + self.batch] for i in range(0, len(pairs), self.batch)))
        results: list = [None] * len(batches)
        procs = self._start()
        queued: dict[int, deque] = {n: deque() for n in range(len(procs))}
        with selectors.DefaultSelector() as selector:
            for n, proc in enumerate(procs):
                selector.register(proc.stdout, selectors.EVENT_READ, n)

            def feed(n: int) -> None:
                while batches and len(queued[n]) < IN_FLIGHT:
                    number, batch = batches.popleft()
                    _send(procs[n].stdin.fileno(), message(batch))
                    queued[n].append(number)

            for n in range(len(procs)):
                feed(n)
            while any(queued.values()):
                for key, _ in selector.select():
                    n = key.data
                    try:
                        results[queued[n].popleft()] = _receive(procs[n].stdout.fileno())
                    except (EOFError, pickle.UnpicklingError):
                        raise RuntimeError(f"verification worker {procs[n].pid} stopped (exit {procs[n].poll()})"
                                           ) from None
                    feed(n)
        return results


if __name__ == "__main__":
    _serve()
