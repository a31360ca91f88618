"""Geometric verification of the neighbour graph's pairs as Ray tasks (`search --ray`, `group --ray`).

`RayVerifier` answers as `graph_verify.Verifier` does (`verifier(pairs) -> int32 inliers`, `.workers`, a context
manager), with the pairs cut into batches of `graph_verify.BATCH_PAIRS`, each a Ray task that reads the store's
local features from its path (so every node must read the store at the same path, e.g. on a shared file system,
as `embed --ray` assumes for its inputs) and returns `graph_verify.inliers_of`; the driver gathers them in order.
A task's inliers do not depend on where it ran (OpenCV's RANSAC seeds its generator on every call), so the graph
is the one local workers build. Tasks keep Ray's default retries: a task whose worker or node is lost runs again
elsewhere. Each runs in a worker started with BLAS and OpenMP limited to one thread (its `runtime_env`: numpy
is loaded before a task's code runs, too late to set them there) and glibc's allocator tuned as graph_verify's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from myPython.pool.graph_verify import (
    BATCH_PAIRS,
    MALLOC_VARIABLES,
    MIN_PARALLEL_PAIRS,
    THREAD_VARIABLES,
    Verifier,
    inliers_of,
    matches_of,
)
from myPython.pool.store import DescriptorStore


def _verify_batch(store: DescriptorStore, pairs: np.ndarray, matches: bool = False):
    """One task: the batch's inliers (or, with `matches`, its inlier matches), read through the driver's snapshot
    of the store (`DescriptorStore.portable`), so the rows are the driver's whatever was committed since."""
    import cv2

    from myPython.pool.scoring import LocalFeatureIndex

    cv2.setNumThreads(1)
    features = LocalFeatureIndex(store)
    return matches_of(pairs, features) if matches else inliers_of(pairs, features)


class RayVerifier:
    """Inliers of pairs of one store's rows, on Ray; use as a context manager.

    `address` as `embed --ray` takes it: None for a local Ray (the cluster of RAY_ADDRESS when set), else a
    cluster's address or "auto". Ray starts on the first call with at least `min_parallel` pairs (default
    MIN_PARALLEL_PAIRS; fewer are verified in this process). A Ray this verifier started is shut down when the
    context ends; one already running (`ray.init` by the caller) is left as it is. `workers`: the cluster's CPUs
    once connected, else 1.
    """

    def __init__(self, store: DescriptorStore, address: str | None = None, batch: int = BATCH_PAIRS,
                 min_parallel: int | None = None) -> None:
        from myPython.pool.scoring import LocalFeatureIndex

        self.store = store.snapshot()
        self.address = address
        self.batch = max(1, batch)
        self.min_parallel = MIN_PARALLEL_PAIRS if min_parallel is None else min_parallel
        self.local = LocalFeatureIndex(self.store)
        self.workers = 1
        self._ray = None
        self._started = False
        self._task = None
        self._snapshot = None

    def __enter__(self) -> RayVerifier:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
        self._ray, self._started, self._task, self._snapshot = None, False, None, None

    def _connect(self):
        if self._ray is None:
            from myPython.pool.distributed import connect

            self._ray, self._started = connect(self.address)
            self.workers = max(1, int(self._ray.cluster_resources().get("CPU", 1)))
            env = {**{name: "1" for name in THREAD_VARIABLES}, **MALLOC_VARIABLES}
            self._task = self._ray.remote(_verify_batch).options(num_cpus=1, runtime_env={"env_vars": env})
            self._snapshot = self._ray.put(self.store.portable())  # a worker's directory is not the driver's
        return self._ray

    def __call__(self, pairs: Sequence[tuple[int, int]] | np.ndarray) -> np.ndarray:
        """int32 inliers of each pair, in order; a pair is verified with its lower row first."""
        pairs = np.sort(np.asarray(pairs, np.int64).reshape(-1, 2), axis=1)
        if len(pairs) < self.min_parallel:
            return inliers_of(pairs, self.local)
        results = self._run(pairs, False)
        return np.concatenate(results) if results else np.zeros(0, np.int32)

    def matches(self, pairs: Sequence[tuple[int, int]] | np.ndarray) -> list:
        """The inlier matches of each (lower row, higher row) pair, in order (graph_verify.matches_of)."""
        pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
        if len(pairs) < self.min_parallel:
            return matches_of(pairs, self.local)
        return [m for batch in self._run(pairs, True) for m in batch]

    def _run(self, pairs: np.ndarray, matches: bool) -> list:
        ray = self._connect()
        try:
            return ray.get([self._task.remote(self._snapshot, pairs[i : i + self.batch], matches)
                            for i in range(0, len(pairs), self.batch)])
        except ray.exceptions.RayError as exc:
            message = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise RuntimeError(f"verification on Ray failed: {message}") from exc


def graph_verifier(store: DescriptorStore, workers: int | None, ray: str | None) -> Verifier | RayVerifier:
    """The neighbour graph's verifier: `workers` local processes when `ray` is None, else Ray at the address `ray`
    ("" a local Ray, as `embed --ray` takes it)."""
    return Verifier(store, workers) if ray is None else RayVerifier(store, ray or None)
