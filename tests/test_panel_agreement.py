"""Whole pictures that match only by the frame around their panels (pool/panel_agreement.py): screenshots of
different photos in one app are not linked, copies are."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from myPython.pool.panel_agreement import PANEL_AGREEMENT, PanelRuns, unconfirmed
from myPython.pool.panel_rows import fold_answers, fold_links, fold_matrix, owner_rows


def unit(*rows: list[float]) -> np.ndarray:
    x = np.array(rows, np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# rows: 0 shot A, 1 its panel (photo a), 2 shot B, 3 its panel (photo b), 4 shot C, 5 its panel (photo a again),
# 6 plain photo D (no panel)
IDS = ["A.jpg", "A.jpg#panel=1", "B.jpg", "B.jpg#panel=1", "C.jpg", "C.jpg#panel=1", "D.jpg"]
VECTORS = unit([1, 1, 0, 0], [0, 0, 1, 0], [1, 1, 0.05, 0], [0, 0, 0, 1], [1, 0.9, 0, 0], [0, 0.1, 1, 0],
               [0, 0, 0.9, 0.1])


def runs() -> PanelRuns:
    return PanelRuns(owner_rows(IDS), lambda rows: VECTORS[rows])


def test_two_whole_rows_with_unlike_panels_are_the_frame_alone_and_alike_panels_confirm():
    r = runs()
    a, b = np.array([0, 0, 2, 0, 6]), np.array([2, 4, 4, 6, 0])
    assert float(VECTORS[1] @ VECTORS[3]) < PANEL_AGREEMENT < float(VECTORS[1] @ VECTORS[5])
    # A/B: panels unlike -> frame only; A/C: the same photo inside -> kept; B/C unlike; a row without panels: kept
    assert unconfirmed(r, r, a, b).tolist() == [True, False, True, False, False]


def test_folded_links_drop_frame_only_links_and_keep_panel_links():
    owners = owner_rows(IDS)
    a, b, s = np.array([0, 0, 1, 6]), np.array([2, 4, 6, 3]), np.array([0.99, 0.98, 0.9, 0.7])
    plain = fold_links(owners, a, b, s)
    kept = fold_links(owners, a, b, s, runs())
    assert plain[0].tolist() == [0, 0, 0, 2] and plain[1].tolist() == [2, 4, 6, 6]
    # A-B (whole rows, unlike panels) is gone; A-C stays; the panel links (A's panel - D, B's panel - D) stay
    assert list(zip(kept[0].tolist(), kept[1].tolist())) == [(0, 4), (0, 6), (2, 6)]
    assert kept[3].tolist() == [False, True, True]


def test_folded_pair_scores_keep_only_what_panels_say_for_frame_only_pairs():
    owners = owner_rows(IDS)
    scores = np.full((7, 7), 0.1)
    scores[0, 2] = scores[2, 0] = 0.99  # A and B match as wholes (the app's chrome)
    scores[0, 4] = scores[4, 0] = 0.97
    scores[3, 0] = scores[0, 3] = 0.4  # B's panel against A's whole row
    folded = fold_matrix(scores, owners)
    confirmed = fold_matrix(scores, owners, runs())
    assert folded[0, 1] == pytest.approx(0.99) and confirmed[0, 1] == pytest.approx(0.4)  # A / B
    assert confirmed[0, 2] == pytest.approx(0.97)  # A / C: their panels agree


def test_answers_skip_whole_neighbours_that_match_by_the_frame_alone():
    answers = [("A.jpg", [("B.jpg", 0.99), ("C.jpg", 0.97)]), ("A.jpg#panel=1", [("D.jpg", 0.9), ("B.jpg", 0.5)])]
    frame_only = {("A.jpg", "B.jpg")}.__contains__
    got = dict(fold_answers(iter(answers), 5, lambda a, b: frame_only((a, b))))
    # B comes back only through A's panel (its score there), never through the whole rows' match
    assert got["A.jpg"] == [("C.jpg", 0.97), ("D.jpg", 0.9), ("B.jpg", 0.5)]


# ---- the pool the issue asks for: posts of different photos in one app, embedded with panels --------------------
@pytest.fixture(scope="module")
def app_pool(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    from myPython.apps.cli import main
    from myPython.common.images import load_image
    from myPython.datasets import platform_edits
    from myPython.datasets.platform_video_edits import AppChrome
    from myPython.datasets.sources import photos

    rng = np.random.default_rng(21)
    pictures = [load_image(p.path) for p in photos("validation")[:6]]
    chrome = AppChrome.random(rng, style="framed")
    other = AppChrome.random(rng, style="overlay")
    folder = tmp_path_factory.mktemp("apps")
    origin = {}
    for k, picture in enumerate(pictures[:5]):  # 5 posts of different photos in one app
        origin[f"post{k}.png"] = k
        cv2.imwrite(str(folder / f"post{k}.png"), chrome.apply(picture).image)
    # copies: photo 0 alone, photo 1 posted in another app, post 2 heavily compressed (the same app)
    for name, image, k in (("photo0.png", pictures[0], 0), ("repost1.png", other.apply(pictures[1]).image, 1),
                           ("post2_jpeg.png", platform_edits.heavy_jpeg(chrome.apply(pictures[2]).image, rng,
                                                                        quality=(30, 40)).image, 2)):
        origin[name] = k
        cv2.imwrite(str(folder / name), image)
    out = tmp_path_factory.mktemp("apps_store") / "store"  # its own folder: other modules' fixtures write "store"s
    assert main(["embed", str(folder), "--out", str(out), "--panels", "--engine", "onnxruntime", "--quiet"]) == 0
    return out, origin


def test_posts_of_different_photos_in_one_app_are_not_linked_and_their_copies_are(app_pool):
    from myPython.apps.commands.eval_unseen import owner_scores
    from myPython.pool import jobs
    from myPython.pool.scoring import score_options
    from myPython.pool.store import DescriptorStore
    from myPython.retrieval.models import load_model

    root, origin = app_pool
    db = DescriptorStore.open(root)
    options = score_options(load_model(), store=db)
    ids = [i for shard in db.shards() for i in shard.ids() if "#panel=" not in i]
    scores = owner_scores(db, options)
    names = [i.rsplit("/", 1)[-1] for i in ids]
    n = len(names)
    same = np.array([[origin[a] == origin[b] for b in names] for a in names])
    off = ~np.eye(n, dtype=bool)
    assert (scores[same & off] >= options.threshold).all()  # every copy stays linked
    assert not (scores[~same] >= options.threshold).any()  # no two posts of different photos
    _, groups = jobs.group(db)
    for g in groups:
        assert len({origin[m.rsplit("/", 1)[-1]] for m in g.members}) == 1, g.members
    answers = dict(jobs.search(db, top_k=3, threshold=options.threshold))
    for query, found in answers.items():
        assert all(origin[i.rsplit("/", 1)[-1]] == origin[query.rsplit("/", 1)[-1]] for i, _ in found)
