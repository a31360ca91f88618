"""`deep-retrieval synth-pool`: a synthetic store written like embed's, with planted truth the commands find.

One small pool (1600 rows: 20 videos of 30 frames, 1000 stills, shards of 512) serves most tests; the generator's
own checks (layout, cosines, local features, determinism, resuming) need no model (they run with --dim 64 when
none is installed), the scoring checks (`search`, `match-videos`) need the installed default model.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from myPython.apps.cli import main
from myPython.errors import ModelError
from myPython.pool.store import DescriptorStore
from myPython.pool.verify import BYTES_PER_KEYPOINT, MAX_KEYPOINTS, NO_KEYPOINT, POSITION_STEPS, unpack, verify

REPO = Path(__file__).resolve().parent.parent


def _model():
    from myPython.retrieval.models import load_model

    try:
        return load_model()
    except ModelError:
        return None


MODEL = _model()
DIM = [] if MODEL is not None else ["--dim", "64"]
needs_model = pytest.mark.skipif(MODEL is None, reason="no installed default model: search and match-videos need "
                                                        "its calibration (the generator tests ran with --dim 64)")


def synth(out: Path, *extra: str) -> int:
    return main(["synth-pool", *DIM, "--quiet", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "store"
    assert synth(out, "--rows", "1600", "--videos", "20", "--shard-size", "512", "--seed", "7") == 0
    return out


@pytest.fixture(scope="module")
def loaded(pool):
    store = DescriptorStore.open(pool)
    ids, vectors = store.load()
    local = np.concatenate([s.local_features() for s in store.shards()])
    truth = json.loads((pool / "truth.json").read_text())
    return {i: n for n, i in enumerate(ids)}, vectors, local, truth


def shard_files(root: Path) -> dict[str, bytes]:
    """Every shard file but the markers (they hold the commit time), by name."""
    return {p.name: p.read_bytes() for p in sorted((root / "shards").iterdir()) if not p.name.endswith(".json")}


def test_store_is_complete_and_checks_out(pool, capsys):
    store = DescriptorStore.open(pool)
    assert len(store) == 1600 and len(store.shards()) == 4 and store.dim == (MODEL.dim if MODEL else 64)
    assert main(["verify", "--db", str(pool)]) == 0
    assert "all checksums match" in capsys.readouterr().out
    meta = store.meta
    assert meta["synthetic"]["seed"] == 7 and meta["local_features"] and meta["engine"] == "synthetic"
    if MODEL is not None:  # the commands take it as the default model's store
        assert meta["model"] == MODEL.fingerprint() and meta["settings"] == MODEL.settings().key()
    ids = [i for s in store.shards() for i in s.ids()]
    assert len(set(ids)) == 1600
    frames = [i for i in ids if "#t=" in i]
    assert len(frames) == 600 and all(i.startswith("synth/v") and i.endswith(".mp4") for i in {f.split("#")[0]
                                                                                               for f in frames})
    assert {f.split("#t=")[1] for f in frames} == {f"{t}.000" for t in range(30)}
    assert all(i.startswith("synth/i") and i.endswith(".jpg") for i in ids if "#t=" not in i)
    inputs = [i for s in store.shards() for i in s.inputs()]
    assert len(inputs) == 20 + 1000 == len(set(inputs))  # every video whole in one shard
    with open(pool / "truth_segments.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["query_id", "ref_id", "query_start", "query_end", "ref_start", "ref_end"]
    truth = json.loads((pool / "truth.json").read_text())
    assert len(rows) - 1 == len(truth["videos"]) >= 4
    copies = sum(len(g["copies"]) + len(g["near_copies"]) for g in truth["images"])
    assert 45 <= copies <= 55  # 5 % of the 1000 stills, rounded per shard


def test_cosines_copies_above_lookalikes_above_unrelated(loaded):
    index, x, _, truth = loaded
    cos = lambda a, b: float(x[index[a]] @ x[index[b]])  # noqa: E731
    copies = [cos(g["source"], c) for g in truth["images"] for c in g["copies"]]
    near = [cos(g["source"], c) for g in truth["images"] for c in g["near_copies"]]
    look = [cos(a, b) for scene in truth["lookalikes"] for a, b in combinations(scene, 2)]
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(x), (2, 20000))
    unrelated = np.einsum("ij,ij->i", x[a[a != b]], x[b[a != b]])
    assert len(copies) >= 20 and len(near) >= 5 and len(look) >= 50
    assert 0.9 - 1e-4 <= min(copies) and max(copies) <= 0.99 + 1e-4
    assert 0.8 - 1e-4 <= min(near) and max(near) <= 0.9 + 1e-4
    assert 0.6 - 1e-4 <= min(look) and max(look) <= 0.85 + 1e-4
    assert np.quantile(unrelated, 0.95) < 0.5 and np.median(unrelated) < 0.3  # spread, yet mostly low
    assert np.median(copies) - np.median(look) > 0.15 and np.median(look) - np.quantile(unrelated, 0.99) > 0.1
    # videos: neighbouring frames correlated, further apart less; copied segments' frames are near-copies
    step1, step10 = [], []
    for v in range(20):
        rows = [index[f"synth/v{v:06d}.mp4#t={t}.000"] for t in range(30)]
        step1 += [x[r] @ x[s] for r, s in zip(rows, rows[1:])]
        step10 += [x[r] @ x[s] for r, s in zip(rows, rows[10:])]
    assert 0.8 <= np.median(step1) <= 0.95 and np.median(step10) < np.median(step1) - 0.15
    for seg in truth["videos"]:
        for t in range(int(seg["query_end"] - seg["query_start"])):
            q = f"{seg['query_id']}#t={seg['query_start'] + t:.3f}"
            r = f"{seg['ref_id']}#t={seg['ref_start'] + t:.3f}"
            assert cos(q, r) >= 0.9 - 1e-4


def test_local_features_layout_and_inliers(loaded):
    index, _, local, truth = loaded
    assert local.shape == (1600, MAX_KEYPOINTS, BYTES_PER_KEYPOINT) and local.dtype == np.uint8
    valid = local[:, :, -2] != NO_KEYPOINT
    assert (valid.sum(axis=1) >= 48).all() and (local[:, :, :-2][~valid] == 0).all()
    assert (local[:, :, -2:][valid] <= POSITION_STEPS).all()
    bits, positions = unpack(local[0])
    assert 0.3 < np.unpackbits(bits).mean() < 0.7  # sign bits of centred projections: about half set
    inliers = lambda a, b: verify(local[index[a]], local[index[b]]).inliers  # noqa: E731
    copies = [inliers(g["source"], c) for g in truth["images"] for c in g["copies"] + g["near_copies"]]
    look = [inliers(*scene[:2]) for scene in truth["lookalikes"][:20]]
    rng = np.random.default_rng(1)
    ids = list(index)
    unrelated = [inliers(ids[a], ids[b]) for a, b in rng.integers(0, len(ids), (60, 2)) if a != b
                 and ids[a].split("#")[0] != ids[b].split("#")[0]]
    assert np.median(copies) >= 40 and min(copies) >= 8  # the weakest: a near-copy keeping a quarter of its points
    assert max(unrelated) <= 6 and max(look) <= 8 and min(copies) > 2 * max(unrelated + look)
    seg = truth["videos"][0]  # copied video frames verify (one edit for the whole segment, mirrored or not)
    frame = lambda v, t: f"{v}#t={t:.3f}"  # noqa: E731
    assert inliers(frame(seg["query_id"], seg["query_start"]), frame(seg["ref_id"], seg["ref_start"])) >= 12


def test_deterministic_and_resumable(tmp_path, capsys):
    args = ["--rows", "300", "--videos", "4", "--frames-per-video", "10", "--shard-size", "128", "--seed", "3"]
    assert synth(tmp_path / "a", *args) == 0 and synth(tmp_path / "b", *args) == 0
    first = shard_files(tmp_path / "a")
    assert len(first) == 3 * 5 and first == shard_files(tmp_path / "b")
    assert (tmp_path / "a" / "truth.json").read_bytes() == (tmp_path / "b" / "truth.json").read_bytes()
    assert synth(tmp_path / "c", *args[:-1], "4") == 0
    other = shard_files(tmp_path / "c")
    assert other.keys() == first.keys() and other["shard-000000.npy"] != first["shard-000000.npy"]
    # a run killed before the last marker: its shard files may be there, the marker not; the rerun finishes it
    (tmp_path / "a" / "shards" / "shard-000002.json").unlink()
    (tmp_path / "a" / "shards" / "shard-000002.npy").write_bytes(b"torn")
    (tmp_path / "a" / "truth.json").unlink()
    capsys.readouterr()
    assert synth(tmp_path / "a", *args) == 0
    assert "(1 written now)" in capsys.readouterr().out
    assert shard_files(tmp_path / "a") == first and (tmp_path / "a" / "truth.json").exists()
    assert main(["verify", "--db", str(tmp_path / "a")]) == 0
    # other arguments into the same folder are refused, nothing is touched
    assert synth(tmp_path / "a", *args[:-1], "5") == 1
    assert "another pool" in capsys.readouterr().err and shard_files(tmp_path / "a") == first


def test_without_local_features_and_other_dimension(tmp_path):
    assert main(["synth-pool", "--quiet", "--rows", "200", "--dim", "32", "--no-local-features",
                 "--out", str(tmp_path / "s")]) == 0
    store = DescriptorStore.open(tmp_path / "s")
    assert store.meta["local_features"] is None and store.dim == 32
    assert store.meta["model"] is None  # no model makes 32-d descriptors: no fingerprint is claimed
    assert all(s.local_features() is None for s in store.shards())
    assert not list((tmp_path / "s" / "shards").glob("*.local.npy"))
    _, x = store.load()
    assert x.shape == (200, 32) and np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-3)  # float16 on disk


@pytest.mark.parametrize("extra, wanted", [
    (["--rows", "0"], "--rows must be >= 1"),
    (["--rows", "100", "--videos", "5"], "--videos"),  # 150 frames in 100 rows
    (["--rows", "100", "--copies-fraction", "0.9"], "--copies-fraction must be"),
    (["--rows", "100", "--dim", "3"], "--dim must be"),
    (["--rows", "100", "--videos", "1", "--shard-size", "10"], "--frames-per-video must be"),
    (["--rows", "90", "--videos", "3", "--shard-size", "45"], "do not fit"),  # one 30-frame video per shard
])
def test_bad_arguments_are_one_line_usage_errors(tmp_path, capsys, extra, wanted):
    assert main(["synth-pool", "--out", str(tmp_path / "s"), *extra]) == 2
    err = capsys.readouterr().err
    assert wanted in err and err.count("\n") == 1


def cli(*args: str) -> str:
    """A command in its own process with one BLAS thread (verification's small products crawl when two shared
    cores are oversubscribed)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "myPython", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_model
def test_search_finds_the_planted_sources(pool, tmp_path):
    from myPython.pool.search import read_mapped

    cli("search", "--db", str(pool), "--top-k", "5", "--out", str(tmp_path / "n.mapped"))
    neighbours = {q: [n for n, _ in hits] for q, hits in read_mapped(tmp_path / "n.mapped").items()}
    truth = json.loads((pool / "truth.json").read_text())
    found = [g["source"] in neighbours[c] for g in truth["images"] for c in g["copies"] + g["near_copies"]]
    assert len(found) >= 45 and np.mean(found) >= 0.9


@needs_model
def test_match_videos_ranks_planted_pairs_first(pool, tmp_path):
    from myPython.pool.video_match import read_matches_csv

    cli("match-videos", "--db", str(pool), "--threshold", "0", "--quiet", "--out", str(tmp_path / "m.csv"))
    best: dict[frozenset, float] = {}
    for q, r, *_, score in read_matches_csv(tmp_path / "m.csv"):
        key = frozenset((q, r))
        best[key] = max(best.get(key, 0.0), score)
    truth = json.loads((pool / "truth.json").read_text())
    planted = {frozenset((s["query_id"], s["ref_id"])) for s in truth["videos"]}
    ranked = sorted(best, key=lambda k: -best[k])
    assert planted <= set(best)  # every planted pair is a candidate
    top = ranked[: len(planted)]
    assert len(planted & set(top)) >= 0.8 * len(planted)
    unplanted = [best[k] for k in best if k not in planted]
    if unplanted:
        assert np.median([best[k] for k in planted]) > max(unplanted)
