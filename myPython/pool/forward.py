"""Network forwards side by side for `embed` (pool/embed.py): one single-threaded forward a core at once."""

from __future__ import annotations

import queue
import threading
from dataclasses import replace

import numpy as np

from myPython.retrieval.extractor import DescriptorExtractor


class ParallelForward:
    """Descriptors of a batch's rows from `workers` forwards at once, each on one thread of one shared ONNX Runtime
    session (its runs are thread-safe and release the GIL), the batch split into contiguous parts: the first part in
    the calling thread, the others in `workers - 1` helper threads.

    Why: one forward on every core synchronises its threads at each layer, and the local features and decoding
    threads of the embed pipeline take turns on those cores, so a core waits for the one taken. Single-threaded
    forwards side by side keep every core busy; the descriptors are bit-identical (`with_threads`).

    The helpers are daemon threads that nothing joins: Ctrl-C reaches the calling thread (in its own forward or
    waiting for a helper's) and the process ends without waiting for a forward under way."""

    def __init__(self, extractor: DescriptorExtractor, workers: int) -> None:
        self.extractor = replace(extractor, engine=extractor.engine.with_threads(1))
        self.workers = workers
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        for n in range(workers - 1):
            threading.Thread(target=self._serve, name=f"forward-{n + 1}", daemon=True).start()

    @staticmethod
    def usable(extractor: DescriptorExtractor, workers: int) -> bool:
        return workers > 1 and hasattr(extractor.engine, "with_threads")

    def _serve(self) -> None:
        while (job := self.jobs.get()) is not None:
            rows, result, done = job
            try:
                result.append(self.extractor.describe_prepared(rows))
            except BaseException as exc:  # handed to the caller, which raises it
                result.append(exc)
            finally:
                done.set()

    def __call__(self, rows: list) -> np.ndarray:
        parts = [p for p in np.array_split(np.arange(len(rows)), min(self.workers, len(rows))) if len(p)]
        pending = []
        for part in parts[1:]:
            result: list = []
            done = threading.Event()
            self.jobs.put(([rows[i] for i in part], result, done))
            pending.append((result, done))
        out = [self.extractor.describe_prepared([rows[i] for i in parts[0]])]
        for result, done in pending:
            done.wait()
            if isinstance(result[0], BaseException):
                raise result[0]
            out.append(result[0])
        return np.concatenate(out)

    def close(self) -> None:
        for _ in range(self.workers - 1):
            self.jobs.put(None)
