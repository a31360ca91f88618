"""The fresh held-out set's plan, ground truth and build, on synthetic photos (fast: no package is read)."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from evaluation import families as fam
from myPython.datasets import heldout_fresh as hf
from myPython.datasets import heldout_fresh_edits as fe
from myPython.datasets import heldout_unseen as hu

NAMES = [c[0] for c in hu.candidates()]  # names only: nothing is read


def photo(origin: str) -> np.ndarray:
    """A smooth picture, different per origin; some portrait, some landscape."""
    seed = hu.item_seed(7, origin)
    rng = np.random.default_rng(seed)
    h, w = (200, 150) if seed % 3 == 0 else (150, 220)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.stack([128 + 100 * np.sin(6 * (a * xx + b * yy) + 3 * f) for a, b, f in rng.uniform(-1, 1, (3, 3))], -1)
    return np.clip(out + rng.normal(0, 3, out.shape), 0, 255).astype(np.uint8)


def by_kind(items: list, kind: str) -> list:
    return [i for i in items if i.kind == kind]


def test_photos_are_split_apart_and_prefer_those_unseen_leaves_unedited():
    sources, distractors, hosts = hf.choose_photos(NAMES)
    assert (sources, distractors, hosts) == hf.choose_photos(NAMES)
    assert len(sources) == hf.SOURCES and len(distractors) == hf.DISTRACTORS and len(hosts) == hf.PIPS
    assert not set(sources) & set(distractors) and not set(hosts) & set(sources) and len(set(hosts)) == len(hosts)
    unseen_sources, unseen_rest = hu.split_sources(NAMES)
    assert set(sources) <= set(unseen_rest) if len(unseen_rest) >= hf.SOURCES else set(unseen_rest) <= set(sources)
    assert hf.choose_photos(NAMES, hf.FRESH_SEED + 1)[0] != sources
    assert hf.FRESH_SEED not in (hu.UNSEEN_SEED, hu.UNSEEN_SEED + 1, hu.prev.HELDOUT_SEED)


def test_ground_truth_of_the_plan():
    specs = hf.plan(NAMES)
    assert specs == hf.plan(NAMES) and len({s.path for s in specs}) == len(specs)
    items = [hu.UnseenItem(s.path, s.family, s.kind, s.origins) for s in specs]
    counts = {f: sum(i.family == f for i in items) for f in {i.family for i in items}}
    assert counts == {"original": 20, "app": 26, "overlay": 24, "copy": 48, "composition": 14, "distractor": 20}
    apps = {app: [i for i in by_kind(items, f"app_{app}") if i.path.endswith(".0.png")] for app in hf.APPS}
    for shown in apps.values():  # one screenshot per photo: every pair of them a hard negative
        assert len(shown) == hf.APP_PHOTOS and all(not hu.same_origin(a, b) for a, b in combinations(shown, 2))
    cross = [(a, b) for x, y in combinations(hf.APPS, 2) for a in apps[x] for b in apps[y] if hu.same_origin(a, b)]
    assert len(cross) == hf.CROSS_APP
    again = [i for i in items if i.path.endswith(".1.png")]
    assert len(again) == hf.WITHIN_APP
    for item in again:
        twins = [i for i in by_kind(items, item.kind) if hu.same_origin(i, item) and i is not item]
        assert len(twins) == 1 and twins[0].path.endswith(".0.png")
    for template in hf.TEMPLATES:
        shown = by_kind(items, template)
        assert len(shown) == hf.TEMPLATE_PHOTOS and all(not hu.same_origin(a, b) for a, b in combinations(shown, 2))
        originals = [i for i in by_kind(items, "original") if hu.same_origin(i, shown[0])]
        assert len(originals) == 1  # the same photo plain
    copies = [i for i in items if i.family == "copy"]
    assert len({i.origins for i in copies}) == hf.COPY_SOURCES
    for kind in hf.COPY_EDITS:
        assert len(by_kind(items, kind)) == hf.COPY_SOURCES
    sources, distractors, _ = hf.choose_photos(NAMES)
    for pip in by_kind(items, "pip"):
        host, inset = pip.origins
        assert inset in sources and host not in sources
    assert all(len(set(i.origins)) == 2 for i in by_kind(items, "side_by_side"))
    assert sorted(o for i in by_kind(items, "photo") for o in i.origins) == sorted(distractors)
    same = fam.same_origin_matrix([i.origins for i in items])
    for a, b in combinations(range(len(items)), 2):
        assert same[a, b] == hu.same_origin(items[a], items[b])
    summary = hf.pair_counts(items)
    assert summary["items"] == 152 and summary["same_kind_different_origin"]["app_reel"] == 28


def test_build_is_deterministic_cached_and_complete(tmp_path: Path):
    pool, items = hf.build_fresh_set(tmp_path / "a", photo, NAMES)
    pool_b, items_b = hf.build_fresh_set(tmp_path / "b", photo, NAMES)
    assert items == items_b and len(items) == 152
    sizes = {"app_reel": (1024, 576), "app_feed": (1024, 600), "app_board": (960, 640)}
    from myPython.common.images import load_image

    for item in items:
        data = (pool / item.path).read_bytes()
        assert data == (pool_b / item.path).read_bytes(), item.path
        image = load_image(pool / item.path)
        assert max(image.shape[:2]) <= hf.MAX_SIDE and min(image.shape[:2]) >= 64, item.path
        if item.kind in sizes:
            assert image.shape[:2] == sizes[item.kind]
    assert sorted(p.relative_to(pool).as_posix() for p in pool.rglob("*.png")) == sorted(i.path for i in items)

    def refuse(origin: str) -> np.ndarray:
        raise AssertionError("a built set is not rebuilt")

    assert hf.build_fresh_set(tmp_path / "a", refuse, NAMES) == (pool, items)


def test_screenshots_of_one_app_share_chrome_but_not_captions():
    a, b = photo("x"), photo("y")
    for make in fe.APPS.values():
        one, two = make(a, np.random.default_rng(1)), make(b, np.random.default_rng(1))
        other_caption = make(a, np.random.default_rng(2))
        assert one.shape == two.shape == other_caption.shape
        diff = (one != two).any(-1)
        assert 0.1 < diff.mean() < 0.8  # the photo changes, the chrome stays
        assert (one != other_caption).any() and np.array_equal(one, make(a, np.random.default_rng(1)))


@pytest.mark.parametrize("design", [0, 1])
def test_template_layers_put_the_same_pixels_at_the_same_place(design: int):
    a = photo("x")
    b = fe.resize(photo("y"), a.shape[1], a.shape[0])
    for layer, opacity in ((fe.sticker_layer(a.shape[1], a.shape[0], design), 1.0),
                           fe.watermark_layer(a.shape[1], a.shape[0], design)):
        oa, ob = layer.over(a, opacity), layer.over(b, opacity)
        clear = layer.cover == 0
        assert (~clear).any() and np.array_equal(oa[clear], a[clear])
        if opacity == 1.0:
            assert np.array_equal(oa[layer.cover == 255], ob[layer.cover == 255])


def test_copy_edits_and_compositions():
    im = photo("x")
    h, w = im.shape[:2]
    assert fe.greyscale(im).shape == im.shape and fe.down_up(im, 40).shape == im.shape
    assert fe.crop(im, 0.1, 0.5, 0.5).shape[:2] == (h - round(0.1 * h), w - round(0.1 * w))
    r = fe.rotate_crop(im, 6.0)
    assert r.shape[0] < h and r.shape[1] < w and abs(r.shape[1] / r.shape[0] - w / h) < 0.05
    assert not np.array_equal(fe.jpeg(im, 8), im)
    host = fe.resize(photo("host"), 400, 300)
    pip = fe.picture_in_picture(host, im, 0.3, 2)
    assert pip.shape == host.shape and (pip != host).any(-1).mean() < 0.2
    assert fe.side_by_side(im, host).shape[1] <= 1024
