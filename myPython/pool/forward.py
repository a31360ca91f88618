"""Network forwards side by side for `embed` (pool/embed.py): one single-threaded forward a core at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from myPython.retrieval.extractor import DescriptorExtractor


class ParallelForward:
    """Descriptors of a batch's rows from `workers` forwards at once, each on one thread of one shared ONNX Runtime
    session (its runs are thread-safe and release the GIL), the batch split into contiguous parts.

    Why: one forward on every core synchronises its threads at each layer, and the local features and decoding
    threads of the embed pipeline take turns on those cores, so a core waits for the one taken. Single-threaded
    forwards side by side keep every core busy; the descriptors are bit-identical (`with_threads`)."""

    def __init__(self, extractor: DescriptorExtractor, workers: int) -> None:
        self.extractor = replace(extractor, engine=extractor.engine.with_threads(1))
        self.workers = workers
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="forward")

    @staticmethod
    def usable(extractor: DescriptorExtractor, workers: int) -> bool:
        return workers > 1 and hasattr(extractor.engine, "with_threads")

    def __call__(self, rows: list) -> np.ndarray:
        parts = [p for p in np.array_split(np.arange(len(rows)), min(self.workers, len(rows))) if len(p)]
        futures = [self.pool.submit(self.extractor.describe_prepared, [rows[i] for i in p]) for p in parts]
        return np.concatenate([f.result() for f in futures])

    def close(self) -> None:
        self.pool.shutdown(wait=True)
