"""The neighbour graph of a store: every row's nearest rows with their verification evidence, built once, kept.

`search`, `group` (and whatever else reads a store against itself) answer from it instead of redoing the kNN
search and the geometric verification. For every row it holds its `width` = k + 1 nearest rows by cosine (itself
included, as a search of the store against itself finds it), and for exactly the pairs the fused score verifies
(`scoring.candidate_pairs`: the first `fusion.candidates` of them reaching `fusion.min_cosine`) their RootSIFT
inliers, NOT_VERIFIED elsewhere, and the fused score; each row's list is stored best fused score first (ties in
cosine order, equal cosines the higher row first as FAISS orders them), so any shorter list the search verbs ask
for is a prefix of it.

Layout under STORE/graph/ (one graph per score, `<score>` a digest of the model, features and score settings)::

    <score>.json                      the current complete graph: key, shards, k, method (exact, or the
                                      approximate index with its measured recall), parts, build counts
    <score>-<state>/build.json        what a build in progress builds (shards, method, the graph it extends)
    <score>-<state>/part-<start>.<rows|cosine|inliers>.npy    one block of `part_rows` query rows (int32, float32,
                                      int16: the fused score is computed from them when a part is read)
    <score>-<state>/part-<start>.json commit marker of that part (written last, atomically)

A killed build resumes at the first uncommitted part. A graph whose key (model, settings, features, score) or
shard list differs from the store's is never read: `ensure_graph` extends it when shards were only added (new
rows get full lists, old rows' lists are merged with their nearest new rows, so the result equals a rebuild) and
rebuilds it otherwise. Memory is bounded by one part whatever the store's size: a pair met again from its other
side is looked up in the committed parts (memory-mapped), and the graph is read part by part.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from myPython.common.fileio import atomic_save_npy, atomic_write_text
from myPython.pool import shared_content
from myPython.pool.graph_evidence import PairLookup, evidence
from myPython.pool.graph_index import canonical
from myPython.pool.graph_shared import apply_shared, read_shared, shared_pass
from myPython.pool.scoring import panel_rows_of
from myPython.pool.search import QUERY_BLOCK, row_block_plan
from myPython.pool.store import DescriptorStore

GRAPH_VERSION = 4  # 4: inliers as int16 (at most verify.MAX_KEYPOINTS)
GRAPH_DIR = "graph"
DEFAULT_K = 50  # neighbours per row: group's default --neighbours; search answers any top_k up to it
EXACT_MAX_ROWS = 200_000  # exact kNN up to this many rows, an approximate index measured for recall above
MIN_RECALL = 0.95
# What a part stores (10 bytes a list entry); the fused score is computed from them as a part is read
ARRAYS = {"rows": np.int32, "cosine": np.float32, "inliers": np.int16}


@dataclass
class GraphSettings:
    k: int = DEFAULT_K
    part_rows: int = QUERY_BLOCK  # search's query blocks: the same kNN calls, the same floats
    exact_max_rows: int = EXACT_MAX_ROWS
    min_recall: float = MIN_RECALL
    recall_sample: int = 1000
    workers: int | None = None  # verification processes (None: every core)
    ray: str | None = None  # verify on Ray instead (pool/graph_ray.py): a cluster's address, "" a local Ray


def _digest(value: object, size: int = 12) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:size]


def graph_key(db: DescriptorStore, score, part_rows: int) -> dict:
    """What a graph's lists depend on besides the shards: model, descriptor settings, features, score."""
    fusion = getattr(score, "fusion", None)
    return {"version": GRAPH_VERSION, "model": db.meta.get("model"), "settings": db.meta.get("settings"),
            "local_features": db.meta.get("local_features"), "dim": db.dim,
            "score": getattr(score, "name", "cosine"), "fusion": fusion.to_dict() if fusion is not None else None,
            "part_rows": part_rows,
            "shared_content": None if fusion is None else {"rule": shared_content.VERSION,
                                                            "threshold": float(score.threshold)}}


def shard_list(db: DescriptorStore) -> list[list]:
    """[name, rows, sha256 of the rows file] of every shard: a shard written again is another shard."""
    return [[s.name, s.rows, s.marker.get("files", {}).get(f"{s.name}.npy", {}).get("sha256")] for s in db.shards()]


def _width(settings: GraphSettings, score, db: DescriptorStore) -> int:
    """Rows a list holds: k and the verification's candidates, itself; twice that in a store with panel rows, so
    that the panels of a picture's many composites leave room for its whole rows (scoring.candidate_pairs)."""
    fusion = getattr(score, "fusion", None)
    width = max(settings.k, fusion.candidates if fusion is not None else 0) + 1
    return 2 * width if db.meta.get("panels") else width


# ---- parts on disk ---------------------------------------------------------------------------------------------
def part_name(start: int) -> str:
    return f"part-{start:012d}"


def write_part(folder: Path, start: int, arrays: dict[str, np.ndarray]) -> None:
    """The part's arrays, then its marker (sizes of the files): only the marker makes the part exist."""
    files = {}
    for name, dtype in ARRAYS.items():
        path = folder / f"{part_name(start)}.{name}.npy"
        atomic_save_npy(path, np.ascontiguousarray(arrays[name], dtype))
        files[path.name] = path.stat().st_size
    marker = {"start": start, "stop": start + len(arrays["rows"]), "width": int(arrays["rows"].shape[1]),
              "files": files}
    atomic_write_text(folder / f"{part_name(start)}.json", json.dumps(marker) + "\n")


def read_part(folder: Path, start: int, stop: int, width: int) -> dict[str, np.ndarray] | None:
    """The committed part's arrays, memory-mapped; None when it is missing or does not match its marker."""
    try:
        marker = json.loads((folder / f"{part_name(start)}.json").read_text())
        if (marker["start"], marker["stop"], marker["width"]) != (start, stop, width):
            return None
        out = {}
        for name, dtype in ARRAYS.items():
            path = folder / f"{part_name(start)}.{name}.npy"
            if path.stat().st_size != marker["files"][path.name]:
                return None
            out[name] = np.load(path, mmap_mode="r")
            if out[name].shape != (stop - start, width) or out[name].dtype != dtype:
                return None
        return out
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remove_uncommitted(folder: Path) -> None:
    committed = {p.stem for p in folder.glob("part-*.json")}
    for path in folder.iterdir():
        if path.name.startswith(".") or (path.name.startswith("part-") and path.name.split(".")[0] not in committed):
            path.unlink(missing_ok=True)


# ---- the graph -------------------------------------------------------------------------------------------------
@dataclass
class KnnGraph:
    """A complete graph of the snapshot `store` (read-only; parts memory-mapped on demand)."""

    store: DescriptorStore
    folder: Path
    meta: dict
    _parts: dict[int, dict] = field(default_factory=dict, repr=False)
    _shared: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def width(self) -> int:
        return int(self.meta["width"])

    @property
    def k(self) -> int:
        return self.width - 1

    @property
    def method(self) -> dict:
        return dict(self.meta["method"])

    def part(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The part's lists with their fused scores, the inliers on shared content taken out (`SHARED_FILE`)."""
        if start not in self._parts:
            arrays = read_part(self.folder, start, stop, self.width)
            if arrays is None:
                from myPython.errors import StoreError

                raise StoreError(f"{self.folder}: part {start}..{stop} is damaged or missing; search again to rebuild")
            self._parts[start] = self.complete(arrays, start)
        return self._parts[start]

    def complete(self, arrays: dict[str, np.ndarray], start: int) -> dict[str, np.ndarray]:
        fusion = self.fusion()
        arrays = {**arrays, "fused": list_scores(arrays["cosine"], arrays["rows"], arrays["inliers"], fusion)}
        return apply_shared(arrays, start, self.shared(), fusion)

    def fusion(self):
        from myPython.pool.scoring import Fusion

        fusion = self.meta["key"].get("fusion")
        return None if fusion is None else Fusion.from_dict(fusion)

    def shared(self) -> dict[str, np.ndarray]:
        if self._shared is None:
            shared = read_shared(self.folder, self.meta)
            if shared is None:
                from myPython.errors import StoreError

                raise StoreError(f"{self.folder}: its shared-content pass is damaged or missing; search again")
            self._shared = shared
        return self._shared

    def blocks(self) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """(first row, arrays) of every part, in row order."""
        for start, stop in self.meta["parts"]:
            yield start, self.part(start, stop)


def list_scores(cosine: np.ndarray, rows: np.ndarray, inliers: np.ndarray, fusion) -> np.ndarray:
    """float64 scores of list entries: the fused score (inliers < 0: not verified, as 0), plain cosine without a
    fusion; -inf where there is no neighbour. The build sorts by them and readers compute them again, alike."""
    cosine = np.asarray(cosine)
    if fusion is None:
        out = cosine.astype(np.float64)
    else:  # int32 as computed: log1p of the stored int16 would round in float32
        out = fusion.score(cosine, np.maximum(np.asarray(inliers, np.int32), 0))
    out[np.asarray(rows) < 0] = -np.inf
    return out


def _pointer(folder: Path, key: dict) -> Path:
    return folder / f"{_digest(key)}.json"


def open_graph(db: DescriptorStore, score, settings: GraphSettings | None = None) -> tuple[KnnGraph | None, str]:
    """(the store's current graph for this score, "current") or (None, why it cannot be used)."""
    settings = settings or GraphSettings()
    db = db.snapshot()
    key = graph_key(db, score, settings.part_rows)
    pointer = _pointer(db.root / GRAPH_DIR, key)
    try:
        meta = json.loads(pointer.read_text())
    except FileNotFoundError:
        return None, "no graph for this score"
    except (OSError, ValueError):
        return None, f"{pointer} is not readable"
    if meta.get("key") != key:
        return None, "built for another model, features or score"
    shards = shard_list(db)
    if meta.get("shards") != shards:
        old = meta.get("shards") or []
        if old == shards[: len(old)]:
            return None, f"built before {len(shards) - len(old)} shard(s) were added"
        return None, "built for other shards"
    if int(meta.get("width", 0)) < _width(settings, score, db):
        return None, f"built for k={int(meta.get('width', 1)) - 1}, fewer neighbours than asked"
    graph = KnnGraph(db, db.root / GRAPH_DIR / meta["dir"], meta)
    for start, stop in meta["parts"]:
        arrays = read_part(graph.folder, start, stop, graph.width)
        if arrays is None:
            return None, f"part {start}..{stop} is damaged or missing"
        graph._parts[start] = arrays  # mapped now: a newer graph replacing this one leaves this view readable
    shared = read_shared(graph.folder, meta)
    if shared is None:
        return None, "its shared-content pass is damaged or missing"
    graph._shared = shared
    graph._parts = {start: graph.complete(arrays, start) for start, arrays in graph._parts.items()}
    return graph, "current"


@contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # another builder of this store: wait, then use what it built
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_graph(db: DescriptorStore, score, settings: GraphSettings | None = None, *, progress: bool = False,
                 on_part: Callable[[int], None] | None = None) -> KnnGraph:
    """The store's graph for `score` (pool.scoring.ScoreOptions), built, resumed or extended first when needed.

    `on_part(n)` hears of every part committed by this call (n: parts committed so far).
    """
    settings = settings or GraphSettings()
    db = db.snapshot()
    graph, _ = open_graph(db, score, settings)
    if graph is not None:
        return graph
    with _build_lock(db.root / GRAPH_DIR):
        graph, reason = open_graph(db, score, settings)
        if graph is not None:
            return graph
        return _build(db, score, settings, reason if progress else None, on_part)


# ---- building --------------------------------------------------------------------------------------------------
def _block_rows(db: DescriptorStore, start: int, stop: int) -> np.ndarray:
    """float32 rows start..stop-1 of the store, read from the shards that hold them."""
    parts, offset = [], 0
    for shard in db.shards():
        lo, hi = max(start, offset), min(stop, offset + shard.rows)
        if lo < hi:
            parts.append(np.asarray(shard.vectors()[lo - offset : hi - offset], np.float32))
        offset += shard.rows
    return np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros((0, db.dim), np.float32))


def _tail_block(db: DescriptorStore, row: int) -> tuple[int, int]:
    """(first row, first shard) of the block of database rows holding `row` in exact search
    (`search.row_block_plan`). From there on an extension searches as a rebuild does: the same blocks, so the same
    floats (BLAS sums depend on the shapes of the products)."""
    shards, start = db.shards(), 0
    for block in row_block_plan(db):
        rows = sum(shards[n].rows for n in block)
        if start + rows > row:
            return start, block[0]
        start += rows
    return start, len(shards)


def _base(db: DescriptorStore, folder: Path, key: dict, shards: list, width: int) -> dict | None:
    """The current graph of this key when the store only gained shards since, and it has this width."""
    try:
        meta = json.loads(_pointer(folder, key).read_text())
    except (OSError, ValueError):
        return None
    old = meta.get("shards") or []
    if meta.get("key") != key or int(meta.get("width", 0)) != width or old != shards[: len(old)] or not old:
        return None
    base = KnnGraph(db, folder / meta["dir"], meta)
    if any(read_part(base.folder, a, b, width) is None for a, b in meta["parts"]):
        return None
    return meta


def _build(db: DescriptorStore, score, settings: GraphSettings, progress: str | None,
           on_part: Callable[[int], None] | None) -> KnnGraph:
    """`progress`: why the graph is built, said on stderr with the first part built (not before: a store that
    cannot be read fails with its one-line error alone), then each part."""
    from myPython.pool.graph_index import exact_searcher, open_searcher
    from myPython.pool.graph_ray import graph_verifier

    began = time.perf_counter()
    root = db.root / GRAPH_DIR
    key = graph_key(db, score, settings.part_rows)
    shards = shard_list(db)
    width = _width(settings, score, db)
    try:  # a graph never shrinks: a wider one of this key keeps its width
        width = max(width, int(json.loads(_pointer(root, key).read_text()).get("width", 0)))
    except (OSError, ValueError):
        pass
    name = f"{_digest(key)}-{_digest([shards, width])}"
    work = root / name
    work.mkdir(parents=True, exist_ok=True)
    try:
        plan = json.loads((work / "build.json").read_text())
    except (OSError, ValueError):
        plan = None
    if plan is not None and plan.get("base") is not None and any(
            read_part(root / plan["base"]["dir"], a, b, width) is None for a, b in plan["base"]["parts"]):
        plan = None  # the graph this build extended is gone: start again from scratch
        shutil.rmtree(work)
        work.mkdir()
    if plan is None or plan.get("key") != key or plan.get("shards") != shards:
        base = _base(db, root, key, shards, width)
        plan = {"key": key, "shards": shards, "width": width, "method": None,
                "base": None if base is None else {"dir": base["dir"], "rows": base["rows"],
                                                   "shards": len(base["shards"]), "parts": base["parts"]}}

    total = len(db)
    parts = [[s, min(s + settings.part_rows, total)] for s in range(0, total, settings.part_rows)]
    lookup = PairLookup()
    base = plan["base"]
    base_full = 0  # rows of the base graph's complete parts: their lists are merged, not searched again
    if base is not None:
        lookup.add_graph(root / base["dir"], base["parts"], width)
        base_full = base["rows"] // settings.part_rows * settings.part_rows
        tail_start, tail_shard = _tail_block(db, base["rows"])
        tail = exact_searcher(DescriptorStore(db.root, db.meta, db.shards()[tail_shard:]), width)
    fusion = getattr(score, "fusion", None)
    panel = panel_rows_of(db)
    counts = {"verified": 0, "looked_up": 0, "parts_built": 0}
    with open_searcher(db, width, exact_max_rows=settings.exact_max_rows, min_recall=settings.min_recall,
                       sample=settings.recall_sample, method=plan["method"], ray=settings.ray) as (method, searcher), \
            graph_verifier(db, settings.workers, settings.ray) as verifier:
        plan["method"] = method
        atomic_write_text(work / "build.json", json.dumps(plan, indent=1) + "\n")
        _remove_uncommitted(work)
        for start, stop in parts:
            arrays = read_part(work, start, stop, width)
            if arrays is None:
                block = _block_rows(db, start, stop)
                if stop <= base_full:
                    old = read_part(root / base["dir"], start, stop, width)
                    kept = np.asarray(old["rows"]) < tail_start  # the rest is searched again in the tail
                    scores, found = tail(block)
                    found = np.where(found >= 0, found + tail_start, -1)
                    cosine, rows = canonical(np.concatenate([np.where(kept, old["cosine"], -np.inf), scores], 1),
                                             np.concatenate([np.where(kept, old["rows"], -1), found], 1), width)
                else:
                    cosine, rows = canonical(*searcher(block), width)
                inliers, verified, looked_up = evidence(start, cosine, rows, fusion, lookup, verifier, panel)
                order = np.argsort(-list_scores(cosine, rows, inliers, fusion), axis=1, kind="stable")
                arrays = {"rows": rows, "cosine": cosine, "inliers": inliers}
                arrays = {n: np.take_along_axis(a, order, 1) for n, a in arrays.items()}
                write_part(work, start, arrays)
                arrays = read_part(work, start, stop, width)
                counts["verified"] += verified
                counts["looked_up"] += looked_up
                counts["parts_built"] += 1
                if on_part is not None:
                    on_part(counts["parts_built"])
                if progress is not None:
                    if counts["parts_built"] == 1:
                        print(f"graph: building ({progress})", file=sys.stderr, flush=True)
                    print(f"graph: rows {stop}/{total}, {counts['verified']} pairs verified", file=sys.stderr,
                          flush=True)
            lookup.add_part(start, stop, arrays)
        shared = shared_pass(db, work, parts, width, score, verifier)
    meta = {"key": key, "shards": shards, "rows": total, "width": width, "k": width - 1, "dir": name,
            "method": method, "parts": parts, "extended_from": None if base is None else base["rows"],
            "built": {**counts, "seconds": round(time.perf_counter() - began, 3), "workers": verifier.workers,
                      "ray": settings.ray is not None},
            "shared_content": shared}
    atomic_write_text(_pointer(root, key), json.dumps(meta, indent=1) + "\n")
    if method["method"] == "approximate":  # kept for a resumed build only: 2 KB a row the complete graph never reads
        from myPython.pool.search import index_path, trained_path

        index_path(db.snapshot(), method["factory"]).unlink(missing_ok=True)
        trained_path(db.snapshot(), method["factory"]).unlink(missing_ok=True)
    prefix = f"{_digest(key)}-"
    for other in root.iterdir():  # older graphs of this score (this one replaces them)
        if other.is_dir() and other.name.startswith(prefix) and other.name != name:
            shutil.rmtree(other, ignore_errors=True)
    return KnnGraph(db, work, meta)


# ---- answers ---------------------------------------------------------------------------------------------------
def _taken(graph: KnnGraph, score, neighbours: int) -> int:
    """Entries of each list that today's search of `neighbours` neighbours (plus the query) scores."""
    fusion = getattr(score, "fusion", None)
    take = max(neighbours + 1, fusion.candidates + 1) if fusion is not None else neighbours + 1
    if take > graph.width:
        raise ValueError(f"the graph holds {graph.k} neighbours per row, {take - 1} were asked")
    return take


def graph_search(graph: KnnGraph, score, top_k: int, threshold: float | None = None
                 ) -> Iterator[tuple[str, list[tuple[str, float]]]]:
    """(row id, neighbours best first) of every row, as `search.search` of the store against itself gives them."""
    take = _taken(graph, score, top_k)
    ids = [i for shard in graph.store.shards() for i in shard.ids()]
    for start, arrays in graph.blocks():
        rows, fused = np.asarray(arrays["rows"][:, :take]), np.asarray(arrays["fused"][:, :take])
        for n, (row_list, score_list) in enumerate(zip(rows.tolist(), fused.tolist())):
            query = start + n
            neighbours = []
            for r, s in zip(row_list, score_list):
                if r < 0 or r == query:
                    continue
                if threshold is not None and s < threshold:
                    break
                neighbours.append((ids[r], s))
            yield ids[query], neighbours[:top_k]


def graph_groups(graph: KnnGraph, score, threshold: float, *, neighbours: int = 50, min_size: int = 2,
                 min_link_fraction: float | None = None, ray: str | None = None) -> list:
    """`groups.find_groups` of the store from the graph's lists: the same links, so the same groups (`ray`: each
    component of the links grouped as a Ray task, pool/groups_ray.py)."""
    from myPython.pool.groups import id_groups

    take = _taken(graph, score, neighbours)
    fraction = min_link_fraction if min_link_fraction is not None else getattr(score, "min_link_fraction", 1.0)
    a_parts, b_parts, s_parts = [], [], []
    for start, arrays in graph.blocks():
        found, fused = np.asarray(arrays["rows"][:, :take]), np.asarray(arrays["fused"][:, :take])
        rows = np.arange(start, start + len(found))
        keep = (found >= 0) & (found != rows[:, None]) & (fused >= threshold)
        a_parts.append(np.broadcast_to(rows[:, None], found.shape)[keep])
        b_parts.append(found[keep])
        s_parts.append(fused[keep])
    ids = [i for shard in graph.store.shards() for i in shard.ids()]
    return id_groups(ids, a_parts, b_parts, s_parts, threshold, min_link_fraction=fraction, min_size=min_size,
                     ray=ray, store=graph.store)


def graph_cosine_blocks(graph: KnnGraph, k: int) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
    """(row ids, cosines, rows) per part, each row's k nearest rows by cosine (itself included), best first: what
    `search._knn_blocks` of the store against itself yields (missing neighbours: row -1, cosine -inf)."""
    if k > graph.width:
        raise ValueError(f"the graph holds {graph.width} rows per list, {k} were asked")
    ids = [i for shard in graph.store.shards() for i in shard.ids()]
    for start, arrays in graph.blocks():
        cosine, rows = canonical(np.asarray(arrays["cosine"]), np.asarray(arrays["rows"]), k)
        yield ids[start : start + len(rows)], cosine, rows
