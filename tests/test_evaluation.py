"""Tests of the evaluation package: AP tools (C++ and numpy), loaders, DBE/AQE, scoring."""

import math
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from evaluation.ap import (
    average_precision,
    compute_ap,
    evaluate_revisited,
    precision_at_k,
    r_precision,
    rank_database,
    revisited_masks,
    voc_average_precision,
)
from evaluation.datasets import (
    PARIS_BLACKLIST,
    RetrievalDataset,
    load_oxford_paris,
    load_revisited,
    read_names,
    revisited_from_gnd,
)
from evaluation.expansion import aqe, dbe
from evaluation.scoring import format_report, read_rnk, score_queries, write_rnk

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "oxford5k"  # ground truth + the published ranked lists
SOURCE = REPO / "evaluation" / "compute_ap.cpp"

# (ranking, positives, junk, expected AP): the worked examples of the Oxford protocol.
WORKED = [
    ("a c x b", {"a", "b"}, {"c"}, 0.7916666667),
    ("x a y b c", {"a", "b"}, {"c"}, 0.3333333333),
    ("a b", {"a", "b"}, {"c"}, 1.0),
]


@pytest.fixture(scope="session")
def compute_ap_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The C++ tool compiled with g++ into a temporary folder."""
    if shutil.which("g++") is None:
        pytest.skip("g++ not available")
    out = tmp_path_factory.mktemp("bin") / "compute_ap"
    subprocess.run(["g++", "-O2", "-std=c++17", "-o", str(out), str(SOURCE)], check=True)
    return out


def run_tool(binary: Path, prefix: Path, rnk: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), str(prefix), str(rnk)], capture_output=True, text=True)


def write_gt(folder: Path, query: str, good=(), ok=(), junk=()) -> Path:
    """Write ``<query>_{good,ok,junk}.txt`` into ``folder``; return the prefix."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, names in (("good", good), ("ok", ok), ("junk", junk)):
        (folder / f"{query}_{kind}.txt").write_text("".join(f"{n}\n" for n in names))
    return folder / query


def rank_names(sim_row: np.ndarray, names: list[str]) -> list[str]:
    return [names[i] for i in rank_database(sim_row[None])[0]]


# ----------------------------------------------------------------------------------------------- AP: worked cases


@pytest.mark.parametrize("ranking, positives, junk, expected", WORKED)
def test_compute_ap_worked_examples(ranking, positives, junk, expected):
    assert compute_ap(ranking.split(), positives, junk) == pytest.approx(expected, abs=1e-9)


def test_compute_ap_good_ok_union_and_no_positives():
    assert compute_ap("a c x b".split(), {"a"}, {"c"}, ok={"b"}) == pytest.approx(0.7916666667, abs=1e-9)
    assert compute_ap("x a".split(), ["a", "a"], ok=["a"]) == pytest.approx(0.25)  # counted once
    assert math.isnan(compute_ap(["a"], set()))


@pytest.mark.parametrize("ranking, positives, junk, expected", WORKED)
def test_cpp_tool_worked_examples(compute_ap_bin, tmp_path, ranking, positives, junk, expected):
    prefix = write_gt(tmp_path, "q", good=sorted(positives)[:1], ok=sorted(positives)[1:], junk=junk)
    rnk = tmp_path / "q.rnk"
    write_rnk(rnk, ranking.split())
    proc = run_tool(compute_ap_bin, prefix, rnk)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.splitlines()[0]) == pytest.approx(expected, abs=1e-9)


def test_cpp_tool_errors_and_no_positives(compute_ap_bin, tmp_path):
    prefix = write_gt(tmp_path, "q", good=["a"])
    (tmp_path / "q_junk.txt").unlink()
    rnk = tmp_path / "q.rnk"
    write_rnk(rnk, ["a"])
    proc = run_tool(compute_ap_bin, prefix, rnk)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"compute_ap: cannot read ground-truth file {prefix}_junk.txt"]

    write_gt(tmp_path, "q", good=["a"])
    proc = run_tool(compute_ap_bin, prefix, tmp_path / "missing.rnk")
    assert proc.returncode == 1 and "missing.rnk" in proc.stderr

    empty = write_gt(tmp_path, "e")
    assert run_tool(compute_ap_bin, empty, rnk).stdout.strip() == "nan"


def test_build_script_rebuilds_only_when_stale(tmp_path):
    if shutil.which("g++") is None:
        pytest.skip("g++ not available")
    for name in ("build_compute_ap.sh", "compute_ap.cpp"):
        shutil.copy2(REPO / "evaluation" / name, tmp_path / name)
    out = tmp_path / "bin" / "compute_ap"

    def build() -> str:
        return subprocess.run(
            ["bash", str(tmp_path / "build_compute_ap.sh"), str(out)], capture_output=True, text=True, check=True
        ).stdout

    assert "built" in build() and out.is_file()
    assert "up to date" in build()
    mtime = out.stat().st_mtime
    os.utime(tmp_path / "compute_ap.cpp", (mtime + 10, mtime + 10))
    assert "built" in build()


# ------------------------------------------------------------------------------------------ AP: Oxford5k fixture


def fixture_queries() -> list[tuple[str, float]]:
    rows = [line.split("\t") for line in (FIXTURES / "expected_ap.tsv").read_text().splitlines() if line.strip()]
    return [(name, float(ap)) for name, ap in rows]


def test_fixture_python_ap_matches_expected():
    expected = fixture_queries()
    assert len(expected) == 55
    aps = []
    for name, want in expected:
        gt = FIXTURES / "gt" / name
        good, ok, junk = (read_names(Path(f"{gt}_{kind}.txt")) for kind in ("good", "ok", "junk"))
        ap = compute_ap(read_rnk(FIXTURES / "rnk_singleres" / f"{name}.rnk"), good, junk, ok=ok)
        assert ap == pytest.approx(want, abs=1e-6), name
        aps.append(ap)
    assert 100 * np.mean(aps) == pytest.approx(81.11, abs=0.005)


def test_fixture_cpp_ap_matches_expected(compute_ap_bin):
    expected = fixture_queries()
    aps = []
    for name, want in expected:
        proc = run_tool(compute_ap_bin, FIXTURES / "gt" / name, FIXTURES / "rnk_singleres" / f"{name}.rnk")
        assert proc.returncode == 0, proc.stderr
        ap = float(proc.stdout.splitlines()[0])
        assert ap == pytest.approx(want, abs=1e-6), name
        aps.append(ap)
    assert 100 * np.mean(aps) == pytest.approx(81.11, abs=0.005)


@pytest.fixture(scope="module")
def oxford_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[RetrievalDataset, np.ndarray]:
    """Oxford layout with the fixture ground truth as lab/, empty jpgs, and a similarity matrix giving the rnks."""
    expected = fixture_queries()
    root = tmp_path_factory.mktemp("oxford")
    (root / "lab").symlink_to(FIXTURES / "gt", target_is_directory=True)
    names = read_rnk(FIXTURES / "rnk_singleres" / f"{expected[0][0]}.rnk")
    (root / "jpg").mkdir()
    for name in names:
        (root / "jpg" / f"{name}.jpg").touch()
    dataset = load_oxford_paris(root)
    index = {name: i for i, name in enumerate(dataset.images)}
    sim = np.zeros((len(dataset.query_names), len(dataset.images)))
    for q, query in enumerate(dataset.query_names):
        ranked = read_rnk(FIXTURES / "rnk_singleres" / f"{query}.rnk")
        sim[q, [index[n] for n in ranked]] = -np.arange(len(ranked))
    return dataset, sim


def test_fixture_loader_and_vectorised_scoring(oxford_tree):
    dataset, sim = oxford_tree
    expected = dict(fixture_queries())
    assert len(dataset.images) == 5063 and dataset.query_names == sorted(expected)
    assert dataset.query_images[0] == "all_souls_000013"
    np.testing.assert_allclose(dataset.query_boxes[0], [136.5, 34.1, 648.5, 955.7])
    aps = score_queries(sim, dataset)
    np.testing.assert_allclose(aps, [expected[q] for q in dataset.query_names], atol=1e-6)


def test_fixture_scoring_with_binary(oxford_tree, compute_ap_bin, tmp_path):
    dataset, sim = oxford_tree
    aps = score_queries(sim, dataset, eval_binary=compute_ap_bin, temp_dir=tmp_path / "rnk")
    expected = dict(fixture_queries())
    np.testing.assert_allclose(aps, [expected[q] for q in dataset.query_names], atol=1e-6)
    first = dataset.query_names[0]
    assert read_rnk(tmp_path / "rnk" / f"{first}.rnk") == read_rnk(FIXTURES / "rnk_singleres" / f"{first}.rnk")


# ----------------------------------------------------------------------------------------------- AP: vectorised


def random_problem(seed: int, nq: int = 7, ndb: int = 40):
    rng = np.random.default_rng(seed)
    sim = rng.integers(0, 12, size=(nq, ndb)).astype(float)  # many ties
    pos = rng.random((nq, ndb)) < 0.2
    pos[0] = False  # a query without positives
    junk = rng.random((nq, ndb)) < 0.15  # may overlap positives
    return sim, pos, junk


@pytest.mark.parametrize("seed", range(5))
def test_batch_ap_equals_per_query(seed):
    sim, pos, junk = random_problem(seed)
    names = [f"d{i}" for i in range(sim.shape[1])]
    got = average_precision(sim, pos.astype(int), junk)
    for q in range(sim.shape[0]):
        want = compute_ap(
            rank_names(sim[q], names),
            {names[i] for i in np.flatnonzero(pos[q])},
            {names[i] for i in np.flatnonzero(junk[q])},
        )
        if math.isnan(want):
            assert math.isnan(got[q])
        else:
            assert got[q] == pytest.approx(want, abs=1e-12)
    assert math.isnan(got[0])


def test_ranking_is_stable_on_ties():
    assert rank_database(np.array([[0.5, 1.0, 0.5, 1.0]])).tolist() == [[1, 3, 0, 2]]
    with pytest.raises(ValueError, match="2-D"):
        rank_database(np.zeros(3))
    with pytest.raises(ValueError, match="positive mask"):
        average_precision(np.zeros((2, 3)), np.zeros((2, 4)))


def voc_reference(ranked: list[int], answers: set[int]) -> float:
    found, p = 0, []
    for k, item in enumerate(ranked, start=1):
        if item in answers:
            found += 1
            p.append(found / k)
        if found == len(answers):
            break
    return sum(max(p[r:]) for r in range(len(p))) / len(answers)


def r_precision_reference(ranked: list[int], answers: set[int]) -> float:
    return len(set(ranked[: len(answers)]) & answers) / len(answers)


@pytest.mark.parametrize("seed", range(3))
def test_voc_ap_and_r_precision_against_loops(seed):
    sim, pos, _ = random_problem(seed)
    voc, rp = voc_average_precision(sim, pos), r_precision(sim, pos)
    for q in range(1, sim.shape[0]):
        ranked, answers = rank_database(sim[q][None])[0].tolist(), set(np.flatnonzero(pos[q]).tolist())
        assert voc[q] == pytest.approx(voc_reference(ranked, answers), abs=1e-12)
        assert rp[q] == pytest.approx(r_precision_reference(ranked, answers), abs=1e-12)
    assert math.isnan(voc[0]) and math.isnan(rp[0])


def test_voc_ap_and_r_precision_hand_computed():
    sim = np.array([[4.0, 3, 2, 1], [3.0, 4, 2, 1]])  # rankings: 0 1 2 3 and 1 0 2 3
    pos = np.array([[1, 0, 1, 0], [0, 0, 1, 1]], dtype=bool)
    # row 0: precisions 1/1, 2/3 -> 0.8333; row 1: 1/3, 2/4 -> interpolated 1/2, 1/2 -> 0.5
    np.testing.assert_allclose(voc_average_precision(sim, pos), [5 / 6, 0.5])
    np.testing.assert_allclose(r_precision(sim, pos), [0.5, 0.0])


# ----------------------------------------------------------------------------------------------- revisited


def hand_gnd() -> dict:
    return {
        "imlist": [f"d{i}" for i in range(6)],
        "qimlist": ["q0", "q1"],
        "gnd": [
            {"easy": [0], "hard": [2], "junk": [1], "bbx": [1.0, 2.0, 3.0, 4.0]},
            {"easy": [], "hard": [4], "junk": [], "bbx": [0.0, 0.0, 5.0, 5.0]},
        ],
    }


# ranking of q0: d3 d2 d1 d0 d4 d5; q1: d4 first.
HAND_SIM = np.array([[3.0, 4, 5, 6, 2, 1], [1.0, 2, 3, 4, 9, 0]])


def test_revisited_protocols_known_answers():
    res = evaluate_revisited(HAND_SIM, hand_gnd())
    # medium (pos d0,d2; junk d1): q0 positives at ranks 2, 3 -> AP (0 + 1/2)/4 + (1/2 + 2/3)/4 = 0.416667
    np.testing.assert_allclose(res["medium"].aps, [5 / 12, 1.0])
    assert res["medium"].map == pytest.approx((5 / 12 + 1) / 2)
    assert res["medium"].mp == pytest.approx({1: 0.5, 5: (2 / 3 + 1) / 2, 10: (2 / 3 + 1) / 2})
    # easy (pos d0; junk d1,d2): q0 -> 0.25; q1 has no easy positives and is skipped
    assert res["easy"].aps[0] == pytest.approx(0.25) and math.isnan(res["easy"].aps[1])
    assert res["easy"].map == pytest.approx(0.25)
    assert res["easy"].mp == pytest.approx({1: 0.0, 5: 0.5, 10: 0.5})
    # hard (pos d2; junk d1,d0)
    np.testing.assert_allclose(res["hard"].aps, [0.25, 1.0])
    assert res["hard"].map == pytest.approx(0.625)
    assert res["hard"].mp == pytest.approx({1: 0.5, 5: 0.75, 10: 0.75})


def test_revisited_precision_caps_k_at_last_positive():
    pos = np.array([[0, 1, 0, 0, 0, 0]], dtype=bool)
    sim = -np.arange(6.0)[None]
    np.testing.assert_allclose(precision_at_k(sim, pos, None, (1, 2, 5)), [[0.0, 0.5, 0.5]])
    with pytest.raises(ValueError, match="ks"):
        precision_at_k(sim, pos, None, (0,))


def test_revisited_loader(tmp_path):
    gnd = hand_gnd()
    path = tmp_path / "gnd_rtest.pkl"
    path.write_bytes(pickle.dumps(gnd))
    ds = load_revisited(path)
    assert ds.images == gnd["imlist"] and ds.query_images == ["q0", "q1"]
    assert ds.image_paths[0] == tmp_path / "jpg" / "d0.jpg"
    np.testing.assert_allclose(ds.query_boxes, [[1, 2, 3, 4], [0, 0, 5, 5]])
    assert [p.tolist() for p in ds.positives] == [[0, 2], [4]]
    for protocol in ("easy", "medium", "hard"):
        got, want = ds.protocol_masks(protocol), revisited_masks(gnd, protocol)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    assert ds.protocol_masks("hard")[1][0].tolist() == [True, True, False, False, False, False]
    np.testing.assert_array_equal(ds.positive_mask(), revisited_masks(gnd, "medium")[0])
    with pytest.raises(ValueError, match="lab/"):
        ds.gt_prefix(0)
    with pytest.raises(ValueError, match="protocol"):
        ds.protocol_masks("extreme")
    with pytest.raises(FileNotFoundError, match="nope.pkl"):
        load_revisited(tmp_path / "nope.pkl")
    del gnd["gnd"][1]["bbx"]
    with pytest.raises(ValueError, match=r"gnd\[1\] lacks keys \['bbx'\]"):
        revisited_from_gnd(gnd, tmp_path)


# ----------------------------------------------------------------------------------------------- DBE / AQE


def dbe_reference(db: np.ndarray, k: int) -> np.ndarray:
    weights = [1.0] + [(k - j) / k for j in range(k)]
    out = np.empty_like(db)
    for i in range(len(db)):
        nn = np.argsort(-(db @ db[i]))[: k + 1]
        out[i] = sum(w * db[j] for w, j in zip(weights, nn)) / sum(weights)
    return out


def aqe_reference(queries: np.ndarray, db: np.ndarray, k: int) -> np.ndarray:
    out = np.empty_like(queries)
    for i, q in enumerate(queries):
        nn = np.argsort(-(db @ q))[:k]
        out[i] = (q + db[nn].sum(axis=0)) / (k + 1)
    return out


def unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_dbe_aqe_against_loops(k):
    rng = np.random.default_rng(k)
    db, queries = unit_rows(rng, 15, 6), unit_rows(rng, 4, 6)
    np.testing.assert_allclose(dbe(db, k), dbe_reference(db, k), atol=1e-12)
    np.testing.assert_allclose(aqe(queries, db, k), aqe_reference(queries, db, k), atol=1e-12)


def test_dbe_aqe_hand_computed():
    db = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    np.testing.assert_allclose(dbe(db, 1), [[0.9, 0.3], [0.9, 0.3], [0.4, 0.8]])
    # k=2: weights 1, 1, 1/2 (sum 2.5); d0's neighbours by similarity are d0, d1, d2; not re-normalised
    np.testing.assert_allclose(dbe(db, 2)[0], [0.72, 0.44])
    np.testing.assert_allclose(aqe(np.array([[1.0, 0.0]]), db, 2), [[2.8 / 3, 0.2]])
    assert dbe(db.astype(np.float32), 1).dtype == np.float32
    with pytest.raises(ValueError, match="k must be"):
        dbe(db, 3)
    with pytest.raises(ValueError, match="k must be"):
        aqe(db, db, 0)


# ----------------------------------------------------------------------------------------------- datasets


def make_tree(root: Path) -> Path:
    (root / "jpg").mkdir(parents=True)
    for stem in ("b_000003", "all_souls_000002", "all_souls_000001", "paris_louvre_000136"):
        (root / "jpg" / f"{stem}.jpg").touch()
    (root / "jpg" / "notes.txt").touch()
    lab = root / "lab"
    lab.mkdir()
    (lab / "q_2_query.txt").write_text("b_000003 0 0 10 10\n")
    write_gt(lab, "q_2", good=["all_souls_000001"])
    (lab / "q_1_query.txt").write_text("oxc1_all_souls_000001 1 2 3.5 4\n")
    write_gt(
        lab,
        "q_1",
        good=["all_souls_000002"],
        ok=["b_000003", "all_souls_000002"],
        junk=["paris_louvre_000136", "all_souls_000001"],
    )
    return root


def test_loader_on_synthetic_tree(tmp_path):
    ds = load_oxford_paris(make_tree(tmp_path / "ox"))
    assert ds.images == ["all_souls_000001", "all_souls_000002", "b_000003"]
    assert ds.image_paths[1] == tmp_path / "ox" / "jpg" / "all_souls_000002.jpg"
    assert ds.query_names == ["q_1", "q_2"]
    assert ds.query_images == ["all_souls_000001", "b_000003"]
    np.testing.assert_allclose(ds.query_boxes, [[1, 2, 3.5, 4], [0, 0, 10, 10]])
    assert [p.tolist() for p in ds.positives] == [[1, 2], [0]]
    assert [j.tolist() for j in ds.junk] == [[0], []]
    assert ds.gt_prefix(0) == tmp_path / "ox" / "lab" / "q_1"
    np.testing.assert_array_equal(ds.positive_mask(), [[0, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(ds.junk_mask(), [[1, 0, 0], [0, 0, 0]])
    assert "paris_louvre_000136" in PARIS_BLACKLIST and len(PARIS_BLACKLIST) == 20
    assert load_oxford_paris(tmp_path / "ox", blacklist=()).images[3] == "paris_louvre_000136"


def test_loader_errors(tmp_path):
    root = make_tree(tmp_path / "ox")
    (root / "lab" / "q_2_ok.txt").unlink()
    with pytest.raises(FileNotFoundError, match="q_2_ok.txt"):
        load_oxford_paris(root)
    (root / "lab" / "q_2_query.txt").write_text("b_000003 0 0 ten\n")
    with pytest.raises(ValueError, match="malformed query file .*q_2_query.txt"):
        load_oxford_paris(root)
    shutil.rmtree(root / "lab")
    with pytest.raises(FileNotFoundError, match="dataset folder not found: .*lab"):
        load_oxford_paris(root)
    (root / "lab").mkdir()
    with pytest.raises(ValueError, match=r"no \*_query.txt"):
        load_oxford_paris(root)
    with pytest.raises(FileNotFoundError, match="jpg"):
        load_oxford_paris(tmp_path / "empty")


# ----------------------------------------------------------------------------------------------- scoring


def test_score_queries_python_and_binary_agree(tmp_path, compute_ap_bin):
    ds = load_oxford_paris(make_tree(tmp_path / "ox"))
    sim = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.7]])
    # q_1: junk d0 skipped, then d2 (pos), d1 (pos) -> 1.0; q_2: d2, d1, d0 -> (0 + 1/3)/2 = 1/6
    want = [1.0, 1 / 6]
    np.testing.assert_allclose(score_queries(sim, ds), want)
    np.testing.assert_allclose(score_queries(sim, ds, eval_binary=compute_ap_bin, temp_dir=tmp_path / "t"), want)
    assert read_rnk(tmp_path / "t" / "q_2.rnk") == ["b_000003", "all_souls_000002", "all_souls_000001"]
    np.testing.assert_allclose(score_queries(sim, ds, eval_binary=compute_ap_bin), want)
    with pytest.raises(ValueError, match="shape"):
        score_queries(sim[:1], ds)
    with pytest.raises(FileNotFoundError, match="no_such_tool"):
        score_queries(sim, ds, eval_binary=tmp_path / "no_such_tool")


def test_write_rnk_roundtrip(tmp_path):
    path = tmp_path / "q.rnk"
    path.write_text("old\n")
    write_rnk(path, (n for n in ["b", "a", "c"]))
    assert path.read_text() == "b\na\nc\n"
    assert read_rnk(path) == ["b", "a", "c"]
    assert [p.name for p in tmp_path.iterdir()] == ["q.rnk"]


def test_format_report():
    text = format_report(["all_souls_1", "ashmolean_2"], [0.502661, 1.0])
    assert text == "all_souls_1: 50.27\nashmolean_2: 100.00\n--------------------\nMean: 75.13"
    with pytest.raises(ValueError):
        format_report(["a"], [])


def test_positives_outside_the_database_count_like_the_cpp_tool(tmp_path):
    """Paris's excluded images stay in the good lists: both evaluators count them as never retrieved."""
    import subprocess

    import numpy as np

    from evaluation.datasets import load_oxford_paris
    from evaluation.scoring import score_queries

    (tmp_path / "jpg").mkdir()
    (tmp_path / "lab").mkdir()
    names = ["paris_a_1", "paris_a_2", "paris_b_1", "paris_louvre_000136"]
    for n in names:
        (tmp_path / "jpg" / f"{n}.jpg").write_bytes(b"")
    (tmp_path / "lab" / "a_1_query.txt").write_text("paris_a_1 0 0 10 10\n")
    (tmp_path / "lab" / "a_1_good.txt").write_text("paris_a_1\nparis_a_2\nparis_louvre_000136\n")
    (tmp_path / "lab" / "a_1_ok.txt").write_text("")
    (tmp_path / "lab" / "a_1_junk.txt").write_text("")
    data = load_oxford_paris(tmp_path)
    assert "paris_louvre_000136" not in data.images and data.unranked_positives.tolist() == [1]
    sim = np.array([[0.9, 0.8, 0.1]])
    binary = tmp_path / "compute_ap"
    subprocess.run(["bash", "evaluation/build_compute_ap.sh", str(binary)], check=True)
    python_ap = score_queries(sim, data)[0]
    assert python_ap == pytest.approx(score_queries(sim, data, eval_binary=binary, temp_dir=tmp_path / "r")[0],
                                      abs=1e-6)
    assert python_ap == pytest.approx(2 / 3, abs=1e-6)
