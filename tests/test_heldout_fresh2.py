"""The fresh2 held-out set's plan, ground truth and build, on synthetic photos (fast: no package is read, nothing
is scored)."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import pytest

from evaluation import families as fam
from myPython.datasets import heldout_fresh as hf
from myPython.datasets import heldout_fresh2 as h2
from myPython.datasets import heldout_fresh2_apps as a2
from myPython.datasets import heldout_fresh2_edits as e2
from myPython.datasets import heldout_unseen as hu
from myPython.datasets.heldout_unseen import UnseenItem

NAMES = [c[0] for c in hu.candidates()]  # names only: nothing is read


def photo(origin: str) -> np.ndarray:
    """A smooth noisy picture, different per origin; portrait, landscape, and a few larger than MAX_SIDE."""
    seed = hu.item_seed(11, origin)
    rng = np.random.default_rng(seed)
    h, w = (1100, 1500) if seed % 7 == 0 else (200, 150) if seed % 3 == 0 else (150, 220)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.stack([128 + 100 * np.sin(6 * (a * xx + b * yy) + 3 * f) for a, b, f in rng.uniform(-1, 1, (3, 3))], -1)
    return np.clip(out + rng.normal(0, 3, out.shape), 0, 255).astype(np.uint8)


def fitted(origin: str) -> np.ndarray:
    return e2.fit_long_side(photo(origin), h2.MAX_SIDE)


def plan_items() -> list[UnseenItem]:
    return [UnseenItem(s.path, s.family, s.kind, s.origins) for s in h2.plan(NAMES)]


def by_kind(items: list, kind: str) -> list:
    return [i for i in items if i.kind == kind]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[UnseenItem], Path, list[UnseenItem]]:
    root = tmp_path_factory.mktemp("fresh2")
    pool, items = h2.build_fresh2_set(root / "a", photo, NAMES)
    pool_b, items_b = h2.build_fresh2_set(root / "b", photo, NAMES)
    return pool, items, pool_b, items_b


def test_photos_are_split_apart_and_drawn_evenly_from_the_earlier_sets():
    sources, distractors = h2.choose_photos(NAMES)
    assert (sources, distractors) == h2.choose_photos(NAMES)
    assert len(sources) == h2.SOURCES and len(distractors) == h2.DISTRACTORS
    assert len(set(sources)) == h2.SOURCES and not set(sources) & set(distractors)
    assert set(sources) | set(distractors) <= set(NAMES)
    unseen, fresh = h2.used_before(NAMES)
    assert unseen == set(hu.split_sources(NAMES)[0]) and fresh == set(hf.choose_photos(NAMES)[0])
    new = [n for n in NAMES if n not in unseen | fresh]
    if len(new) >= h2.SOURCES:
        assert set(sources) <= set(new)
    else:  # every unused photo first, the rest alternately from the two earlier sets
        assert set(new) <= set(sources)
        rest = [s for s in sources if s not in new]
        assert abs(sum(s in unseen for s in rest) - sum(s in fresh for s in rest)) <= 1
    assert h2.choose_photos(NAMES, h2.FRESH2_SEED + 1)[0] != sources
    assert h2.FRESH2_SEED not in (hf.FRESH_SEED, hu.UNSEEN_SEED, hu.UNSEEN_SEED + 1, hu.prev.HELDOUT_SEED)
    with pytest.raises(ValueError):
        h2.choose_photos(NAMES[:30])


def test_ground_truth_of_the_plan():
    specs = h2.plan(NAMES)
    assert specs == h2.plan(NAMES) and len({s.path for s in specs}) == len(specs)
    items = plan_items()
    counts = {f: sum(i.family == f for i in items) for f in {i.family for i in items}}
    assert counts == {"original": 24, "geometry": 35, "photometric": 20, "quality": 20, "copy": 40, "overlay": 42,
                      "composition": 30, "distractor": 20}
    assert 200 <= len(items) <= 260
    sources, distractors = h2.choose_photos(NAMES)
    originals = {i.origins[0]: i for i in by_kind(items, "original")}
    assert sorted(originals) == sorted(sources)
    assert sorted(o for i in by_kind(items, "photo") for o in i.origins) == sorted(distractors)
    # single edits and copies: one photo each, that photo's original is a copy of it (rotated, reframed, ...)
    for item in items:
        if item.kind in h2.EDITS:
            assert len(item.origins) == 1 and hu.same_origin(item, originals[item.origins[0]])
            assert item.family == ("copy" if item.path.startswith("copy/") else h2.EDITS[item.kind][0])
    for kind in h2.EDITS:
        assert sum(i.family != "copy" for i in by_kind(items, kind)) == h2.EDIT_PHOTOS
    copies = [i for i in items if i.family == "copy"]
    assert len({i.origins for i in copies}) == h2.COPY_SOURCES
    edits = [(i.kind, i.origins) for i in items if i.kind in h2.EDITS]
    assert len(set(edits)) == len(edits)  # no photo gets one kind twice (an exact rotation would repeat a file)
    for origins in {i.origins for i in copies}:
        cluster = [i for i in items if i.origins == origins]
        assert sum(i.family == "copy" for i in cluster) == h2.COPY_KINDS and len(cluster) >= h2.COPY_KINDS + 2
    # apps: screenshots of different photos in one app are different origins
    first = {app: [i for i in by_kind(items, app) if i.path.endswith(".0.png")] for app in h2.APPS}
    for shown in first.values():
        assert len(shown) == h2.APP_PHOTOS and all(not hu.same_origin(a, b) for a, b in combinations(shown, 2))
    cross = [(a, b) for a in first[h2.APPS[0]] for b in first[h2.APPS[1]] if hu.same_origin(a, b)]
    assert len(cross) == h2.CROSS_APP
    again = [i for i in items if i.path.endswith(".1.png")]
    assert sorted(i.kind for i in again) == sorted(h2.APPS)
    for item in again:  # shown twice in one app (another user): a copy, and in no other app
        twins = [i for i in items if i.family == "overlay" and i is not item and hu.same_origin(i, item)]
        twins = [i for i in twins if i.kind in h2.APPS]
        assert len(twins) == 1 and twins[0].kind == item.kind and twins[0].path.endswith(".0.png")
    # templates: one template on different photos: different origins, each the same as its original
    for template in h2.TEMPLATES:
        shown = by_kind(items, template)
        assert len(shown) == h2.TEMPLATE_PHOTOS and all(not hu.same_origin(a, b) for a, b in combinations(shown, 2))
        assert all(hu.same_origin(i, originals[i.origins[0]]) for i in shown)
    # composites: exactly one source, shown with other (distractor) photos; same origin as each of its photos
    for kind, (count, extra) in h2.COMPOSITES.items():
        made = by_kind(items, kind)
        assert len(made) == count
        for item in made:
            assert len(item.origins) == extra + 1 == len(set(item.origins))
            assert sum(o in sources for o in item.origins) == 1
            plain = [i for i in items if i.family in ("original", "distractor") and hu.same_origin(i, item)]
            assert sorted(o for i in plain for o in i.origins) == sorted(item.origins)
    for pip in by_kind(items, "pip"):
        host, inset = pip.origins
        assert host in distractors and inset in sources
    assert len({i.origins[0] for i in by_kind(items, "pip")}) == h2.COMPOSITES["pip"][0]
    assert all(i.origins[0] in sources for i in by_kind(items, "split_vertical"))
    same = fam.same_origin_matrix([i.origins for i in items])
    for a, b in combinations(range(len(items)), 2):
        assert same[a, b] == hu.same_origin(items[a], items[b])
    summary = h2.pair_counts(items)
    assert summary["items"] == len(items) and summary["origins"] == h2.SOURCES + h2.DISTRACTORS
    assert summary["same_kind_same_origin"]["app_dark"] == 1 == summary["same_kind_same_origin"]["app_light"]
    assert summary["same_kind_different_origin"]["watermark"] == 15
    assert summary["same_kind_different_origin"]["app_dark"] == 35
    assert summary["same_origin_pairs"] == int(np.triu(same, 1).sum())


def test_build_is_deterministic_cached_and_complete(built, tmp_path: Path):
    pool, items, pool_b, items_b = built
    assert items == items_b == plan_items()
    assert sorted(p.relative_to(pool).as_posix() for p in pool.rglob("*.png")) == sorted(i.path for i in items)
    for item in items:
        assert (pool / item.path).read_bytes() == (pool_b / item.path).read_bytes(), item.path
    assert hu.read_items(pool.parent / "items.json") == items

    def refuse(origin: str) -> np.ndarray:
        raise AssertionError("a built set is not rebuilt")

    assert h2.build_fresh2_set(pool.parent, refuse, NAMES) == (pool, items)


SAME_SIZE = {"zoom", "perspective_screen", "greyscale", "colour_filter", "vignette", "film", "tiny_then_upscaled",
             "heavy_jpeg", "low_res_blocky", "watermark", "stickers", "meme", "subtitles", "original", "photo"}
FIXED = {"portrait_blur_fill": (1024, 576), "portrait_colour_fill": (1024, 576), "split_vertical": (1024, 576),
         "app_dark": (1024, 576), "app_light": (1024, 640), "collage_2x2": (1024, 1024), "side_by_side": (576, 1024)}


def test_every_item_has_the_size_of_its_kind(built):
    from myPython.common.images import load_image

    pool, items = built[:2]
    for item in items:
        image = load_image(pool / item.path)
        ref = fitted(item.origins[-1])
        h, w = image.shape[:2]
        assert max(h, w) <= h2.MAX_SIDE, item.path
        if item.kind in SAME_SIZE:
            assert image.shape == ref.shape, item.path
        elif item.kind in FIXED:
            assert (h, w) == FIXED[item.kind], item.path
        elif item.kind in ("rotate90", "rotate180", "rotate270"):
            turns = {"rotate90": cv2.ROTATE_90_CLOCKWISE, "rotate180": cv2.ROTATE_180,
                     "rotate270": cv2.ROTATE_90_COUNTERCLOCKWISE}[item.kind]
            assert np.array_equal(image, cv2.rotate(ref, turns)), item.path  # exact
        elif item.kind == "thumbnail":
            assert 96 <= max(h, w) <= 128 and abs(w / h - ref.shape[1] / ref.shape[0]) < 0.06, item.path
        elif item.kind == "pip":
            assert image.shape == fitted(item.origins[0]).shape, item.path
        elif item.kind == "compilation_strip":
            assert (h, w) in ((1024, 576), (480, 1024)), item.path
        else:
            raise AssertionError(f"no size rule for {item.kind}")
        if item.kind == "greyscale":
            assert (image[..., 0] == image[..., 2]).all()
        if item.kind in ("original", "photo"):
            assert np.array_equal(image, ref)


def test_screenshots_of_one_app_share_chrome_but_not_users():
    a, b = photo("x"), photo("y")
    for make in (h2._dark_screen, h2._light_screen):
        one, two = make(a, np.random.default_rng(1), 0), make(b, np.random.default_rng(1), 0)
        assert one.shape == two.shape
        diff = (one != two).any(-1)
        assert 0.1 < diff.mean() < 0.8  # the photo changes, the chrome stays
        assert np.array_equal(one, make(a, np.random.default_rng(1), 0))
        assert (make(a, np.random.default_rng(1), 1) != one).any()  # another user name
    assert not set(h2.USERS[0]) & set(h2.USERS[1])


def test_templates_put_the_same_marks_at_the_same_place():
    a = photo("x")
    b = e2.resize(photo("y"), a.shape[1], a.shape[0])
    text, corner, opacity = h2.watermark_template()
    assert h2.watermark_template() == (text, corner, opacity) and text.startswith("@user_")
    for edit in (lambda im: a2.watermark(im, text, corner, opacity), lambda im: a2.stickers(im, h2.sticker_template())):
        oa, ob = edit(a), edit(b)
        marked_a, marked_b = (oa != a).any(-1), (ob != b).any(-1)
        assert 0.002 < marked_a.mean() < 0.4
        overlap = (marked_a & marked_b).sum() / (marked_a | marked_b).sum()
        assert overlap > 0.8
    design = h2.sticker_template()
    assert 3 <= len(design) <= 4 and design == h2.sticker_template()
    oa, ob = a2.stickers(a, design), a2.stickers(b, design)
    assert (oa == ob).all(-1).mean() > 0.02  # opaque stickers: the same pixels on both photos


def test_edits():
    im = photo("x")
    h, w = im.shape[:2]
    rng = np.random.default_rng(0)
    assert e2.zoom(im, 0.7).shape == im.shape and e2.blocky(im, 7).shape == im.shape
    assert e2.down_up(im, 130).shape == im.shape and not np.array_equal(e2.jpeg(im, 6), im)
    assert e2.portrait_fill(im).shape == (1024, 576, 3) and e2.portrait_fill(im, (10, 20, 30))[0, 0].tolist() == \
        [10, 20, 30]
    screen = e2.perspective_screen(im, rng)
    corner = screen[:4, :4].reshape(-1, 3).astype(int)  # the grey room around the monitor
    assert screen.shape == im.shape and (corner.max(1) - corner.min(1)).mean() < 30
    warm, cool = e2.colour_filter(im, True, 0.25), e2.colour_filter(im, False, 0.25)
    assert warm[..., 2].mean() > cool[..., 2].mean() and warm[..., 0].mean() < cool[..., 0].mean()
    v = e2.vignette(im, 0.8)
    assert v[0, 0].astype(int).sum() < im[0, 0].astype(int).sum() * 0.4 + 3
    assert np.array_equal(v[h // 2, w // 2], im[h // 2, w // 2])
    assert e2.film(im, 1.6, 9, np.random.default_rng(1)).std() > 0
    host = e2.resize(photo("host"), 400, 300)
    pip = e2.picture_in_picture(host, im, 0.3, 2, (0.0, 0.0), 3, (255, 255, 255))
    assert pip.shape == host.shape and 0.03 < (pip != host).any(-1).mean() < 0.2
    assert e2.side_by_side(im, host).shape == (576, 1024, 3)
    assert e2.split_vertical(im, host).shape == (1024, 576, 3)
    assert e2.collage_2x2([im, host, im, host], 1024, 8, (255, 255, 255)).shape == (1024, 1024, 3)
    assert e2.compilation_strip([im, host, im], "TOP 3", True, (0, 0, 0), (255, 255, 255)).shape == (1024, 576, 3)
    assert a2.meme(im, "top", "bottom").shape == im.shape and a2.subtitles(im, "a b c").shape == im.shape
