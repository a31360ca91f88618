"""Batch embedding of images and video frames into a descriptor store.

Decoding and preprocessing (resize, mean subtraction) run in worker threads
(OpenCV, FFmpeg and NumPy release the GIL) and feed the network in batches,
so the network does not wait on them. Rows are committed shard by shard, in
input order, each input's rows in one shard; every input is embedded exactly
once across restarts (see store.py). Memory is bounded by one shard of
descriptors plus the decoding window, whatever the number of inputs.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from myPython.common.ids import frame_id
from myPython.pool.images import InputError, load_image
from myPython.pool.inputs import InputItem
from myPython.pool.store import DescriptorStore
from myPython.pool.video import read_frames
from myPython.retrieval.extractor import DescriptorExtractor, ExtractionSettings, prepare_inputs

# Network inputs with a shorter side make Caffe abort the process (a pooling output of size 0):
# such extreme aspect ratios are skipped with a reason instead.

Prepared = tuple[np.ndarray, ...]  # one 3 x H x W float32 network input per scale


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
    local_features: bool = False  # also store each row's RootSIFT features for verification (pool/verify.py)


@dataclass
class Decoded:
    item: InputItem
    rows: list[tuple[str, Prepared]]  # (row id, network inputs)
    skipped: str | None = None  # reason the whole input was skipped
    warning: str | None = None  # problem that still left usable rows
    local: list[np.ndarray] | None = None  # packed local features per row (EmbedOptions.local_features)


@dataclass
class Embedded:
    item: InputItem
    ids: list[str]
    vectors: np.ndarray  # len(ids) x D
    skipped: str | None = None
    warning: str | None = None
    local: list[np.ndarray] | None = None


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


def decode_item(item: InputItem, options: EmbedOptions, settings: ExtractionSettings) -> Decoded:
    """Decode and prepare one input's rows; bad input becomes a skip reason, never an exception."""
    try:
        if item.kind == "image":
            image = load_image(item.path)
            return Decoded(item, [(item.key, prepare_inputs(image, settings, name=item.path))],
                           local=_local_features([image], options))
        frames, problem = read_frames(item.path, options.fps, options.max_frames)
        rows = [(frame_id(item.key, f.time), prepare_inputs(f.image, settings, name=item.path)) for f in frames]
        return Decoded(item, rows, warning=problem, local=_local_features([f.image for f in frames], options))
    except InputError as exc:
        return Decoded(item, [], skipped=str(exc))
    except Exception as exc:  # a decoder bug must not end the batch job
        return Decoded(item, [], skipped=f"{item.path}: {type(exc).__name__}: {exc}")


def _local_features(images: list[np.ndarray], options: EmbedOptions) -> list[np.ndarray] | None:
    if not options.local_features:
        return None
    from myPython.pool.verify import local_features

    return [local_features(image) for image in images]


def decoded_stream(items: list[InputItem], options: EmbedOptions, settings: ExtractionSettings
                   ) -> Iterator[Decoded]:
    """Decode in worker threads, keeping a bounded window of work in flight, in input order."""
    if options.workers <= 0:
        for item in items:
            yield decode_item(item, options, settings)
        return
    window = max(2, options.workers * 2)
    with ThreadPoolExecutor(options.workers, thread_name_prefix="decode") as pool:
        pending: deque = deque()
        it = iter(items)
        for item in it:
            pending.append(pool.submit(decode_item, item, options, settings))
            if len(pending) >= window:
                break
        while pending:
            done = pending.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(decode_item, nxt, options, settings))
            yield done


def embed_stream(decoded: Iterable[Decoded], extractor: DescriptorExtractor, batch: int) -> Iterator[Embedded]:
    """Run the network over consecutive rows in batches; yield each input, in order, once described."""
    owners: deque[Decoded] = deque()  # inputs not yet yielded
    queue: list[Prepared] = []  # rows waiting for the network
    described: list[np.ndarray] = []  # descriptors of the rows of `owners`, in order

    def run(count: int) -> None:
        rows = queue[:count]
        del queue[:count]
        described.extend(extractor.describe_prepared(rows))

    def ready() -> Iterator[Embedded]:
        while owners and len(described) >= len(owners[0].rows):
            d = owners.popleft()
            n = len(d.rows)
            vectors = np.stack(described[:n]) if n else np.zeros((0, 0), np.float32)
            del described[:n]
            yield Embedded(d.item, [row_id for row_id, _ in d.rows], vectors, d.skipped, d.warning, d.local)

    for d in decoded:
        owners.append(d)
        queue.extend(x for _, x in d.rows)
        while len(queue) >= batch:
            run(batch)
        yield from ready()
    while queue:
        run(batch)
    yield from ready()


class ShardWriter:
    """Collects embedded inputs in order; commits a shard when it is full."""

    def __init__(self, store: DescriptorStore, options: EmbedOptions, report: EmbedReport) -> None:
        self.store, self.options, self.report = store, options, report
        self.ids: list[str] = []
        self.vectors: list[np.ndarray] = []
        self.local: list[np.ndarray] = []
        self.inputs: list[str] = []
        self.skipped: list[dict] = []

    def add(self, embedded: Embedded) -> None:
        key = embedded.item.key
        if embedded.skipped:
            entry = {"input": key, "reason": embedded.skipped}
            self.skipped.append(entry)
            self.report.skipped.append(entry)
            if len(self.skipped) >= self.options.shard_size:
                self.commit()
            return
        if embedded.warning:
            self.report.warnings.append({"input": key, "warning": embedded.warning})
        if self.ids and len(self.ids) + len(embedded.ids) > self.options.shard_size:
            self.commit()
        self.ids.extend(embedded.ids)
        self.vectors.append(embedded.vectors)
        self.local.extend(embedded.local or [])
        self.inputs.append(key)
        self.report.embedded_inputs += 1
        if len(self.ids) >= self.options.shard_size:
            self.commit()

    def commit(self) -> None:
        if not self.inputs and not self.skipped:
            return
        vectors = np.concatenate(self.vectors) if self.ids else np.zeros((0, self.store.dim), np.float32)
        name = self.store.next_shard_name(self.options.shard_prefix)
        local = np.stack(self.local) if self.options.local_features and self.local else None
        self.store.commit_shard(name, self.ids, vectors, self.inputs, self.skipped, local=local)
        self.report.rows += len(self.ids)
        self.report.shards += 1
        self.ids, self.vectors, self.local, self.inputs, self.skipped = [], [], [], [], []


def start_run(items: list[InputItem], store: DescriptorStore, options: EmbedOptions
              ) -> tuple[list[InputItem], EmbedReport]:
    """Clean up after a killed run; (inputs still to embed, report listing earlier skips too).

    Call with the store's writer lock held.
    """
    store.remove_uncommitted(options.shard_prefix)
    done = store.done_inputs()
    earlier = {s["input"]: s for s in store.skipped()}
    todo = [item for item in items if item.key not in done]
    report = EmbedReport(inputs=len(items), already_done=len(items) - len(todo))
    report.skipped.extend(earlier[item.key] for item in items if item.key in earlier)
    return todo, report


def embed_items(items: list[InputItem], extractor: DescriptorExtractor, store: DescriptorStore,
                options: EmbedOptions, *, progress: bool = True) -> EmbedReport:
    """Embed every input not yet in the store; resumable after a crash."""
    from tqdm import tqdm

    start = time.perf_counter()
    with store.writer_lock():
        todo, report = start_run(items, store, options)
        writer = ShardWriter(store, options, report)
        with tqdm(total=len(todo), desc="embed", unit="input", disable=not progress) as bar:
            decoded = decoded_stream(todo, options, extractor.settings)
            for embedded in embed_stream(decoded, extractor, options.batch):
                writer.add(embedded)
                bar.update(1)
        writer.commit()
    report.seconds = time.perf_counter() - start
    return report
