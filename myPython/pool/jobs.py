"""One library call per job: `embed`, `search`, `group` and `match_videos`.

The CLI (`apps/commands`), the held-out evaluations and the calibrations of the build all call these, so a store
made anywhere has the same metadata (`store_meta`) and a job run from Python gives what the command gives::

    spec = load_model()
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings())
    report = embed(["videos/", "photos/"], "store/", spec, extractor)
    neighbours = dict(search(DescriptorStore.open("store/"), spec=spec, top_k=20))
    threshold, groups = group(DescriptorStore.open("store/"), spec=spec)

`search` and `group` of a store against itself answer from its neighbour graph (pool/knn_graph.py), built by
the first of them and kept in the store until shards are added (then extended); `match_videos` reads its frame
kNN from that graph when a current one is kept (exact up to 200k rows, measured IVF above), and never builds one.

None of them opens a network except `embed` (through the extractor it is given) and a Ray connection where
`ray` is given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from myPython.pool.embed import EmbedOptions, EmbedReport
from myPython.pool.store import DescriptorStore


def store_meta(spec, extractor, *, local_features: bool = True, sampling: dict | None = None,
               inputs: Sequence[str | os.PathLike] = (), dim: int | None = None, panels: bool = False,
               turns: bool = False) -> dict:
    """The metadata every store is created with: model, settings (int8 descriptors have their own key, so a store
    holds one kind), engine, dimension (`dim`, else found by describing a blank image), local features, sub-rows
    ("panels": the panel detector's version and/or TURNS_VERSION, None without any), sampling and inputs."""
    from myPython.pool.panels import PANELS_VERSION
    from myPython.pool.sub_rows import TURNS_VERSION
    from myPython.pool.verify import FEATURES_VERSION

    if dim is None:
        dim = len(extractor.describe(np.zeros((64, 64, 3), np.uint8)))  # the net's output size
    sampling = sampling or {"fps": EmbedOptions().fps, "max_frames": None}
    return {"model": spec.fingerprint() if spec is not None else None,
            "model_name": spec.name if spec is not None else None,
            "settings": extractor.key(), "engine": getattr(extractor.engine, "name", None),
            "dim": int(dim), "fps": sampling["fps"], "output": spec.output if spec is not None else None,
            "sampling": sampling, "local_features": FEATURES_VERSION if local_features else None,
            "panels": "+".join(v for v, on in ((PANELS_VERSION, panels), (TURNS_VERSION, turns)) if on) or None,
            "inputs": [str(Path(i).resolve()) for i in inputs]}


def embed(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, spec, extractor,
          options: EmbedOptions | None = None, *, ray: str | None = None, ray_actors: int | None = None,
          progress: bool = False) -> EmbedReport:
    """Images and video frames of `inputs` (files, folders, list files) -> the store `out`, created or resumed.

    Bad inputs are skipped and listed in the report (also written to `out/report.json`); a killed run resumes.
    `ray`: a Ray address ('' for a local Ray), whose actors run the engine this extractor runs and compute the
    local features too: the store a single process writes.
    """
    from myPython.common.fileio import atomic_write_text
    from myPython.pool.inputs import assign_ids, collect_inputs, label_roots

    options = options or EmbedOptions()
    roots, problems = collect_inputs(list(inputs))
    meta = store_meta(spec, extractor, local_features=options.local_features, inputs=inputs, panels=options.panels,
                      turns=options.turns,
                      sampling={"fps": options.fps, "max_frames": options.max_frames})
    store = DescriptorStore.create(out, meta)
    with store.writer_lock():  # the root labels and the shards change together
        labels = label_roots(roots, store.root_labels())
        store.save_root_labels(labels)
        items, id_problems = assign_ids(roots, labels)
        problems += id_problems
        if ray is not None:
            from myPython.pool.distributed import embed_on_ray

            report = embed_on_ray(items, spec, extractor.settings, store, options, address=ray or None,
                                  engine=extractor.engine.name, num_actors=ray_actors, progress=progress)
        else:
            from myPython.pool.embed import embed_items

            report = embed_items(items, extractor, store, options, progress=progress)
    report.skipped.extend(problems)
    run_info = {"summary": report.summary(), **dict(vars(report))}
    atomic_write_text(Path(out) / "report.json", json.dumps(run_info, indent=2) + "\n")
    return report


def score_options_for(db: DescriptorStore, spec=None, raw: bool = False):
    """The model's fused, verified score for this store (plain cosine with `raw` or without local features)."""
    from myPython.pool.scoring import score_options

    if spec is None:
        from myPython.retrieval.models import load_model

        spec = load_model()
    return score_options(spec, raw=raw, store=db)


def _graph(db: DescriptorStore, score, neighbours: int, graph_k: int | None, progress: bool,
           ray: str | None = None):
    """The store's neighbour graph (pool/knn_graph.py) holding `neighbours` per row, built when needed (on Ray with
    `ray`, as in `embed`: its kNN on actors holding index shards, its pairs verified as tasks); None when it cannot
    be written (a read-only store: then the caller searches as without a graph)."""
    import sys

    from myPython.pool.knn_graph import DEFAULT_K, GraphSettings, ensure_graph

    for shard in db.snapshot().shards():  # a damaged store fails with its one-line error before any work
        shard.ids()
    try:
        return ensure_graph(db, score, GraphSettings(k=max(graph_k or DEFAULT_K, neighbours), ray=ray),
                            progress=progress)
    except OSError as exc:  # EROFS, EACCES, ENOSPC
        print(f"note: no neighbour graph kept in {db.root} ({exc.strerror}): searching without one", file=sys.stderr)
        return None


def _uses_graph(graph: bool, graph_k: int | None, neighbours: int, factory: str) -> bool:
    from myPython.pool.knn_graph import DEFAULT_K

    return graph and factory == "Flat" and neighbours <= (graph_k or DEFAULT_K)


def search(db: DescriptorStore, queries: DescriptorStore | None = None, *, spec=None, top_k: int = 10,
           threshold: float | None = None, raw: bool = False, factory: str = "Flat", nprobe: int | None = None,
           ef_search: int | None = None, score=None, graph: bool = True, graph_k: int | None = None,
           ray: str | None = None, progress: bool = False) -> Iterator[tuple[str, list]]:
    """(query id, neighbours best first) for every row of `queries` (default: the db, without self-matches).

    A store searched against itself (`factory` "Flat") is answered from its neighbour graph (pool/knn_graph.py,
    built or extended first when needed) when `top_k` <= its k (`graph_k`, default 50); `graph=False` searches
    and verifies again instead. `ray`: a Ray address ('' for a local Ray, as in `embed`) on which a graph built
    here is built (pool/knn_ray.py, pool/graph_ray.py); its answers are the same.
    """
    from myPython.pool.knn_graph import DEFAULT_K
    from myPython.pool.panel_rows import fold_answers
    from myPython.pool.search import SearchOptions
    from myPython.pool.search import search as knn_search

    score = score or score_options_for(db if queries is None else queries, spec, raw)
    same = queries is None or Path(queries.root).resolve() == Path(db.root).resolve()
    panels = any(store is not None and store.meta.get("panels") for store in (db, queries))
    # With panel rows, an owner's neighbours are folded from its own list and its panels' lists, where one
    # neighbour may stand several times (its row and its panels): twice the lists, then folded to top_k.
    asked = min(2 * top_k, max(top_k, graph_k or DEFAULT_K)) if panels else top_k
    answers = None
    if same and _uses_graph(graph, graph_k, asked, factory):
        from myPython.pool.knn_graph import graph_search

        built = _graph(db, score, asked, graph_k, progress, ray)
        if built is not None:
            answers = graph_search(built, score, asked, threshold)
    if answers is None:
        answers = knn_search(db, queries, SearchOptions(top_k=asked, threshold=threshold, factory=factory,
                                                        nprobe=nprobe, ef_search=ef_search, score=score))
    if not panels:
        return answers
    from myPython.pool.panel_rows import PanelIds

    frame_only = PanelIds(db if same else queries, db).frame_only  # whole pictures alike by their frames alone
    return fold_answers(answers, top_k, frame_only)


def group(db: DescriptorStore, *, spec=None, threshold: float | None = None, raw: bool = False,
          neighbours: int = 50, factory: str = "Flat", min_size: int = 2, min_link_fraction: float | None = None,
          score=None, graph: bool = True, graph_k: int | None = None, ray: str | None = None,
          progress: bool = False) -> tuple[float, list]:
    """(threshold used, same-origin groups that do not chain) at the model's recommended threshold by default.

    Links come from the store's neighbour graph (as in `search`) when `neighbours` <= its k; the same groups as
    `groups.find_groups`, which `graph=False` runs. `ray`: as in `search`, and each connected component of the
    links is grouped as a Ray task (pool/groups_ray.py): the same groups.
    """
    from myPython.pool.groups import find_groups

    score = score or score_options_for(db, spec, raw)
    threshold = score.threshold if threshold is None else threshold
    built = _graph(db, score, neighbours, graph_k, progress, ray) if _uses_graph(graph, graph_k, neighbours, factory) \
        else None
    if built is not None:
        from myPython.pool.knn_graph import graph_groups

        return threshold, graph_groups(built, score, threshold, neighbours=neighbours, min_size=min_size,
                                       min_link_fraction=min_link_fraction, ray=ray)
    return threshold, find_groups(db, threshold, options=score, neighbours=neighbours, factory=factory,
                                  min_size=min_size, min_link_fraction=min_link_fraction)


def _kept_graph(db: DescriptorStore, scores: Sequence, neighbours: int):
    """A current, complete neighbour graph of the store holding `neighbours` rows per list (itself included), for
    any of `scores`; None when none is kept. Never builds one. Above `knn_graph.EXACT_MAX_ROWS` rows the graph's
    lists come from an IVF index whose recall against exact search was measured (>= 0.95): the store's one kNN."""
    from myPython.pool.knn_graph import GraphSettings, open_graph

    for score in scores:
        graph, _ = open_graph(db, score, GraphSettings(k=neighbours - 1))
        if graph is not None:
            return graph
    return None


def match_videos(db: DescriptorStore, queries: DescriptorStore | None = None, *, spec=None, noise=None,
                 options=None, score=None, graph: bool = True, progress: bool = False, ray: str | None = None,
                 **overrides) -> list:
    """Same-origin video pairs with their matched segments (`VideoMatch`, scored by the model's calibrated
    scorer). `noise`: the noise set's descriptors (default: the ones the model's build wrote); `overrides`: any
    `calibrated_options` argument (knn, max_candidates, aligner, factory, nprobe, verify, verify_floor).

    A store matched against itself by exact search reads its frames' nearest frames from the neighbour graph
    `search` and `group` keep (of `score`, default the model's fused or raw score) when a current one holds
    enough neighbours: the same lists (up to 200k rows; above, the graph's approximate ones).
    None is built here (that would verify pairs matching does not need);
    `graph=False` always searches. `ray`: align the candidates as Ray tasks (pool/video_ray.py; "" a local Ray,
    else a cluster's address), the same matches."""
    from myPython.pool.informative import model_noise_descriptors
    from myPython.pool.video_match import calibrated_options
    from myPython.pool.video_match import match_videos as match

    if spec is None and (noise is None or options is None or (graph and score is None)):
        from myPython.retrieval.models import load_model

        spec = load_model()
    if noise is None:
        noise = model_noise_descriptors(spec, db.meta.get("settings"))
        if noise is None:
            raise ValueError(f"{spec.name}: no noise-set descriptors for {db.root}'s settings; pass noise=")
    options = options or calibrated_options(spec.info, **overrides)
    db = db.snapshot()  # the graph's rows are the matcher's
    same = queries is None or Path(queries.root).resolve() == Path(db.root).resolve()
    kept = None
    if graph and same and options.factory == "Flat":
        from myPython.pool.knn_graph import graph_cosine_blocks
        from myPython.pool.video_match import KeptNeighbours

        scores = [score] if score is not None else [score_options_for(db, spec, raw) for raw in (False, True)]
        graph_kept = _kept_graph(db, scores, options.knn + 1)
        if graph_kept is not None:
            kept = KeptNeighbours(partial(graph_cosine_blocks, graph_kept), graph_kept.width,
                                  graph_kept.method["method"] == "exact")
    align = None
    if ray is not None:
        from myPython.pool.video_ray import RayAligner

        align = RayAligner(ray or None)
    return list(match(db, queries, options, noise, progress=progress, kept=kept, align=align))
