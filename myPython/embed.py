"""Batch embedding of images and video frames into a descriptor store.

Decoding runs in worker threads (OpenCV and FFmpeg release the GIL) and
feeds the network in batches, so the network does not wait on decoding.
Rows are committed shard by shard; every input is embedded exactly once
across restarts (see store.py).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .descriptor import DescriptorExtractor
from .images import InputError, load_image
from .inputs import InputItem
from .store import DescriptorStore
from .video import frame_id, read_frames


def default_workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


@dataclass
class EmbedOptions:
    fps: float = 1.0
    batch: int = 8
    shard_size: int = 4096
    workers: int = field(default_factory=default_workers)
    max_frames: int | None = None  # per video
    shard_prefix: str = "shard"


@dataclass
class Decoded:
    item: InputItem
    rows: list[tuple[str, np.ndarray]]  # (row id, BGR image)
    skipped: str | None = None  # reason the whole input was skipped
    warning: str | None = None  # problem that still left usable rows


@dataclass
class EmbedReport:
    inputs: int = 0
    already_done: int = 0
    embedded_inputs: int = 0
    rows: int = 0
    shards: int = 0
    skipped: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        return (f"{self.embedded_inputs} input(s) embedded into {self.rows} row(s) in {self.shards} shard(s) "
                f"({rate:.1f} rows/s); {self.already_done} already done; {len(self.skipped)} skipped; "
                f"{len(self.warnings)} warning(s)")


def decode_item(item: InputItem, options: EmbedOptions) -> Decoded:
    """Decode one input into its rows; bad input becomes a skip reason, never an exception."""
    try:
        if item.kind == "image":
            return Decoded(item, [(item.key, load_image(item.path))])
        frames, problem = read_frames(item.path, options.fps, options.max_frames)
        rows = [(frame_id(item.key, f.time), f.image) for f in frames]
        return Decoded(item, rows, warning=problem)
    except InputError as exc:
        return Decoded(item, [], skipped=str(exc))
    except Exception as exc:  # a decoder bug must not end the batch job
        return Decoded(item, [], skipped=f"{item.path}: {type(exc).__name__}: {exc}")


def decoded_stream(items: list[InputItem], options: EmbedOptions) -> Iterator[Decoded]:
    """Decode in worker threads, keeping a bounded window of work in flight, in input order."""
    if options.workers <= 0:
        for item in items:
            yield decode_item(item, options)
        return
    window = max(2, options.workers * 2)
    with ThreadPoolExecutor(options.workers, thread_name_prefix="decode") as pool:
        pending: deque = deque()
        it = iter(items)
        for item in it:
            pending.append(pool.submit(decode_item, item, options))
            if len(pending) >= window:
                break
        while pending:
            done = pending.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(decode_item, nxt, options))
            yield done


class ShardWriter:
    """Buffers whole inputs and their rows; commits a shard when it is full."""

    def __init__(self, store: DescriptorStore, extractor: DescriptorExtractor, options: EmbedOptions,
                 report: EmbedReport) -> None:
        self.store, self.extractor, self.options, self.report = store, extractor, options, report
        self.ids: list[str] = []
        self.vectors: list[np.ndarray] = []
        self.inputs: list[str] = []
        self.skipped: list[dict] = []
        self.pending: list[tuple[str, np.ndarray]] = []  # rows waiting for the network

    def add(self, decoded: Decoded) -> None:
        if decoded.skipped:
            entry = {"input": decoded.item.key, "reason": decoded.skipped}
            self.skipped.append(entry)
            self.report.skipped.append(entry)
            return
        if decoded.warning:
            self.report.warnings.append({"input": decoded.item.key, "warning": decoded.warning})
        size = len(self.ids) + len(self.pending)
        if size and size + len(decoded.rows) > self.options.shard_size:
            self.commit()
        self.pending.extend(decoded.rows)
        self.inputs.append(decoded.item.key)
        self.report.embedded_inputs += 1
        while len(self.pending) >= self.options.batch:
            self._run(self.options.batch)

    def _run(self, count: int) -> None:
        rows, self.pending = self.pending[:count], self.pending[count:]
        vectors = self.extractor.describe_batch([image for _, image in rows])
        self.ids.extend(row_id for row_id, _ in rows)
        self.vectors.append(vectors)

    def commit(self) -> None:
        while self.pending:
            self._run(self.options.batch)
        if not self.ids and not self.inputs and not self.skipped:
            return
        vectors = np.concatenate(self.vectors) if self.vectors else np.zeros((0, self.store.dim), np.float32)
        name = self.store.next_shard_name(self.options.shard_prefix)
        self.store.commit_shard(name, self.ids, vectors, self.inputs, self.skipped)
        self.report.rows += len(self.ids)
        self.report.shards += 1
        self.ids, self.vectors, self.inputs, self.skipped = [], [], [], []


def embed_items(items: list[InputItem], extractor: DescriptorExtractor, store: DescriptorStore,
                options: EmbedOptions, *, progress: bool = True) -> EmbedReport:
    """Embed every input not yet in the store; resumable after a crash."""
    from tqdm import tqdm

    start = time.perf_counter()
    store.remove_uncommitted(options.shard_prefix)
    done = store.done_inputs()
    todo = [item for item in items if item.key not in done]
    report = EmbedReport(inputs=len(items), already_done=len(items) - len(todo))
    writer = ShardWriter(store, extractor, options, report)
    bar = tqdm(total=len(todo), desc="embed", unit="input", disable=not progress)
    for decoded in decoded_stream(todo, options):
        writer.add(decoded)
        bar.update(1)
    writer.commit()
    bar.close()
    report.seconds = time.perf_counter() - start
    return report

