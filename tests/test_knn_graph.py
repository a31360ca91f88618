"""The neighbour graph (pool/knn_graph.py): the same answers as searching again, resumable, extensible, never stale.

One small synthetic store (360 rows in 4 shards, 64-D, with planted copies, look-alikes and video frames carrying
local features) is written once; every test works on its own copy. The fused score uses a fusion with a high
`min_cosine` and few candidates so that verification takes seconds; the code paths are the model's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from myPython.pool import jobs
from myPython.pool.graph_verify import Verifier
from myPython.pool.groups import find_groups
from myPython.pool.knn_graph import (
    GRAPH_DIR,
    GraphSettings,
    ensure_graph,
    graph_cosine_blocks,
    graph_groups,
    graph_search,
    open_graph,
)
from myPython.pool.scoring import Fusion, LocalFeatureIndex, ScoreOptions, candidate_pairs, verified_inliers
from myPython.pool.search import SearchOptions, _knn_blocks, exact_knn, search
from myPython.pool.store import DescriptorStore
from myPython.pool.synth import SynthParams, synth_pool

FUSED = ScoreOptions("fused", 0.73, Fusion(7.79, 2.12, -8.57, min_cosine=0.6, candidates=5), 0.6)
COSINE = ScoreOptions("cosine", 0.8, None, 1.0)
SMALL = GraphSettings(k=20, part_rows=100, workers=2)  # 4 parts, the last one short
ARRAYS = ("rows", "cosine", "inliers", "fused")


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("graph") / "store"
    synth_pool(out, SynthParams(rows=360, videos=2, shard_size=90, dim=64, seed=5))
    return out


@pytest.fixture
def store(master, tmp_path) -> Path:
    out = tmp_path / "store"
    shutil.copytree(master, out)
    return out


def arrays(graph) -> dict[str, np.ndarray]:
    return {k: np.concatenate([np.asarray(p[k]) for _, p in graph.blocks()]) for k in ARRAYS}


def assert_same_graph(a, b) -> None:
    left, right = arrays(a), arrays(b)
    for key in ARRAYS:
        assert np.array_equal(left[key], right[key]), key


def keep_shards(root: Path, count: int) -> list[Path]:
    """Move the shards after the first `count` out of the store; returns their files."""
    aside = root.parent / "aside"
    aside.mkdir(exist_ok=True)
    moved = []
    for marker in sorted((root / "shards").glob("shard-*.json"))[count:]:
        name = marker.name[: -len(".json")]
        for path in sorted((root / "shards").glob(f"{name}.*")):
            moved.append(Path(shutil.move(path, aside / path.name)))
    return moved


def test_search_and_groups_are_today_s(store):
    db = DescriptorStore.open(store)
    for score in (FUSED, COSINE):
        for top_k, threshold in ((20, None), (5, 0.5)) if score.fusion else ((10, None), (20, None), (5, 0.5)):
            today = list(search(db, None, SearchOptions(top_k=top_k, threshold=threshold, score=score)))
            graph = list(jobs.search(db, top_k=top_k, threshold=threshold, score=score, graph_k=20))
            assert graph == today, (score.name, top_k, threshold)
        today_groups = find_groups(db, score.threshold, options=score, neighbours=20)
        threshold, groups = jobs.group(db, score=score, neighbours=20, graph_k=20)
        assert threshold == score.threshold and groups == today_groups and len(groups) > 5
    assert len(list((store / GRAPH_DIR).glob("*.json"))) == 2  # one graph per score, both kept
    meta = open_graph(db, FUSED, GraphSettings(k=20))[0].meta
    assert meta["method"]["method"] == "exact" and meta["k"] == 20 and meta["built"]["verified"] > 100
    assert meta["key"]["fusion"] == FUSED.fusion.to_dict() and [s[0] for s in meta["shards"]] == \
        [s.name for s in db.shards()]
    # the cosine lists match-videos searches for (its frame kNN of the store against itself)
    graph = open_graph(db, FUSED, GraphSettings(k=20))[0]
    for (ids, cosine, rows), (ids2, cosine2, rows2) in zip(graph_cosine_blocks(graph, 21),
                                                           _knn_blocks(db, db, 21, SearchOptions())):
        assert ids == ids2 and np.array_equal(rows, rows2) and np.array_equal(cosine, cosine2)
    # --no-graph and a top_k above the graph's k search again, with the same answers
    assert list(jobs.search(db, top_k=10, score=FUSED, graph=False)) == \
        list(jobs.search(db, top_k=10, score=FUSED, graph_k=20))
    assert list(jobs.search(db, top_k=30, score=COSINE, graph_k=20)) == \
        list(search(db, None, SearchOptions(top_k=30, score=COSINE)))


def test_equal_cosines_keep_exact_search_s_order(tmp_path):
    rng = np.random.default_rng(3)
    base = rng.normal(size=(5, 16)).astype(np.float32)
    vectors = base[rng.integers(0, 5, size=24)]  # exact duplicates: equal cosines everywhere
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db = DescriptorStore.create(tmp_path / "ties", {"dim": 16})
    for n in range(3):
        db.commit_shard(f"shard-{n:06d}", [f"r{n}-{i}" for i in range(8)], vectors[8 * n : 8 * n + 8], [], [])
    # every row listed (no tie cut by k: which of rows tied at the k-th place exact search keeps depends on k)
    for score in (COSINE, FUSED):  # fused: no local features, nothing verified
        today = list(search(db, None, SearchOptions(top_k=23, score=score)))
        assert list(jobs.search(db, top_k=23, score=score, graph_k=30)) == today
        assert jobs.group(db, score=score, neighbours=23, graph_k=30)[1] == \
            find_groups(db, score.threshold, options=score, neighbours=23)


def test_a_store_that_cannot_keep_a_graph_is_searched_without_one(master, monkeypatch, capsys):
    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("myPython.pool.knn_graph.ensure_graph", read_only)
    db = DescriptorStore.open(master)
    assert list(jobs.search(db, top_k=5, score=COSINE)) == list(search(db, None, SearchOptions(top_k=5, score=COSINE)))
    assert jobs.group(db, score=COSINE, neighbours=10)[1] == find_groups(db, 0.8, options=COSINE, neighbours=10)
    assert "searching without one" in capsys.readouterr().err
    assert not (master / GRAPH_DIR).exists()


def test_parallel_verification_is_serial(master):
    db = DescriptorStore.open(master)
    _, vectors = db.load()
    scores, rows = exact_knn(vectors, db, 7)
    pairs = [p for p in candidate_pairs(scores, rows, FUSED.fusion, same=False) if p[0] != p[1]][:150]
    index = LocalFeatureIndex(db)
    serial = verified_inliers(pairs, index, index)
    assert serial.max() > 10 and (serial == 0).any()  # copies and non-copies
    with Verifier(db, workers=2, batch=7, min_parallel=0) as verifier:
        parallel = verifier(pairs)
        again = verifier([(b, a) for a, b in pairs])  # either order: the lower row first, as serial does
    assert np.array_equal(parallel, serial) and np.array_equal(again, serial)
    # RANSAC is seeded on every call: the same pair twice in one process gives the same count
    assert np.array_equal(verified_inliers(pairs, index, index), serial)


def test_a_killed_build_resumes_to_the_same_graph(store, tmp_path):
    class Killed(Exception):
        pass

    def kill_after_two(parts: int) -> None:
        if parts == 2:
            raise Killed

    db = DescriptorStore.open(store)
    with pytest.raises(Killed):
        ensure_graph(db, FUSED, SMALL, on_part=kill_after_two)
    assert open_graph(db, FUSED, SMALL)[0] is None  # incomplete: not used
    (next((store / GRAPH_DIR).glob("*-*")) / ".part-000000000300.rows.npy.junk.tmp").write_bytes(b"half")
    resumed = ensure_graph(db, FUSED, SMALL)
    assert resumed.meta["built"]["parts_built"] == 2  # the two committed parts were kept
    assert resumed.meta["built"]["looked_up"] > 0  # pairs met from their other side, read back from the parts
    fresh_root = tmp_path / "fresh"
    shutil.copytree(store, fresh_root)
    shutil.rmtree(fresh_root / GRAPH_DIR)
    fresh = ensure_graph(DescriptorStore.open(fresh_root), FUSED, SMALL)
    assert_same_graph(resumed, fresh)
    assert resumed.meta["built"]["verified"] < fresh.meta["built"]["verified"]  # the kept parts' pairs were not


@pytest.mark.parametrize("db_block", [None, 100])
def test_extension_equals_rebuild_and_stale_graphs_are_never_used(store, tmp_path, monkeypatch, db_block):
    if db_block is not None:  # exact search joins shards into blocks of 180 rows: old rows searched partly again
        monkeypatch.setattr("myPython.pool.search.DB_BLOCK", db_block)
    moved = keep_shards(store, 2)  # 180 rows: part 0-99 complete, 100-179 short
    db = DescriptorStore.open(store)
    old = ensure_graph(db, FUSED, SMALL)
    assert len(old.store) == 180
    for path in moved:  # two shards are added
        shutil.move(path, store / "shards" / path.name)
    db = DescriptorStore.open(store)
    graph, reason = open_graph(db, FUSED, SMALL)
    assert graph is None and "2 shard(s) were added" in reason
    extended = ensure_graph(db, FUSED, SMALL)
    assert extended.meta["extended_from"] == 180 and len(extended.store) == 360
    assert extended.meta["built"]["looked_up"] > 0
    assert not old.folder.exists()  # replaced
    rebuilt_root = tmp_path / "rebuilt"
    shutil.copytree(store, rebuilt_root)
    shutil.rmtree(rebuilt_root / GRAPH_DIR)
    rebuilt = ensure_graph(DescriptorStore.open(rebuilt_root), FUSED, SMALL)
    assert rebuilt.meta["extended_from"] is None
    assert_same_graph(extended, rebuilt)
    assert list(graph_search(extended, FUSED, 10)) == list(graph_search(rebuilt, FUSED, 10))
    assert graph_groups(extended, FUSED, 0.73, neighbours=20) == graph_groups(rebuilt, FUSED, 0.73, neighbours=20)

    # stale: another score, more neighbours than built, a shard written again, a damaged part
    other = ScoreOptions("fused", 0.73, Fusion(7.79, 2.12, -8.57, min_cosine=0.5, candidates=5), 0.6)
    assert open_graph(db, other, SMALL)[0] is None
    assert "fewer neighbours" in open_graph(db, FUSED, GraphSettings(k=30, part_rows=100))[1]
    assert open_graph(db, FUSED, SMALL)[1] == "current"
    part = next(extended.folder.glob("part-*.inliers.npy"))
    part.write_bytes(part.read_bytes()[:-8])
    assert "damaged" in open_graph(db, FUSED, SMALL)[1]
    assert_same_graph(ensure_graph(db, FUSED, SMALL), rebuilt)  # the damaged part is built again
    marker = store / "shards" / "shard-000003.json"
    data = json.loads(marker.read_text())
    data["files"]["shard-000003.npy"]["sha256"] = "0" * 64
    marker.write_text(json.dumps(data))
    assert open_graph(DescriptorStore.open(store), FUSED, SMALL)[1] == "built for other shards"


def test_approximate_index_is_chosen_by_measured_recall(tmp_path):
    out = tmp_path / "big"
    synth_pool(out, SynthParams(rows=4000, videos=0, shard_size=1000, dim=64, seed=2, local_features=False))
    db = DescriptorStore.open(out)
    settings = GraphSettings(k=10, exact_max_rows=2000, recall_sample=300)
    graph = ensure_graph(db, COSINE, settings)
    method = graph.meta["method"]
    assert method["method"] == "approximate" and method["factory"].startswith("IVF")
    assert method["recall"] >= 0.95 and method["sample"] == 300
    assert all(r < 0.95 for _, r in method["measured"][:-1])  # the cheapest setting that reaches it
    assert not list((out / "index").glob("*.faiss"))  # the index served the build; the complete graph does not need it
    from myPython.pool.jobs import _kept_graph

    assert _kept_graph(db, [COSINE], 11).meta == graph.meta  # match-videos reads this graph: the store's one kNN
    # its lists against exact search, on every row
    _, vectors = db.load()
    exact = exact_knn(vectors, db, 11)[1]
    found = arrays(graph)["rows"]
    share = np.mean([len(np.intersect1d(f, e)) / len(e) for f, e in zip(found, exact)])
    assert share >= 0.9
