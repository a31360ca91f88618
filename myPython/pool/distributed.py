"""Embedding on a Ray cluster: Ray actors, each with its own Caffe net; shards written by the driver.

The inputs still to embed are cut into chunks (tasks) in input order. Each
actor decodes its chunk itself (`decoded_stream`, so every node must read the
input paths and the model files at the same paths, e.g. on a shared file
system) and returns descriptors, with each row's local features (RootSIFT,
pool/verify.py, computed from the same decoded image or frame) when
`EmbedOptions.local_features` is on; the driver writes them in input order
with the `ShardWriter` of `embed_items`. The store is therefore the one a
single process writes (same ids, rows, local features, shard layout) and
resumes the same way.

Memory: the driver holds the rows (not the pixels) of the chunks in flight
(TASKS_PER_ACTOR per actor, plus the ones done ahead of input order): D x 4
bytes of descriptor a row and 128 x 18 bytes (2.3 KB) of local features,
about 10 KB a row at D = 2048: 0.3 MB for a chunk of MAX_CHUNK pictures, while
a chunk of videos holds every sampled frame of them (cap with `--max-frames`).

Each actor reserves whole CPUs where the cluster has more CPUs than actors
(`actor_cpus`) and runs its engine and OpenCV on that many threads: engines
opened without a thread count would use every core of the node in each actor.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace

from myPython.pool.embed import (
    Embedded,
    EmbedOptions,
    EmbedReport,
    ShardWriter,
    decoded_stream,
    embed_stream,
    start_run,
)
from myPython.pool.inputs import InputItem
from myPython.pool.store import DescriptorStore
from myPython.retrieval.extractor import ExtractionSettings
from myPython.retrieval.models import ModelSpec

MAX_CHUNK = 32  # inputs per task
TASKS_PER_ACTOR = 2  # one running, one queued, so an actor never waits for the driver


class EmbedActor:
    """One net; embeds chunks of inputs (decoded on this worker) on `threads` threads, its CPUs."""

    def __init__(self, proto: str, weights: str | None, output: str, settings: ExtractionSettings,
                 options: EmbedOptions, engine: str, threads: int = 1) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")
        import cv2

        from myPython.retrieval.engines import open_engine
        from myPython.retrieval.extractor import DescriptorExtractor

        cv2.setNumThreads(threads)  # SIFT of the local features, resizing
        engine_on = open_engine(engine, proto, weights, output=output, threads=threads)
        self.extractor = DescriptorExtractor(engine_on, settings, options.batch)
        self.options = replace(options, workers=1)  # one decoding thread beside the net

    def embed(self, items: list[InputItem]) -> list[Embedded]:
        with closing(decoded_stream(items, self.options, self.extractor.settings)) as decoded:
            return list(embed_stream(decoded, self.extractor, self.options.batch))


def actor_cpus(node_cpus: list[float], count: int) -> float:
    """CPUs each of `count` actors reserves so that all of them run at once on nodes of `node_cpus` CPUs (the
    spare CPUs of one node cannot serve another's actor): the most whole CPUs, or 1/m of one when there are
    more actors than CPUs."""
    whole = [int(c) for c in node_cpus if c >= 1] or [1]
    if count > sum(whole):
        return math.floor(1e4 / math.ceil(count / sum(whole))) / 1e4  # Ray counts CPUs in units of 1e-4
    cpus = 1
    while sum(c // (cpus + 1) for c in whole) >= count:
        cpus += 1
    return float(cpus)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise RuntimeError("--ray needs Ray: pip install ray") from None
    return ray


def connect(address: str | None):
    """(ray, whether this call started it): a local Ray when address is None (the cluster of RAY_ADDRESS when
    set), else the cluster at address ("auto": the one this node belongs to); a Ray already initialised is used."""
    ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        local = {} if address or os.environ.get("RAY_ADDRESS") else {"num_cpus": os.cpu_count() or 1}
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, **local)
    return ray, started


def _results(ray, todo: list[InputItem], actors: list, chunk: int) -> Iterator[Embedded]:
    """Embedded inputs in input order; at most TASKS_PER_ACTOR chunks per actor in flight."""
    chunks = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
    free = deque(actors * TASKS_PER_ACTOR)
    in_flight: dict = {}  # ObjectRef -> (chunk number, actor)
    done: dict[int, list[Embedded]] = {}
    submitted = written = 0
    while written < len(chunks):
        while free and submitted < len(chunks) and submitted - written < TASKS_PER_ACTOR * len(actors):
            actor = free.popleft()
            in_flight[actor.embed.remote(chunks[submitted])] = (submitted, actor)
            submitted += 1
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in ready:
            number, actor = in_flight.pop(ref)
            done[number] = ray.get(ref)
            free.append(actor)
        while written in done:
            yield from done.pop(written)
            written += 1


def embed_on_ray(items: list[InputItem], spec: ModelSpec, settings: ExtractionSettings, store: DescriptorStore,
                 options: EmbedOptions, *, address: str | None = None, engine: str = "caffe",
                 num_actors: int | None = None, progress: bool = True) -> EmbedReport:
    """`embed_items` on Ray: a local instance when address is None, else the cluster at address."""
    from tqdm import tqdm

    start = time.perf_counter()
    with store.writer_lock():
        todo, report, earlier = start_run(items, store, options)
        if todo:
            ray, started = connect(address)
            try:
                cpus = max(1.0, ray.cluster_resources().get("CPU", 1.0))
                count = max(1, min(num_actors or int(cpus), len(todo)))
                chunk = max(1, min(MAX_CHUNK, math.ceil(len(todo) / (4 * count))))
                nodes = [n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n.get("Alive")] or [cpus]
                reserved = actor_cpus(nodes, count)
                remote = ray.remote(EmbedActor).options(num_cpus=reserved)
                actors = [remote.remote(spec.proto, spec.weights, spec.output, settings, options, engine,
                                        max(1, int(reserved))) for _ in range(count)]
                writer = ShardWriter(store, options, report, earlier)
                with tqdm(total=len(todo), desc="embed (ray)", unit="input", disable=not progress) as bar:
                    for embedded in _results(ray, todo, actors, chunk):
                        writer.add(embedded)
                        bar.update(embedded.finished or embedded.skipped is not None)
                writer.commit()
            except ray.exceptions.RayError as exc:
                message = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
                raise RuntimeError(f"embedding on Ray failed: {message}") from exc
            finally:
                if started:
                    ray.shutdown()
    report.seconds = time.perf_counter() - start
    return report
