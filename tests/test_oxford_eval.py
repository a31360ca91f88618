"""`python test.py` end to end on a small synthetic dataset in Oxford (and revisited) layout.

Six "buildings" are shipped photos, each with edited copies (crop, rescale + JPEG, flip, brightness, shifted
crop); other shipped photos are distractors. Runs the real default model and a random-weight generated net.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from myPython.common import assets
from myPython.nets import netgen, random_weights
from myPython.retrieval.models import load_model

REPO = Path(__file__).resolve().parents[1]
BUILDINGS = ["all_souls", "ashmolean", "balliol", "bodleian", "christ_church", "cornmarket"]
SIDE = 256
# Edited copies per building, by image number: 0 is the original (the query image).
GOOD, OK, JUNK = (0, 1, 2), (3,), (4,)
REPORT_LINE = re.compile(r"^(\S+): (\d+\.\d\d)$")


def _fit(image: np.ndarray, side: int = SIDE) -> np.ndarray:
    h, w = image.shape[:2]
    ratio = side / max(h, w)
    return cv2.resize(image, (round(w * ratio), round(h * ratio)), interpolation=cv2.INTER_AREA)


def _edits(image: np.ndarray) -> list[np.ndarray]:
    """Original, crop, flip, rescale + JPEG, brightness/contrast, shifted crop (numbers 0..5)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (w * 3 // 5, h * 3 // 5), interpolation=cv2.INTER_AREA)
    jpeg = cv2.imdecode(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 40])[1], cv2.IMREAD_COLOR)
    return [
        image,
        image[h // 10 : h - h // 10, w // 10 : w - w // 10],
        image[:, ::-1],
        jpeg,
        cv2.convertScaleAbs(image, alpha=1.2, beta=25),
        image[: h * 3 // 4, w // 4 :],
    ]


def _write(path: Path, image: np.ndarray) -> None:
    assert cv2.imwrite(str(path), np.ascontiguousarray(image), [cv2.IMWRITE_JPEG_QUALITY, 95])


def _lines(path: Path, names: list[str]) -> None:
    path.write_text("".join(f"{n}\n" for n in names))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """``jpg/`` + ``lab/`` (6 buildings x 6 images, 11 distractors, 8 queries) and ``gnd_roxford5k.pkl``."""
    root = tmp_path_factory.mktemp("oxford")
    jpg, lab = root / "jpg", root / "lab"
    jpg.mkdir()
    lab.mkdir()
    photos = assets.perception_images()
    sources = [_fit(cv2.imread(str(p), cv2.IMREAD_COLOR)) for p in photos[: len(BUILDINGS)]]
    distractors = photos[len(BUILDINGS) :] + assets.skimage_photos()[:7]
    for i, path in enumerate(distractors):
        _write(jpg / f"oxford_{i:06d}.jpg", _fit(cv2.imread(str(path), cv2.IMREAD_COLOR)))
    for building, source in zip(BUILDINGS, sources):
        for k, image in enumerate(_edits(source)):
            _write(jpg / f"{building}_{k:06d}.jpg", image)
    h_w = {b: s.shape[:2] for b, s in zip(BUILDINGS, sources)}

    def names(building: str, numbers: tuple[int, ...]) -> list[str]:
        return [f"{building}_{k:06d}" for k in numbers]

    for building in BUILDINGS:
        h, w = h_w[building]
        queries = [(1, 0, (0.1 * w, 0.1 * h, 0.9 * w, 0.9 * h))]
        if building in BUILDINGS[:2]:  # a second query on the brightened copy, whole image
            queries.append((2, 4, (0, 0, w - 1, h - 1)))
        for number, image, box in queries:
            stem = f"{building}_{number}"
            (lab / f"{stem}_query.txt").write_text(f"oxc1_{building}_{image:06d} " + " ".join(f"{v:.1f}" for v in box))
            _lines(lab / f"{stem}_good.txt", names(building, GOOD))
            _lines(lab / f"{stem}_ok.txt", names(building, OK))
            _lines(lab / f"{stem}_junk.txt", names(building, JUNK))

    imlist = sorted(p.stem for p in jpg.glob("*.jpg"))
    index = {n: i for i, n in enumerate(imlist)}

    def ids(building: str, numbers: tuple[int, ...]) -> list[int]:
        return [index[n] for n in names(building, numbers)]

    gnd = {
        "imlist": imlist,
        "qimlist": [f"{b}_000000" for b in BUILDINGS],
        "gnd": [
            {"easy": ids(b, (0, 1, 2)), "hard": ids(b, (3, 4)), "junk": ids(b, (5,)),
             "bbx": [0.1 * h_w[b][1], 0.1 * h_w[b][0], 0.9 * h_w[b][1], 0.9 * h_w[b][0]]}
            for b in BUILDINGS
        ],
    }
    with (root / "gnd_roxford5k.pkl").open("wb") as f:
        pickle.dump(gnd, f)
    return root


@pytest.fixture(scope="module")
def model() -> tuple[Path, Path]:
    """The real default model (its sidecar gives the mean 104, 117, 123)."""
    spec = load_model()
    return Path(spec.proto), Path(spec.weights)


def copy_model(model: tuple[Path, Path], out: Path) -> tuple[Path, Path]:
    """A copy of prototxt, caffemodel and sidecar, whose weights may be altered."""
    out.mkdir()
    proto, weights = out / model[0].name, out / model[1].name
    shutil.copy(model[0], proto)
    shutil.copy(model[1], weights)
    shutil.copy(f"{model[1]}.json", f"{weights}.json")
    return proto, weights


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """A random-weight eighth-width ResNet-50 R-MAC net from netgen."""
    out = tmp_path_factory.mktemp("tiny")
    proto = out / "tiny.prototxt"
    proto.write_text(netgen.render(netgen.deploy_net(depth=50, width=0.125, pca_dim=32, name="tiny")))
    return proto, random_weights.random_weights_file(proto, out / "tiny.caffemodel", seed=1)


@pytest.fixture(scope="module")
def compute_ap(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bin") / "compute_ap"
    subprocess.run(["bash", str(REPO / "evaluation" / "build_compute_ap.sh"), str(out)], check=True,
                   capture_output=True)
    return out


def run_test_py(model: tuple[Path, Path], dataset: Path, cache: Path, *extra: str, name: str = "Oxford",
                S: int = SIDE) -> subprocess.CompletedProcess:
    engine = [] if "--engine" in extra else ["--engine", "onnxruntime"]  # fp32 on every CPU (`auto`: int8 on some)
    cmd = [sys.executable, str(REPO / "test.py"), "--S", str(S), "--L", "2", "--proto", str(model[0]),
           "--weights", str(model[1]), "--dataset", str(dataset), "--dataset_name", name,
           "--temp_dir", str(cache), *engine, *extra]
    env = dict(os.environ, GLOG_minloglevel="2")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def parse_report(stdout: str) -> tuple[dict[str, float], float]:
    """Per-query APs and the mean of an upstream report (checking its exact layout)."""
    lines = stdout.strip().splitlines()
    assert lines[-2] == "-" * 20
    mean = re.fullmatch(r"Mean: (\d+\.\d\d)", lines[-1])
    assert mean, lines[-1]
    aps = {}
    for line in lines[:-2]:
        match = REPORT_LINE.match(line)
        assert match, line
        aps[match[1]] = float(match[2])
    return aps, float(mean[1])


def test_default_model_cache_and_c_tool(model, dataset, compute_ap, tmp_path):
    model = copy_model(model, tmp_path / "model")
    cache = tmp_path / "cache"
    first = run_test_py(model, dataset, cache)
    aps, mean = parse_report(first.stdout)
    assert list(aps) == sorted(p.name[: -len("_query.txt")] for p in (dataset / "lab").glob("*_query.txt"))
    assert mean == pytest.approx(np.mean(list(aps.values())), abs=0.01)
    assert mean > 90, first.stdout
    assert "cache: extracting" in first.stderr
    files = sorted(p.name for p in cache.glob("*.npy"))
    assert len(files) == 2 and all(f.startswith("Oxford_") for f in files)
    assert all("_S256_L2_mean104.0000,117.0000,123.0000_" in f for f in files)  # the sidecar's mean
    mtimes = {p: p.stat().st_mtime_ns for p in cache.glob("*.npy")}

    second = run_test_py(model, dataset, cache, "--eval_binary", str(compute_ap))
    assert "cache: extracting" not in second.stderr and "cache: loaded" in second.stderr
    assert {p: p.stat().st_mtime_ns for p in cache.glob("*.npy")} == mtimes
    assert second.stdout == first.stdout  # same APs from the C++ tool
    assert sorted(p.stem for p in cache.glob("*.rnk")) == list(aps)

    no_crop = run_test_py(model, dataset, cache, "--no-crop")
    assert no_crop.stderr.count("cache: extracting") == 1 and "nocrop" in no_crop.stderr
    (crop_q,) = cache.glob("*_crop-*_queries.npy")
    (plain_q,) = cache.glob("*_nocrop-*_queries.npy")
    a, b = np.load(crop_q), np.load(plain_q)
    assert a.dtype == np.float32 and a.shape == b.shape
    assert np.abs(a - b).max() > 1e-2
    parse_report(no_crop.stdout)

    # New weights -> new fingerprint -> new cache files; the old ones are left alone.
    import caffe

    net = caffe.Net(str(model[0]), str(model[1]), caffe.TEST)
    net.params["pooled_rois/pca"][1].data[...] += 0.05
    net.save(str(model[1]))
    altered = run_test_py(model, dataset, cache, "--engine", "caffe")
    assert altered.stderr.count("cache: extracting") == 2
    assert len(list(cache.glob("*.npy"))) == 5
    parse_report(altered.stdout)


def test_multires_aqe_dbe(model, dataset, tmp_path):
    cache = tmp_path / "cache"
    single = parse_report(run_test_py(model, dataset, cache, S=260).stdout)[1]
    multi = run_test_py(model, dataset, cache, "--multires", S=260)
    assert multi.stderr.count("cache: extracting") == 4  # S-250 and S+250; S was cached
    scales = {re.search(r"_S(\d+)_L2", p.name)[1] for p in cache.glob("*.npy")}
    assert scales == {"10", "260", "510"}
    expanded = run_test_py(model, dataset, cache, "--multires", "--aqe", "1", "--dbe", "3", S=260)
    assert "cache: extracting" not in expanded.stderr
    means = [single, parse_report(multi.stdout)[1], parse_report(expanded.stdout)[1]]
    assert min(means) > 80, means


def test_generated_net(tiny, dataset, tmp_path):
    proc = run_test_py(tiny, dataset, tmp_path / "cache", "--multires", "--aqe", "2", "--dbe", "2", S=260)
    aps, mean = parse_report(proc.stdout)
    assert len(aps) == 8 and 0 <= mean <= 100


def test_revisited(model, dataset, tmp_path):
    proc = run_test_py(model, dataset, tmp_path / "cache", name="roxford5k")
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2, proc.stdout
    maps = re.fullmatch(r"roxford5k: mAP E: ([\d.]+), M: ([\d.]+), H: ([\d.]+)", lines[0])
    assert maps, lines[0]
    assert re.fullmatch(r"roxford5k: mP@k\[1, 5, 10\] E: \[[\d. ]+\], M: \[[\d. ]+\], H: \[[\d. ]+\]", lines[1])
    assert all(float(v) > 90 for v in maps.groups()), lines[0]  # measured: 100 in all three


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gpu", "99"], "--gpu 99: "),
        (["--multires", "--S", "200"], "S must be larger than 250"),
        (["--dataset_name", "roxford5k", "--eval_binary", "compute_ap"], "revisited datasets use the built-in"),
        (["--dataset_name", "rparis6k"], "gnd_rparis6k.pkl"),
    ],
)
def test_one_line_errors(model, dataset, tmp_path, extra, message):
    cmd = [sys.executable, str(REPO / "test.py"), "--proto", str(model[0]), "--weights", str(model[1]),
           "--dataset", str(dataset), "--dataset_name", "Oxford", "--temp_dir", str(tmp_path), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1
    assert proc.stderr.startswith("test.py: error: ") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_missing_weights_explains_where_to_get_them(dataset, tmp_path):
    cmd = [sys.executable, str(REPO / "test.py"), "--weights", str(tmp_path / "nothing.caffemodel"),
           "--dataset", str(dataset), "--dataset_name", "Oxford"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "caffemodel not found" in proc.stderr and "docs/reproduce.md" in proc.stderr
