"""Embedding on a Ray cluster: Ray actors, each with its own Caffe net, each committing the shards it embeds.

The inputs still to embed are cut into chunks (tasks) in input order, each
named for the one shard it becomes (`plan_chunks`: names that sort in input
order). Each actor decodes its chunk itself (`decoded_stream`), embeds it,
with each row's local features (RootSIFT, pool/verify.py, computed from the
same decoded image or frame) when `EmbedOptions.local_features` is on, and
commits it as that shard with the `ShardWriter` of `embed_items`, straight
into the store: every node must read the inputs, the model files and the
store at the same paths (e.g. a shared file system). The driver hands out
chunks and keeps a small summary of each (rows, inputs, skip records,
warnings) for the report. The store holds the ids, rows, local features,
done inputs and skip records of a single-process run, in the same order;
only the shard boundaries differ: a chunk is one shard, never split (a Ray
run leaves no partial input), of at most shard_size pictures or MAX_CHUNK
videos, so a chunk of videos may hold more than shard_size rows.

Resuming: a chunk is done once its shard is committed. A killed run loses
the chunks in flight only; the next run removes their files (`start_run`)
and embeds them again in their place in input order: inputs that sat between
committed shards go into shards named after the lost one's free name
(``<name>_000000``, ...), which sort right there. (A single-process run
resuming such a store appends them instead: the same rows, later in order.)
Actors are not restarted: a chunk whose actor dies (a node lost) goes to the
other actors, MAX_ATTEMPTS tries at most; one committed by an attempt whose
actor died before answering is not committed again (the retry finds its
marker). Commits go through `fenced_commit`: one at a time, and none from
the actors of a killed driver once a newer run has started.

Memory: the driver holds the inputs still to embed and one summary a chunk.
Each actor holds the rows (not the pixels) of the chunk it embeds: D x 4
bytes of descriptor a row and 128 x 18 bytes (2.3 KB) of local features,
about 10 KB a row at D = 2048: 40 MB for a chunk of 4096 pictures, while a
chunk of videos holds every sampled frame of them (cap with `--max-frames`).

Each actor reserves whole CPUs where the cluster has more CPUs than actors
(`actor_cpus`) and runs its engine and OpenCV on that many threads: engines
opened without a thread count would use every core of the node in each actor.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from itertools import groupby

from myPython.pool.embed import (
    EmbedOptions,
    EmbedReport,
    ShardWriter,
    decoded_stream,
    embed_stream,
    fenced_commit,
    start_run,
)
from myPython.pool.inputs import InputItem
from myPython.pool.store import MARKER_SUFFIX, DescriptorStore
from myPython.retrieval.extractor import ExtractionSettings
from myPython.retrieval.models import ModelSpec

MAX_CHUNK = 32  # videos per task (each may hold many frames); a task holds at most shard_size pictures
TASKS_PER_ACTOR = 2  # one running, one queued, so an actor never waits for the driver
MAX_ATTEMPTS = 3  # tries of a chunk whose actor dies: a node lost, or the chunk itself kills the process

Name = tuple[int, ...]  # shard <prefix>-000012_000003 is (12, 3): tuples sort as the names do


@dataclass
class Chunk:
    """Inputs embedded by one task and committed as the one shard `name`."""

    name: str
    items: list[InputItem]
    earlier: dict[str, dict]  # the store's skip records of these inputs (not written again)


class EmbedActor:
    """One net; embeds chunks of inputs (decoded on this worker) on `threads` threads, its CPUs, and commits each
    as its shard of `store` for the run of `token`."""

    def __init__(self, store: DescriptorStore, token: str, proto: str, weights: str | None, output: str,
                 settings: ExtractionSettings, options: EmbedOptions, engine: str, threads: int = 1) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")
        import cv2

        from myPython.retrieval.engines import open_engine
        from myPython.retrieval.extractor import DescriptorExtractor

        cv2.setNumThreads(threads)  # SIFT of the local features, resizing
        engine_on = open_engine(engine, proto, weights, output=output, threads=threads)
        self.extractor = DescriptorExtractor(engine_on, settings, options.batch)
        self.options = replace(options, workers=1)  # one decoding thread beside the net
        self.store, self.token = store, token

    def embed(self, chunk: Chunk, retry: bool = False) -> EmbedReport:
        """Embed the chunk and commit it as its shard; the summary of it for the driver's report."""
        report = EmbedReport()
        writer = ShardWriter(self.store, self.options, report, chunk.earlier, name=chunk.name)
        with closing(decoded_stream(chunk.items, self.options, self.extractor.settings)) as decoded, \
                closing(embed_stream(decoded, self.extractor, self.options.batch)) as embedded:
            for part in embedded:
                writer.add(part)
        folder = self.store.shard_dir
        with fenced_commit(self.store, self.token):
            if (folder / f"{chunk.name}{MARKER_SUFFIX}").exists():
                # an attempt whose actor died before answering committed it: the same rows, not written twice
                report.rows += len(writer.ids)
                report.shards += 1
                return report
            if retry:  # files that attempt left without a marker: overwritten anyway, temporary ones too
                for path in [*folder.glob(f"{chunk.name}.*"), *folder.glob(f".{chunk.name}.*")]:
                    path.unlink(missing_ok=True)
            writer.commit()
        return report


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


def _parse(name: str, prefix: str) -> Name | None:
    match = re.fullmatch(rf"{re.escape(prefix)}-(\d+)((?:_\d+)*)", name)
    return None if match is None else (int(match[1]), *(int(n) for n in match[2].split("_")[1:]))


def _format(name: Name, prefix: str) -> str:
    return f"{prefix}-{name[0]:06d}" + "".join(f"_{n:06d}" for n in name[1:])


def _free_before(name: Name | None, committed: set[Name]) -> Name | None:
    """The name just before shard `name` when no shard is committed there: a chunk of a killed run (or a shard
    quarantined) was lost there. None when there is no such name, or it is committed."""
    while name and name[-1] == 0:  # nothing sorts between a name and its first child: look before the parent
        name = name[:-1]
    if not name:
        return None
    free = (*name[:-1], name[-1] - 1)
    return None if free in committed else free


def _cut(items: list[InputItem], cost: Callable[[InputItem], int], limit: int) -> Iterator[list[InputItem]]:
    part: list[InputItem] = []
    total = 0
    for item in items:
        if part and total + cost(item) > limit:
            yield part
            part, total = [], 0
        part.append(item)
        total += cost(item)
    if part:
        yield part


def plan_chunks(items: list[InputItem], todo: list[InputItem], store: DescriptorStore, options: EmbedOptions,
                earlier: dict[str, dict], actors: int) -> list[Chunk]:
    """`todo` (the inputs of `items` still to embed, in input order) cut into chunks, each named for its shard.

    Names sort in input order (the store's row order is name order) and are never used before: the next
    numbers after the store's shards, as `next_shard_name` gives them, or, for the inputs whose next input
    already done sits right after a free name (see `_free_before`: a chunk lost by a killed run), the
    children of that name after its committed ones, which sort in its place. A chunk holds at most
    `shard_size` pictures or MAX_CHUNK videos and, for balance, about a quarter of an actor's share.
    """
    prefix = options.shard_prefix
    shards = store.shards()
    committed = {name for shard in shards if (name := _parse(shard.name, prefix))}
    quarantined = store.root / "quarantine"
    used = committed | {name for path in (quarantined.glob("*/*") if quarantined.is_dir() else [])
                        if (name := _parse(path.name.split(".")[0], prefix))}
    where: dict[str, Name | None] = {}  # input -> the shard where it is done, else its latest skip record
    for shard in shards:
        where.update((entry["input"], _parse(shard.name, prefix)) for entry in shard.skipped())
    for shard in shards:
        where.update((key, _parse(shard.name, prefix)) for key in shard.inputs())
    pending = {item.key for item in todo}
    slot: dict[str, Name | None] = {}  # input -> the free name it goes under, None: after every shard
    after = None  # shard of the next input (in input order) already done or skipped
    for item in reversed(items):
        if item.key in pending:
            slot[item.key] = _free_before(after, committed)
        elif item.key in where:
            after = where[item.key]

    def cost(item: InputItem) -> int:
        return 1 if item.kind == "image" else max(1, options.shard_size // MAX_CHUNK)

    limit = max(1, min(options.shard_size, math.ceil(sum(map(cost, todo)) / (4 * actors))))
    number = _parse(store.next_shard_name(prefix), prefix)[0]
    children: dict[Name, int] = {}  # free name -> its next child
    chunks = []
    for free, segment in groupby(todo, key=lambda item: slot[item.key]):
        for part in _cut(list(segment), cost, limit):
            if free is None:
                name, number = (number,), number + 1
            else:
                if free not in children:
                    depth = len(free)
                    children[free] = 1 + max((n[depth] for n in used if len(n) > depth and n[:depth] == free),
                                             default=-1)
                name, children[free] = (*free, children[free]), children[free] + 1
            chunks.append(Chunk(_format(name, prefix), part, {i.key: earlier[i.key] for i in part if i.key in earlier}))
    return chunks


def _message(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[-1]


def _run(ray, actors: list, chunks: list[Chunk], done: Callable[[Chunk], None]) -> list[EmbedReport]:
    """The chunks' summaries, in chunk order; TASKS_PER_ACTOR chunks per actor in flight. A chunk whose actor
    died goes to another actor (MAX_ATTEMPTS tries); RuntimeError once no actor is left."""
    summaries: list[EmbedReport | None] = [None] * len(chunks)
    attempts = [0] * len(chunks)
    pending = deque(range(len(chunks)))
    free = deque(actors * TASKS_PER_ACTOR)
    in_flight: dict = {}  # ObjectRef -> (chunk number, actor)
    while pending or in_flight:
        while free and pending:
            actor, number = free.popleft(), pending.popleft()
            in_flight[actor.embed.remote(chunks[number], attempts[number] > 0)] = (number, actor)
        [ref], _ = ray.wait(list(in_flight), num_returns=1)
        number, actor = in_flight.pop(ref)
        try:
            summaries[number] = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            attempts[number] += 1
            free = deque(a for a in free if a is not actor)
            alive = free or any(a is not actor for _, a in in_flight.values())
            if attempts[number] >= MAX_ATTEMPTS or not alive:
                chunk = chunks[number]
                why = f"shard {chunk.name} ({len(chunk.items)} input(s) from {chunk.items[0].key}) lost its actor " \
                      f"{attempts[number]} time(s)" if alive else "every actor was lost"
                raise RuntimeError(f"embedding on Ray failed: {why}: {_message(exc)}; run embed again to resume "
                                   "(the shards committed are kept)") from exc
            pending.appendleft(number)
            continue
        free.append(actor)
        done(chunks[number])
    return summaries


def embed_on_ray(items: list[InputItem], spec: ModelSpec, settings: ExtractionSettings, store: DescriptorStore,
                 options: EmbedOptions, *, address: str | None = None, engine: str = "caffe",
                 num_actors: int | None = None, progress: bool = True) -> EmbedReport:
    """`embed_items` on Ray: a local instance when address is None, else the cluster at address."""
    from tqdm import tqdm

    start = time.perf_counter()
    token = uuid.uuid4().hex
    with store.writer_lock():
        todo, report, earlier = start_run(items, store, options, token)
        if todo:
            ray, started = connect(address)
            try:
                cpus = max(1.0, ray.cluster_resources().get("CPU", 1.0))
                count = max(1, min(num_actors or int(cpus), len(todo)))
                chunks = plan_chunks(items, todo, store, options, earlier, count)
                nodes = [n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n.get("Alive")] or [cpus]
                reserved = actor_cpus(nodes, count)
                # not restarted (a restart could wait forever for the CPUs of a lost node): _run moves its chunks
                remote = ray.remote(EmbedActor).options(num_cpus=reserved, max_restarts=0)
                shared = DescriptorStore(store.root.resolve(), store.meta)  # what actors need: its path, its meta
                actors = [remote.remote(shared, token, spec.proto, spec.weights, spec.output, settings, options,
                                        engine, max(1, int(reserved))) for _ in range(min(count, len(chunks)))]
                with tqdm(total=len(todo), desc="embed (ray)", unit="input", disable=not progress) as bar:
                    summaries = _run(ray, actors, chunks, lambda chunk: bar.update(len(chunk.items)))
            except ray.exceptions.RayError as exc:
                raise RuntimeError(f"embedding on Ray failed: {_message(exc)}") from exc
            finally:
                if started:
                    ray.shutdown()
            for summary in summaries:  # in input order, as a single process reports them
                report.rows += summary.rows
                report.shards += summary.shards
                report.embedded_inputs += summary.embedded_inputs
                report.skipped.extend(summary.skipped)
                report.warnings.extend(summary.warnings)
    report.seconds = time.perf_counter() - start
    return report
