"""Shared content (pool/shared_content.py): posts under one app chrome, sticker or watermark are not copies.

The rule on made-up matches (what votes, what it takes out, what it leaves), then a pool of training photos under
shared overlays, with copies, embedded by the default model: the pair score and the neighbour graph's groups.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from myPython.pool import shared_content
from myPython.pool.scoring import Fusion

FUSION = Fusion(7.12, 2.16, -8.44, min_cosine=0.22)
THRESHOLD = 0.7766
TEMPLATE = np.arange(40)  # keypoint rows a template puts on every post
PHOTO = np.arange(100, 160)  # keypoint rows of the picture of post 0


def _pool(posts: int, copy: bool) -> tuple[np.ndarray, np.ndarray, dict, np.ndarray]:
    """Posts 0..posts-1 under one template (cosine 0.4 between them); with `copy`, one more row: post 0's picture
    under the same template (cosine 0.45 with post 0, 0.4 with the others). (pairs, cosines, matches, vectors)"""
    n = posts + copy
    cos = np.full((n, n), 0.4)
    if copy:
        cos[0, n - 1] = cos[n - 1, 0] = 0.45
    np.fill_diagonal(cos, 1.0)
    # vectors with exactly these cosines (Cholesky of the Gram matrix)
    vectors = np.linalg.cholesky(cos).astype(np.float32)
    pairs, matches = [], {}
    for a in range(n):
        for b in range(a + 1, n):
            keys = np.concatenate([TEMPLATE, PHOTO]) if copy and (a, b) == (0, n - 1) else TEMPLATE
            pairs.append((a, b))
            matches[(a, b)] = (keys, keys, np.ones(len(keys), bool))
    pairs = np.array(pairs)
    return pairs, cos[pairs[:, 0], pairs[:, 1]], matches, vectors


def _effective(pairs, cosine, matches, vectors) -> np.ndarray:
    inliers = np.array([len(matches[(a, b)][0]) for a, b in pairs])
    return shared_content.effective_inliers(pairs, cosine, inliers, FUSION, THRESHOLD,
                                            lambda a, b: matches[(a, b)], lambda rows: vectors[rows])


def test_a_template_that_recurs_is_not_evidence_and_the_picture_is():
    pairs, cosine, matches, vectors = _pool(4, copy=True)
    inliers = np.array([len(matches[(a, b)][0]) for a, b in pairs])
    assert (FUSION.score(cosine, inliers) >= THRESHOLD).all()  # every pair merges on its inliers alone
    kept = _effective(pairs, cosine, matches, vectors)
    fused = FUSION.score(cosine, kept)
    copy_pair = [n for n, (a, b) in enumerate(pairs) if (a, b) == (0, 4)][0]
    assert kept[copy_pair] == len(PHOTO) and fused[copy_pair] >= THRESHOLD  # the picture's inliers stay
    others = np.arange(len(pairs)) != copy_pair
    assert (kept[others] == 0).all() and (fused[others] < THRESHOLD).all()


def test_two_posts_alone_keep_their_score_and_a_copy_cluster_does_not_outvote_itself():
    pairs, cosine, matches, vectors = _pool(2, copy=False)  # nothing else in the pool votes
    np.testing.assert_array_equal(_effective(pairs, cosine, matches, vectors), [len(TEMPLATE)])
    # five copies of one picture that merge on their inliers: they vote for each other's keypoints, but each
    # voter is related to the other side (cosine 0.6): nothing is taken out
    pairs, cosine, matches, vectors = _pool(5, copy=False)
    vectors = np.linalg.cholesky(np.full((5, 5), 0.6) + 0.4 * np.eye(5)).astype(np.float32)
    cosine = np.full(len(pairs), 0.45)  # below MAX_COSINE (their cosines with each other are ignored here)
    inliers = np.array([len(matches[(a, b)][0]) for a, b in pairs])
    np.testing.assert_array_equal(_effective(pairs, cosine, matches, vectors), inliers)


def test_a_match_out_of_place_never_votes():
    a = np.array([[0.1, 0.1], [0.5, 0.5], [0.9, 0.2]])
    b = a + [[0.0, 0.0], [shared_content.IN_PLACE / 2, 0.0], [0.3, 0.0]]
    keys = np.arange(3)
    np.testing.assert_array_equal(shared_content.in_place(a, b, keys, keys, False), [True, True, False])
    assert not shared_content.in_place(a, a, keys, keys, True).any()  # a mirrored match is not in place


# ---- a pool of real photos under shared overlays, embedded by the default model --------------------------------
@pytest.fixture(scope="module")
def overlay_pool(tmp_path_factory) -> tuple[Path, list[str]]:
    from myPython.build.calibration import describe_into_store
    from myPython.common.images import load_image
    from myPython.datasets import platform_edits
    from myPython.datasets.platform_video_edits import AppChrome, Sticker, Watermark
    from myPython.datasets.sources import photos
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    spec = load_model()
    rng = np.random.default_rng(11)
    train = photos("validation")[:14]
    pictures = [load_image(p.path) for p in train]
    chrome, sticker, watermark = (AppChrome.random(rng, style="overlay"), Sticker.random(rng),
                                  Watermark.random(rng, moving=False))
    images, origins = [], []
    for n, picture in enumerate(pictures):  # 6 posts in one app, 4 under one sticker, 4 under one watermark
        template = chrome if n < 6 else sticker if n < 10 else watermark
        images.append(template.apply(picture).image)
        origins.append(train[n].name)
    # copies: post 0's picture alone, and post 1's picture, heavily compressed, under the same app chrome
    images += [pictures[0], chrome.apply(platform_edits.heavy_jpeg(pictures[1], rng).image).image]
    origins += [train[0].name, train[1].name]
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings(), engine="onnxruntime")
    root = tmp_path_factory.mktemp("overlays") / "store"
    describe_into_store(extractor, images, root)
    return root, origins


def _decisions(store, options) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(merged by the pair score alone, merged in the pool, scores in the pool) over the pairs i < j."""
    from myPython.pool.scoring import pair_features, pair_score_matrix

    n = len(store)
    i, j = np.triu_indices(n, 1)
    cosine, raw = pair_features(store, options.fusion)
    pooled = pair_score_matrix(store, options)
    return (options.fusion.score(cosine, raw)[i, j] >= options.threshold, pooled[i, j] >= options.threshold,
            pooled)


def test_posts_of_one_app_mostly_stop_merging_and_copies_stay(overlay_pool):
    """Validation photos under one app chrome (the distribution the rule was chosen on). Measured here: all 20
    pairs of different posts of the app merge on the pair score, 8 in the pool (the rule is partial: see
    docs/same-origin.md); the copies stay."""
    from myPython.pool.scoring import score_options
    from myPython.pool.store import DescriptorStore
    from myPython.retrieval.models import load_model

    root, origins = overlay_pool
    options = score_options(load_model())
    before, after, _ = _decisions(DescriptorStore.open(root), options)
    i, j = np.triu_indices(len(origins), 1)
    different = np.array(origins)[i] != np.array(origins)[j]
    app = np.isin(i, [*range(6), 15]) & np.isin(j, [*range(6), 15]) & different  # posts under the chrome
    assert (before & app).sum() >= 10  # the hard case: the pair score merges most of them
    assert 3 * (after & app).sum() <= 2 * (before & app).sum()  # a third gone at least (measured: 12 of 20)
    assert not (after & ~before).any()  # the rule only takes evidence away
    assert (after[~different] == before[~different]).all()  # and none from this pool's copies


def test_the_neighbour_graph_takes_out_what_the_pair_score_does(overlay_pool, tmp_path):
    import shutil

    from myPython.pool import jobs
    from myPython.pool.scoring import score_options
    from myPython.pool.store import DescriptorStore
    from myPython.retrieval.models import load_model

    root = tmp_path / "store"
    shutil.copytree(overlay_pool[0], root)
    store = DescriptorStore.open(root)
    options = score_options(load_model(), store=store)
    _, after, pooled = _decisions(store, options)
    answers = dict(jobs.search(store, store, top_k=15, score=options))
    assert json.loads(next((root / "graph").glob("*.json")).read_text())["shared_content"]["pairs_changed"] > 0
    for query, neighbours in answers.items():
        for other, score in neighbours:
            assert score == pytest.approx(pooled[int(query), int(other)], abs=1e-5), (query, other)
    _, groups = jobs.group(store, score=options)
    i, j = np.triu_indices(len(store), 1)
    merged = {(int(a), int(b)) for a, b, m in zip(i, j, after) if m}
    for g in groups:  # each group's pairs are merged by the pair score at least as often as the model asks
        rows = sorted(int(m) for m in g.members)
        inside = [(a, b) for n, a in enumerate(rows) for b in rows[n + 1 :]]
        assert sum(p in merged for p in inside) >= options.min_link_fraction * len(inside) - 1e-9, g.members


def test_the_graph_workers_give_the_matches_this_process_does(overlay_pool):
    """The graph's shared-content pass takes its pairs' matches from the verification workers."""
    from myPython.pool.graph_verify import Verifier
    from myPython.pool.scoring import LocalFeatureIndex
    from myPython.pool.store import DescriptorStore

    store = DescriptorStore.open(overlay_pool[0])
    i, j = np.triu_indices(len(store), 1)
    pairs = np.c_[i, j][:40]
    serial = shared_content.feature_matches(LocalFeatureIndex(store).__getitem__)
    with Verifier(store, workers=2, batch=7, min_parallel=0) as verifier:
        found = verifier.matches(pairs)
    assert len(found) == len(pairs)
    for (a, b), got in zip(pairs.tolist(), found):
        for x, y in zip(got, serial(a, b)):
            np.testing.assert_array_equal(x, y)
