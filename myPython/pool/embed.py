"""Batch embedding of images and video frames into a descriptor store, streamed from decoder to shard.

Each input is decoded and prepared (resize, mean subtraction) in a worker
thread (OpenCV, FFmpeg and NumPy release the GIL) that hands its rows, one
frame at a time, to the network through a small bounded queue; the network
takes rows in input order, in batches across inputs, and the rows go into
shards of exactly `shard_size` rows (a long video fills several). Memory is
therefore bounded by one shard of descriptors plus (2 x workers) inputs in
flight of at most max(4, batch) prepared rows each, whatever the length of a
video or the number of inputs.

Resuming (see store.py): an input is done once the shard holding its last row
is committed. A run killed inside a long video leaves its first rows
committed and the count in the shard marker (``partial``); the next run
decodes the video again and passes over that many sampled frames, so every
row is stored exactly once. Inputs skipped for a transient reason
(permission, I/O error, vanished file) or whose file changed since they were
skipped are tried again by the next run; others stay skipped (and listed).
"""

from __future__ import annotations

import fcntl
import os
import queue
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from typing import IO

import numpy as np

from myPython.common.fileio import atomic_save_npy
from myPython.common.ids import frame_id, is_panel
from myPython.common.images import load_image
from myPython.common.inputfiles import TransientInputError, display_name
from myPython.errors import InputError, StoreError
from myPython.pool.forward import ParallelForward
from myPython.pool.inputs import InputItem
from myPython.pool.store import DescriptorStore
from myPython.pool.sub_rows import sub_rows
from myPython.pool.video import FrameReader
from myPython.retrieval.extractor import DescriptorExtractor, ExtractionSettings, prepare_inputs

# Network inputs with a shorter side make Caffe abort the process (a pooling output of size 0):
# such extreme aspect ratios are skipped with a reason instead (prepare_inputs).

class Prepared(tuple):
    """One row's network inputs (3 x H x W float32, one per scale), with its packed local features
    (pool/verify.py) when the options ask for them: computed in the decoding threads."""

    local: np.ndarray | None = None


Row = tuple[str, Prepared]  # (row id, network inputs)
_END = object()


def default_workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


def default_forward_workers() -> int:
    from myPython.retrieval.engines import physical_cores

    return physical_cores()


@dataclass
class EmbedOptions:
    fps: float = 1.0
    batch: int = 8
    shard_size: int = 4096
    workers: int = field(default_factory=default_workers)
    max_frames: int | None = None  # per video
    shard_prefix: str = "shard"
    local_features: bool = False  # also store each row's RootSIFT features for verification (pool/verify.py)
    reference_frames: bool = True  # sample videos from their reference frames (pool/video.py's FrameReader)
    panels: bool = False  # also a row for each picture inside a composition (pool/panels.py), after its owner
    turns: bool = False  # also a row for the picture turned a quarter clockwise, after its owner (pool/sub_rows.py)
    # Network forwards run at once, each on one thread (engines that can: ONNX Runtime on the CPU), default one a
    # physical core; 1: one forward at a time on every core. See ParallelForward.
    forward_workers: int = field(default_factory=default_forward_workers)

    @property
    def queued_rows(self) -> int:
        """Prepared rows each input in flight may hold ahead of the network."""
        return max(4, self.batch)


@dataclass
class Embedded:
    """Descriptors of the next rows of one input; with `finished` or `skipped` set, the input's end."""

    item: InputItem
    ids: list[str]
    vectors: np.ndarray  # len(ids) x D
    finished: bool = False
    skipped: str | None = None  # reason the input was skipped (it has no rows)
    transient: bool = False  # the skip may go away by itself: retried by the next run
    warning: str | None = None  # problem that still left usable rows
    file: list[int] | None = None  # [size, mtime_ns] of a skipped file, to retry it once it changes
    local: list[np.ndarray] | None = None  # packed local features of the rows (EmbedOptions.local_features)


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


def file_state(path: str | os.PathLike) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


class _Stopped(Exception):
    """The consumer went away (error, Ctrl-C): the producer ends."""


class InputRows:
    """The rows of one input, made by `produce` (in a worker thread, through a bounded queue) or inline.

    Iterate it for (row id, prepared inputs); once exhausted, `skipped`,
    `transient`, `warning` and `file` tell how the input ended.
    """

    def __init__(self, item: InputItem, options: EmbedOptions, settings: ExtractionSettings,
                 stop: threading.Event | None = None) -> None:
        self.item, self.options, self.settings, self.stop = item, options, settings, stop
        self.queue: queue.Queue | None = queue.Queue(options.queued_rows) if stop is not None else None
        self.skipped: str | None = None
        self.transient = False
        self.warning: str | None = None
        self.file: list[int] | None = None

    def _prepare(self, image: np.ndarray, name: str) -> Prepared:
        prepared = Prepared(prepare_inputs(image, self.settings, name=name))
        if self.options.local_features:
            from myPython.pool.verify import local_features

            prepared.local = local_features(image)
        return prepared

    def _with_panels(self, row_id: str, image: np.ndarray, name: str) -> Iterator[Row]:
        """The row, then its sub-rows (`turns`, `panels`: pool/sub_rows.py)."""
        yield row_id, self._prepare(image, name)
        yield from sub_rows(row_id, image, lambda pixels: self._prepare(pixels, name), self.options.turns,
                            self.options.panels)

    def _decode(self) -> Iterator[Row]:
        item, name = self.item, display_name(self.item.path)
        if item.kind == "image":
            if not item.done_rows:
                yield from self._with_panels(item.key, load_image(item.path), name)
            return
        reader = FrameReader(item.path, self.options.fps, self.options.max_frames, skip=item.done_rows,
                             reference_only=self.options.reference_frames)
        for frame in reader:
            yield from self._with_panels(frame_id(item.key, frame.time), frame.image, name)
        self.warning = reader.problem

    def _rows(self) -> Iterator[Row]:
        """`_decode` with every failure turned into a skip (no rows yet) or a warning (some rows kept)."""
        made = self.item.done_rows
        try:
            for row in self._decode():
                yield row
                made += 1
            return
        except InputError as exc:
            problem, transient = str(exc), isinstance(exc, TransientInputError)
        except Exception as exc:  # a decoder bug must not end the batch job
            problem, transient = f"{display_name(self.item.path)}: {type(exc).__name__}: {exc}", False
        problem = problem.splitlines()[0] if problem.strip() else "unknown error"
        if made:
            self.warning = f"{problem} (stopped after {made} row(s))"
        else:
            self.skipped, self.transient, self.file = problem, transient, file_state(self.item.path)

    def _put(self, value: object) -> None:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                self.queue.put(value, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce(self) -> None:
        """Run in a worker thread: decode into the queue, then put the end mark."""
        try:
            for row in self._rows():
                self._put(row)
            self._put(_END)
        except _Stopped:
            pass

    def __iter__(self) -> Iterator[Row]:
        if self.queue is None:
            yield from self._rows()
            return
        while (row := self.queue.get()) is not _END:
            yield row


def decoded_stream(items: list[InputItem], options: EmbedOptions, settings: ExtractionSettings
                   ) -> Iterator[InputRows]:
    """Inputs in order, each decoding (in a worker thread) ahead of the consumer; 2 x workers in flight."""
    if options.workers <= 0:
        for item in items:
            yield InputRows(item, options, settings)
        return
    stop = threading.Event()
    window = max(2, options.workers * 2)
    pool = ThreadPoolExecutor(options.workers, thread_name_prefix="decode")
    try:
        pending: deque[InputRows] = deque()
        for item in items:
            rows = InputRows(item, options, settings, stop)
            pool.submit(rows.produce)
            pending.append(rows)
            if len(pending) >= window:
                yield pending.popleft()
        while pending:
            yield pending.popleft()
    finally:  # also when the consumer stops early (error, Ctrl-C): producers give up at their next row
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def embed_stream(inputs: Iterable[InputRows], extractor: DescriptorExtractor, batch: int,
                 forward_workers: int = 1) -> Iterator[Embedded]:
    """Run the network over consecutive rows in batches; yield each input's rows in order, then its end.
    `forward_workers` > 1: that many single-threaded forwards at once where the engine can (ParallelForward)."""
    parallel = ParallelForward(extractor, forward_workers) if ParallelForward.usable(extractor, forward_workers) \
        else None
    try:
        yield from _embed_batches(inputs, parallel or extractor.describe_prepared, batch)
    finally:
        if parallel is not None:
            parallel.close()


def _embed_batches(inputs: Iterable[InputRows], describe, batch: int) -> Iterator[Embedded]:
    waiting: deque = deque()  # (item, row id) per row not yet yielded, or the InputRows that ends an input
    queue_x: list[Prepared] = []  # rows waiting for the network
    described: deque[np.ndarray] = deque()  # descriptors of the first rows of `waiting`

    def run() -> None:
        rows = queue_x[:batch]
        del queue_x[:batch]
        described.extend(describe(rows))

    def ready() -> Iterator[Embedded]:
        while waiting:
            head = waiting[0]
            if isinstance(head, InputRows):
                waiting.popleft()
                yield Embedded(head.item, [], np.zeros((0, 0), np.float32), finished=head.skipped is None,
                               skipped=head.skipped, transient=head.transient, warning=head.warning, file=head.file)
                continue
            ids, local = [], []
            while waiting and len(ids) < len(described) and not isinstance(waiting[0], InputRows) \
                    and waiting[0][0] is head[0]:
                _, row_id, features = waiting.popleft()
                ids.append(row_id)
                local.append(features)
            if not ids:
                return
            yield Embedded(head[0], ids, np.stack([described.popleft() for _ in ids]),
                           local=local if local[0] is not None else None)

    for rows in inputs:
        for row_id, x in rows:
            waiting.append((rows.item, row_id, getattr(x, "local", None)))
            queue_x.append(x)
            if len(queue_x) >= batch:
                run()
                yield from ready()
        waiting.append(rows)
        yield from ready()
    while queue_x:
        run()
    yield from ready()


def _no_panel(_: str) -> bool:
    return False


class ShardWriter:
    """Collects embedded rows in order; commits a shard whenever it holds `shard_size` rows (and the panel rows
    of its last row: a row never leaves its panels for the next shard, and the partial count is of frames).

    With `name`, everything added goes into the one shard of that name, committed by `commit()` (a chunk of a
    Ray run, pool/distributed.py): never split, it may hold more than `shard_size` rows.
    """

    def __init__(self, store: DescriptorStore, options: EmbedOptions, report: EmbedReport,
                 earlier_skips: dict[str, dict] | None = None, name: str | None = None) -> None:
        self.store, self.options, self.report = store, options, report
        self.earlier_skips = earlier_skips or {}
        self.name = name
        self.limit = options.shard_size if name is None else sys.maxsize  # rows (or skip records) a shard
        self.progress: dict[str, int] = {}  # rows so far of the inputs begun and not finished
        self._reset()

    def _reset(self) -> None:
        self.ids: list[str] = []
        self.vectors: list[np.ndarray] = []
        self.local: list[np.ndarray] = []
        self.inputs: list[str] = []
        self.skipped: list[dict] = []
        self.in_shard: set[str] = set()  # inputs with rows in this shard
        self.continues: list[str] = []  # ... whose earlier rows are in other shards

    def add(self, embedded: Embedded) -> None:
        if embedded.ids:
            self._add_rows(embedded.item, embedded.ids, embedded.vectors, embedded.local)
        if embedded.skipped:
            self._skip(embedded)
        elif embedded.finished:
            self._finish(embedded)

    def _add_rows(self, item: InputItem, ids: list[str], vectors: np.ndarray,
                  local: list[np.ndarray] | None = None) -> None:
        key, start = item.key, 0
        # no id to look at in a store without sub-rows
        panel = is_panel if self.options.panels or self.options.turns else _no_panel
        while start < len(ids):
            if len(self.ids) >= self.limit and not panel(ids[start]):
                self.commit()
            before = self.progress.get(key, item.done_rows)
            if before and key not in self.in_shard:
                self.continues.append(key)
            take = max(0, min(self.limit - len(self.ids), len(ids) - start))
            while start + take < len(ids) and panel(ids[start + take]):
                take += 1  # a row's panels go into its shard: a resumed run passes over whole rows
            self.ids.extend(ids[start : start + take])
            self.vectors.append(vectors[start : start + take])
            if local is not None:
                self.local.extend(local[start : start + take])
            self.progress[key] = before + take - sum(map(panel, ids[start : start + take]))  # frames, not panels
            self.in_shard.add(key)
            start += take

    def _finish(self, embedded: Embedded) -> None:
        key = embedded.item.key
        self.progress.pop(key, None)
        self.inputs.append(key)
        self.report.embedded_inputs += 1
        if embedded.warning:
            self.report.warnings.append({"input": key, "warning": embedded.warning})
        if len(self.ids) >= self.limit:
            self.commit()

    def _skip(self, embedded: Embedded) -> None:
        key = embedded.item.key
        self.progress.pop(key, None)
        entry = {"input": key, "reason": embedded.skipped, "transient": embedded.transient, "file": embedded.file}
        self.report.skipped.append(entry)
        if self.earlier_skips.get(key) == entry:
            return  # the store already says so
        self.skipped.append(entry)
        if len(self.skipped) >= self.limit:
            self.commit()

    def commit(self) -> None:
        if not self.ids and not self.inputs and not self.skipped:
            return
        vectors = np.concatenate(self.vectors) if self.ids else np.zeros((0, self.store.dim), np.float32)
        partial = {key: rows for key, rows in self.progress.items() if key in self.in_shard}
        name = self.name or self.store.next_shard_name(self.options.shard_prefix)
        if self.options.local_features and self.ids:  # written first: the marker lists it with its checksum
            from myPython.pool.store import LOCAL_SUFFIX

            if len(self.local) != len(self.ids):
                raise RuntimeError(f"shard {name}: local features for {len(self.local)} of {len(self.ids)} rows")
            atomic_save_npy(self.store.shard_dir / f"{name}{LOCAL_SUFFIX}", np.stack(self.local))
        self.store.commit_shard(name, self.ids, vectors, self.inputs, self.skipped, partial=partial,
                                continues=self.continues)
        self.report.rows += len(self.ids)
        self.report.shards += 1
        self._reset()


def _retry(entry: dict, item: InputItem) -> bool:
    """Whether an input skipped by an earlier run is tried again: a transient reason, or its file changed."""
    return bool(entry.get("transient")) or entry.get("file") != file_state(item.path)


COMMIT_LOCK = ".commit.lock"  # in the store folder: the token of the latest run, locked by commits on its behalf


@contextmanager
def _commit_lock(store: DescriptorStore) -> Iterator[IO[str]]:
    with open(store.root / COMMIT_LOCK, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released by the kernel if the process dies
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def fenced_commit(store: DescriptorStore, token: str) -> Iterator[None]:
    """Commit a shard of the run of `token` from another process than its driver (a Ray actor): one such commit
    at a time, and none once a newer run has started (the actors of a killed driver may live on a moment)."""
    with _commit_lock(store) as handle:
        handle.seek(0)
        if handle.read() != token:
            raise StoreError(f"{store.root}: a newer embed run has started; this one commits nothing more")
        yield


def start_run(items: list[InputItem], store: DescriptorStore, options: EmbedOptions, token: str | None = None
              ) -> tuple[list[InputItem], EmbedReport, dict[str, dict]]:
    """Clean up after a killed run; (inputs still to embed, report, earlier skip records).

    Inputs cut short by a killed run come back with `done_rows` set. Call with
    the store's writer lock held. `token` (a new one by default) names this run
    for `fenced_commit`: from here on, commits of earlier runs fail, and the one
    in progress, if any, is waited for before leftovers are removed.
    """
    with _commit_lock(store) as handle:
        handle.truncate(0)
        handle.write(token or uuid.uuid4().hex)
        handle.flush()
        os.fsync(handle.fileno())
    store.remove_uncommitted(options.shard_prefix)
    done = store.done_inputs()
    partial = store.partial_inputs()
    earlier = {s["input"]: s for s in store.skipped()}
    todo = []
    report = EmbedReport(inputs=len(items))
    for item in items:
        if item.key in done:
            report.already_done += 1
        elif item.key in earlier and not _retry(earlier[item.key], item):
            report.already_done += 1
            report.skipped.append(earlier[item.key])
        else:
            todo.append(replace(item, done_rows=partial.get(item.key, 0)))
    return todo, report, earlier


def embed_items(items: list[InputItem], extractor: DescriptorExtractor, store: DescriptorStore,
                options: EmbedOptions, *, progress: bool = True) -> EmbedReport:
    """Embed every input not yet in the store; resumable after a crash or Ctrl-C."""
    from tqdm import tqdm

    start = time.perf_counter()
    with store.writer_lock():
        todo, report, earlier = start_run(items, store, options)
        writer = ShardWriter(store, options, report, earlier)
        with tqdm(total=len(todo), desc="embed", unit="input", disable=not progress) as bar, \
                closing(decoded_stream(todo, options, extractor.settings)) as decoded, \
                closing(embed_stream(decoded, extractor, options.batch, options.forward_workers)) as embedded:
            for part in embedded:
                writer.add(part)
                bar.update(part.finished or part.skipped is not None)
        writer.commit()
    report.seconds = time.perf_counter() - start
    return report
