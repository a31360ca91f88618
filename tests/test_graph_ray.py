"""Verification of the neighbour graph's pairs, the grouping of components and the alignment of video pairs on
Ray (pool/graph_ray.py, pool/groups_ray.py, pool/video_ray.py): what local workers give.

A local Ray of 2 CPUs serves the module; the store is a smaller one of test_knn_graph.py's kind (240 rows in 3
shards, planted copies, local features) and the fused score verifies few candidates, so that it takes seconds.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_knn_graph import ARRAYS, FUSED, arrays

from myPython.apps.cli import main
from myPython.pool import graph_ray, groups_ray, jobs, search
from myPython.pool.graph_index import canonical
from myPython.pool.graph_ray import RayVerifier
from myPython.pool.graph_verify import matches_of
from myPython.pool.groups import group_links
from myPython.pool.knn_graph import GRAPH_DIR, GraphSettings, ensure_graph, graph_groups, open_graph
from myPython.pool.knn_ray import ShardedIndex
from myPython.pool.scoring import LocalFeatureIndex, candidate_pairs, verified_inliers
from myPython.pool.search import exact_knn
from myPython.pool.store import DescriptorStore
from myPython.pool.synth import SynthParams, synth_pool

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install ray)")


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("graph_ray") / "store"
    synth_pool(out, SynthParams(rows=240, videos=2, shard_size=80, dim=64, seed=5))
    return out


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


def test_ray_verification_is_serial(master, local_ray, monkeypatch):
    monkeypatch.chdir(master.parent)
    db = DescriptorStore.open("store")  # a relative root: the tasks run elsewhere and still find the store
    _, vectors = db.load()
    scores, rows = exact_knn(vectors, db, 7)
    pairs = [p for p in candidate_pairs(scores, rows, FUSED.fusion, same=False) if p[0] != p[1]][:100]
    index = LocalFeatureIndex(db)
    serial = verified_inliers(pairs, index, index)
    assert serial.max() > 10 and (serial <= 3).any()  # copies and non-copies (RANSAC's minimal sample at most)
    with RayVerifier(db, batch=7, min_parallel=0) as verifier:
        found = verifier(pairs)
        assert found.dtype == np.int32 and np.array_equal(found, serial)
        assert np.array_equal(verifier([(b, a) for a, b in pairs]), serial)  # the lower row first, as serial
        assert verifier.workers == 2
        ordered = np.sort(np.array(pairs[:20]), axis=1)
        for got, want in zip(verifier.matches(ordered), matches_of(ordered, index)):  # the shared-content pass's
            for x, y in zip(got, want):
                np.testing.assert_array_equal(x, y)
    assert ray.is_initialized()  # a Ray the verifier did not start is left running


def tied_store(root: Path) -> DescriptorStore:
    """Three shards of 40 rows, the third a copy of the first: equal scores in different index shards."""
    db = DescriptorStore.create(root, {"dim": 32})
    x = np.random.default_rng(3).normal(size=(80, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    for n, rows in enumerate((x[:40], x[40:], x[:40])):
        db.commit_shard(f"shard-{n:06d}", [f"r{n}-{i}" for i in range(40)], rows, [], [])
    return db


def test_index_shards_on_ray_answer_as_one_index(tmp_path, local_ray, monkeypatch):
    db = tied_store(tmp_path / "store")
    monkeypatch.setattr(search, "DB_BLOCK", 40)  # three exact-search blocks, so that two actors share them
    _, x = db.load()
    want = exact_knn(x, db, 12)
    with ShardedIndex(db, None) as index:
        assert [p.blocks for p in index.parts] == [[[0], [1]], [[2]]] and len(index.actors) == 2
        got = index.search(x, 12)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert (got[1][:40, :2] % 80 == np.arange(40)[:, None]).all()  # each row found with its copy
        assert np.array_equal(index.search(x[:3], 150)[1][:, -10:], -np.ones((3, 10)))  # fewer rows than k
    local = search.build_index(db, "IVF4,Flat")
    with ShardedIndex(db, None, "IVF4,Flat") as index:
        assert [p.blocks for p in index.parts] == [[[0], [1]], [[2]]]
        for nprobe in (1, 2, 4):
            search.set_search_params(local, nprobe)
            index.set_nprobe(nprobe)
            want, got = canonical(*local.search(x, 20), 12), canonical(*index.search(x, 20), 12)
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), nprobe
    assert search.trained_path(db, "IVF4,Flat").is_file()  # kept for a resumed build


def test_approximate_graph_built_on_ray_is_the_local_one(master, local_ray, tmp_path, monkeypatch):
    settings = {"k": 10, "exact_max_rows": 100, "recall_sample": 60, "min_recall": 0.99}
    built = {}
    for name, address in (("local", None), ("ray", "")):
        db = DescriptorStore.open(shutil.copytree(master, tmp_path / name))
        built[name] = arrays(ensure_graph(db, FUSED, GraphSettings(**settings, ray=address)))
        graph = open_graph(db, FUSED, GraphSettings(k=10))[0]
        built[name]["method"] = graph.meta["method"]
        assert not (db.root / "index").exists() or not list((db.root / "index").iterdir())  # removed when done
    assert built["ray"]["method"] == built["local"]["method"]
    assert built["ray"]["method"]["method"] == "approximate" and len(built["ray"]["method"]["measured"]) > 1
    for key in ARRAYS:
        assert np.array_equal(built["ray"][key], built["local"][key]), key


def test_graph_and_groups_built_on_ray_are_the_local_ones(master, local_ray, tmp_path, monkeypatch):
    monkeypatch.setattr(graph_ray, "MIN_PARALLEL_PAIRS", 0)  # every part's pairs go to Ray, however few
    monkeypatch.setattr(search, "DB_BLOCK", 80)  # the kNN from three blocks on two actors
    monkeypatch.setattr(groups_ray, "LINKS_PER_TASK", 4)  # the groups' components on several tasks
    built = {}
    for name, address in (("local", None), ("ray", "")):
        db = DescriptorStore.open(shutil.copytree(master, tmp_path / name))
        _, groups = jobs.group(db, score=FUSED, neighbours=10, graph_k=10, ray=address)  # one part
        listed = list(jobs.search(db, top_k=10, score=FUSED, graph_k=10, ray=address))  # read back, not rebuilt
        parts = ensure_graph(db, FUSED, GraphSettings(k=10, part_rows=70, workers=2, ray=address))  # 4 parts
        built[name] = (open_graph(db, FUSED, GraphSettings(k=10))[0], parts, groups, listed,
                       sorted(p.name for p in (db.root / GRAPH_DIR).iterdir()))
    (local, local_parts, *local_rest), (remote, remote_parts, *remote_rest) = built["local"], built["ray"]
    for graph in (remote, remote_parts):
        assert graph.meta["built"]["ray"] and graph.meta["built"]["workers"] == 2
    assert remote_parts.meta["built"]["looked_up"] > 0 and len(remote_parts.meta["parts"]) == 4
    assert remote.meta["built"]["verified"] == local.meta["built"]["verified"] > 50
    for left, right in ((local, remote), (local_parts, remote_parts)):
        left, right = arrays(left), arrays(right)
        for key in ARRAYS:
            assert np.array_equal(left[key], right[key]), key
    assert remote_rest == local_rest  # groups, search answers, graph files (Ray is not part of the graph's key)
    assert len(local_rest[0]) > 2 and graph_groups(remote_parts, FUSED, FUSED.threshold, neighbours=10) == \
        graph_groups(local_parts, FUSED, FUSED.threshold, neighbours=10)


def test_components_grouped_on_ray_are_the_local_groups(local_ray):
    rng = np.random.default_rng(3)
    n = 300
    block = rng.integers(0, 30, 700) * 10  # links within 30 blocks of 10 rows, a few across
    a, b = block + rng.integers(0, 10, 700), np.where(rng.random(700) < 0.02, rng.integers(0, n, 700),
                                                      block + rng.integers(0, 10, 700))
    s, attach = np.round(rng.uniform(0.2, 1.0, 700), 1), rng.random(700) < 0.3
    assert len(groups_ray.component_batches(n, a, b, s, 0.5, attach, per_task=30)) > 3
    for min_size in (1, 2):
        local = group_links(n, a, b, s, 0.5, min_link_fraction=0.6, min_size=min_size, attach_only=attach)
        assert groups_ray.group_on_ray(n, a, b, s, 0.5, min_link_fraction=0.6, min_size=min_size, attach_only=attach,
                                       per_task=30) == local
    assert groups_ray.group_on_ray(n, a, b, s, 1.5, min_link_fraction=0.6, min_size=2) == []  # no link at all


@pytest.mark.parametrize("command", ["search", "group"])
def test_ray_without_the_graph_is_refused(master, tmp_path, command, capsys):
    assert main([command, "--db", str(master), "--no-graph", "--ray", "--out", str(tmp_path / "out")]) == 2
    assert "--no-graph" in capsys.readouterr().err


def test_video_alignment_on_ray_gives_the_local_matches(tmp_path, local_ray):
    """match-videos' candidate pairs aligned (and their segments verified) as Ray tasks: the local matches, in order,
    however the pairs are cut into tasks; no task splits a query video's pairs."""
    from myPython.pool.video_match import MatchOptions, csv_rows, match_videos
    from myPython.pool.video_ray import RayAligner, batches

    store = tmp_path / "videos"
    synth_pool(store, SynthParams(rows=420, videos=14, frames_per_video=20, shard_size=140, dim=64, seed=3,
                                  video_copies_fraction=0.5))
    db = DescriptorStore.open(store)
    options = MatchOptions(verify=True, verify_floor=0.0)  # every segment verified: the geometry runs in the tasks
    noise = np.zeros((0, db.dim), np.float32)
    local = list(match_videos(db, None, options, noise))
    assert len(local) >= 3 and any(s.features.get("inliers", 0) > 10 for m in local for s in m.segments)
    for size in (1, 1000):
        remote = list(match_videos(db, None, options, noise, align=RayAligner(batch=size)))
        assert csv_rows(remote, 0.0) == csv_rows(local, 0.0)
        assert [[s.features for s in m.segments] for m in remote] == [[s.features for s in m.segments] for m in local]
    assert ray.is_initialized()  # a Ray the aligner did not start is left running
    pairs = [(0, 1, 1.0), (0, 2, 1.0), (1, 3, 1.0), (2, 3, 1.0), (2, 4, 1.0), (5, 6, 1.0)]
    assert batches(pairs, 2) == [pairs[:2], pairs[2:5], pairs[5:]]  # (2, 3) and (2, 4) stay together
    assert batches(pairs, 100) == [pairs] and batches([], 3) == []
