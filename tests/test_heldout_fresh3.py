"""The fresh3 held-out set's plan, ground truth, drawing and build, on synthetic photos (fast: no package is read,
nothing is scored)."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import pytest

from evaluation import families as fam
from myPython.datasets import heldout_fresh as hf
from myPython.datasets import heldout_fresh2 as h2
from myPython.datasets import heldout_fresh3 as h3
from myPython.datasets import heldout_fresh3_apps as a3
from myPython.datasets import heldout_fresh3_panels as p3
from myPython.datasets import heldout_unseen as hu
from myPython.datasets.heldout_unseen import UnseenItem

NAMES = [c[0] for c in hu.candidates()]  # names only: nothing is read
FAMILY_COUNTS = {"original": 22, "composition": 114, "overlay": 28, "geometry": 18, "quality": 12, "distractor": 18}


def photo(origin: str) -> np.ndarray:
    """A smooth noisy picture, different per origin (waves plus blobs of its own, so that two photos do not
    correlate); portrait, landscape, and a few larger than MAX_SIDE."""
    seed = hu.item_seed(23, origin)
    rng = np.random.default_rng(seed)
    h, w = (1100, 1500) if seed % 7 == 0 else (210, 160) if seed % 3 == 0 else (160, 230)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.stack([128 + 60 * np.sin(7 * (a * xx + b * yy) + 3 * f) for a, b, f in rng.uniform(-1, 1, (3, 3))], -1)
    out += cv2.resize(rng.uniform(-60, 60, (9, 9, 3)), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(out + rng.normal(0, 3, out.shape), 0, 255).astype(np.uint8)


def fitted(origin: str) -> np.ndarray:
    return p3.fit_long_side(photo(origin), h3.MAX_SIDE)


def plan_items() -> list[UnseenItem]:
    return [UnseenItem(s.path, s.family, s.kind, s.origins) for s in h3.plan(NAMES)]


def by_kind(items: list, kind: str) -> list:
    return [i for i in items if i.kind == kind]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[UnseenItem], Path, list[UnseenItem]]:
    root = tmp_path_factory.mktemp("fresh3")
    pool, items = h3.build_fresh3_set(root / "a", photo, NAMES)
    pool_b, items_b = h3.build_fresh3_set(root / "b", photo, NAMES)
    return pool, items, pool_b, items_b


def test_photos_are_split_apart_with_an_own_seed():
    sources, distractors, backdrops = h3.choose_photos(NAMES)
    assert (sources, distractors, backdrops) == h3.choose_photos(NAMES)
    assert (len(sources), len(distractors), len(backdrops)) == (h3.SOURCES, h3.DISTRACTORS, h3.BACKDROPS)
    chosen = sources + distractors + backdrops
    assert len(set(chosen)) == len(chosen) and set(chosen) <= set(NAMES)
    assert h3.choose_photos(NAMES, h3.FRESH3_SEED + 1)[0] != sources
    assert h3.FRESH3_SEED not in (h2.FRESH2_SEED, hf.FRESH_SEED, hu.UNSEEN_SEED, hu.UNSEEN_SEED + 1,
                                  hu.prev.HELDOUT_SEED)
    with pytest.raises(ValueError):
        h3.choose_photos(NAMES[: h3.SOURCES + h3.DISTRACTORS])


def test_ground_truth_of_the_plan():
    specs = h3.plan(NAMES)
    assert specs == h3.plan(NAMES) and len({s.path for s in specs}) == len(specs)
    items = plan_items()
    assert dict(Counter(i.family for i in items)) == FAMILY_COUNTS
    assert 200 <= len(items) <= 260 and FAMILY_COUNTS["composition"] >= 0.45 * len(items)
    sources, distractors, backdrops = h3.choose_photos(NAMES)
    originals = {i.origins[0]: i for i in by_kind(items, "original")}
    assert sorted(originals) == sorted(sources)
    assert sorted(o for i in by_kind(items, "photo") for o in i.origins) == sorted(distractors)
    assert not {o for i in items for o in i.origins} & set(backdrops)  # decoration only, never an origin
    # single edits: one source each, a copy of its original; a kind never shows one source twice
    for kind, (family, _) in h3.EDITS.items():
        made = by_kind(items, kind)
        assert len(made) == h3.EDIT_PHOTOS == len({i.origins for i in made})
        assert all(i.family == family and hu.same_origin(i, originals[i.origins[0]]) for i in made)
    # app frames: one frame around different photos is no origin; one photo in both frames is a copy
    frames = {app: by_kind(items, app) for app in h3.APPS}
    for shown in frames.values():
        assert len(shown) == h3.APP_PHOTOS and all(not hu.same_origin(a, b) for a, b in combinations(shown, 2))
        assert all(hu.same_origin(i, originals[i.origins[0]]) for i in shown)
    cross = [(a, b) for a in frames[h3.APPS[0]] for b in frames[h3.APPS[1]] if hu.same_origin(a, b)]
    assert len(cross) == h3.CROSS_APP and all(a.origins == b.origins for a, b in cross)
    for mark in h3.MARKS:  # one watermark or sticker set over different photos: different origins
        shown = by_kind(items, mark)
        assert len(shown) == h3.MARK_PHOTOS and all(not hu.same_origin(a, b) for a, b in combinations(shown, 2))
    # composites: exactly one source among distinct photos; the same origin as each photo they show
    for kind, (count, sizes) in h3.COMPOSITES.items():
        made = by_kind(items, kind)
        assert len(made) == count
        for n, item in enumerate(sorted(made, key=lambda i: i.path)):
            assert len(item.origins) == sizes[n % len(sizes)] == len(set(item.origins))
            assert sum(o in sources for o in item.origins) == 1
            plain = [i for i in items if i.family in ("original", "distractor") and hu.same_origin(i, item)]
            assert sorted(o for i in plain for o in i.origins) == sorted(item.origins)
    for pip in by_kind(items, "pip"):
        host, inset = pip.origins
        assert host in distractors and inset in sources
    assert len({i.origins[0] for i in by_kind(items, "pip")}) == h3.COMPOSITES["pip"][0]
    reactions = sorted(by_kind(specs, "reaction"), key=lambda s: s.path)
    assert all(s.origins[n % 2] in sources for n, s in enumerate(reactions))
    assert {len(i.origins) for i in by_kind(items, "compilation")} == {3, 4}
    # blurred-host pips: each backdrop behind two items that show different sources: different origins
    blurred = by_kind(specs, "pip_blurred")
    assert Counter(s.backdrop for s in blurred) == {b: 2 for b in backdrops}
    for a, b in combinations(blurred, 2):
        if a.backdrop == b.backdrop:
            assert a.origins != b.origins and not set(a.origins) & set(b.origins)
    assert all(not s.backdrop for s in specs if s.kind != "pip_blurred")
    every_source_composed = Counter(o for i in items if i.family == "composition" for o in i.origins if o in sources)
    assert set(every_source_composed) == set(sources) and min(every_source_composed.values()) >= 4
    same = fam.same_origin_matrix([i.origins for i in items])
    for a, b in combinations(range(len(items)), 2):
        assert same[a, b] == hu.same_origin(items[a], items[b])
    summary = h3.pair_counts(items)
    assert summary["items"] == len(items) and summary["origins"] == h3.SOURCES + h3.DISTRACTORS
    negatives = summary["same_kind_different_origin"]
    assert negatives["app_loop"] == negatives["app_grid"] == 28 and negatives["watermark_text"] == 15
    assert "app_loop" not in summary["same_kind_same_origin"]
    assert summary["same_origin_pairs"] == int(np.triu(same, 1).sum())


def test_build_is_deterministic_cached_and_complete(built):
    pool, items, pool_b, items_b = built
    assert items == items_b == plan_items()
    assert sorted(p.relative_to(pool).as_posix() for p in pool.rglob("*.png")) == sorted(i.path for i in items)
    for item in items:
        assert (pool / item.path).read_bytes() == (pool_b / item.path).read_bytes(), item.path
    assert hu.read_items(pool.parent / "items.json") == items

    def refuse(origin: str) -> np.ndarray:
        raise AssertionError("a built set is not rebuilt")

    assert h3.build_fresh3_set(pool.parent, refuse, NAMES) == (pool, items)


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)


def _correlation(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> float:
    a, b = a[keep] - a[keep].mean(), b[keep] - b[keep].mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9))


def _window_at(image: np.ndarray, window: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
    x, y, w, h = window
    return _grey(p3.resize(image[y : y + h, x : x + w], *size))


def test_each_composite_shows_its_photos_where_it_says(built):
    """Every panel correlates with its own photo's window resized to it, far better than with the item's other
    photos (its rim and the panels drawn over it, like an inset or a face camera, left out)."""
    from myPython.common.images import load_image

    pool = built[0]
    images = {o: fitted(o) for o in NAMES}
    for spec in h3.plan(NAMES):
        if spec.family != "composition":
            continue
        frame, panels = h3.render_panels(spec, images)
        assert np.array_equal(frame, load_image(pool / spec.path)), spec.path
        assert len(panels) == len(spec.origins)
        for k, (origin, (rect, window)) in enumerate(zip(spec.origins, panels)):
            x, y, w, h = rect
            assert 0 <= x and 0 <= y and x + w <= frame.shape[1] and y + h <= frame.shape[0], spec.path
            keep = np.zeros((h, w), bool)
            trim = round(0.15 * min(w, h))  # rounded corners (a face camera, a card) and number badges left out
            keep[trim : h - trim, trim : w - trim] = True
            for later in panels[k + 1 :]:  # an inset drawn over this panel, with its border or ring
                lx, ly, lw, lh = later.rect
                keep[max(0, ly - y - 10) : max(0, ly - y + lh + 10), max(0, lx - x - 10) : max(0, lx - x + lw + 10)] = 0
            shown = _grey(frame[y : y + h, x : x + w])
            own = _correlation(shown, _window_at(images[origin], window, (w, h)), keep)
            assert own > 0.95, (spec.path, origin, own)
            for other in set(spec.origins) - {origin}:
                guess = _window_at(images[other], p3.cover_window(images[other].shape[1::-1], (w, h)), (w, h))
                assert _correlation(shown, guess, keep) < own - 0.05, (spec.path, other)


def test_pip_inset_is_the_source_at_its_share_of_the_width():
    host, inset = p3.resize(photo("host"), 800, 600), photo("inset")
    for at in ((0.0, 0.0), (1.0, 1.0), (0.12, 0.88), (0.5, 0.3)):
        frame, (whole, panel) = p3.picture_in_picture(host, inset, 0.3, at, 5, (255, 255, 255))
        x, y, w, h = panel.rect
        assert whole.rect == (0, 0, 800, 600) and panel.window == (0, 0, inset.shape[1], inset.shape[0])
        assert w == 240 and abs(h / w - inset.shape[0] / inset.shape[1]) < 0.01
        assert np.array_equal(frame[y : y + h, x : x + w], p3.resize(inset, w, h))
        assert (frame[y - 5, x - 5 : x + w + 5] == 255).all() and (frame[y + h + 4, x - 5 : x + w + 5] == 255).all()
        free = (800 - w - 10, 600 - h - 10)
        assert (x - 5, y - 5) == (round(at[0] * free[0]), round(at[1] * free[1]))
        outside = np.ones((600, 800), bool)
        outside[y - 5 : y + h + 5, x - 5 : x + w + 5] = False
        assert np.array_equal(frame[outside], host[outside])


SAME_SIZE = {"original", "photo", "downscale_upscale", "jpeg_colour_shift", "screen_photo", "watermark_text",
             "sticker_set", "pip"}
FIXED = {"portrait_blur_fill": {(1024, 576)}, "app_loop": {(1024, 576)}, "app_grid": {(1024, 600)},
         "pip_blurred": {(576, 1024), (1024, 576)}, "duet": {(576, 1024), (1024, 576)},
         "split_screen": {(1024, 576)}, "collage_3": {(1024, 1024), (1024, 820), (1024, 576)},
         "collage_2x2": {(1024, 1024), (1024, 820)}, "collage_3x3": {(1024, 1024)},
         "reaction": {(576, 1024), (1024, 576)}, "compilation": {(576, 1024), (1024, 576)},
         "card": {(1024, 576), (1024, 820), (1024, 1024)}}


def test_every_item_has_the_size_of_its_kind(built):
    from myPython.common.images import load_image

    pool, items = built[:2]
    seen = Counter[tuple[str, tuple[int, int]]]()
    for item in items:
        image = load_image(pool / item.path)
        ref = fitted(item.origins[0])
        h, w = image.shape[:2]
        assert max(h, w) <= h3.MAX_SIDE, item.path
        if item.kind in SAME_SIZE:
            assert image.shape == ref.shape, item.path
        elif item.kind in FIXED:
            assert (h, w) in FIXED[item.kind], item.path
            seen[item.kind, (h, w)] += 1
        elif item.kind == "rotate90_border":  # turned: the photo's width is now its height, plus the border
            assert abs(h / w - ref.shape[1] / ref.shape[0]) < 0.08 and (image[0, 0] == image[-1, -1]).all()
        else:
            raise AssertionError(f"no size rule for {item.kind}")
        if item.kind in ("original", "photo"):
            assert np.array_equal(image, ref)
    for kind in ("duet", "reaction", "compilation", "collage_3", "card"):  # each frame shape is used
        assert {size for k, size in seen if k == kind} == FIXED[kind], kind


def test_app_chrome_is_the_same_around_different_photos():
    a, b = photo("x"), p3.resize(photo("y"), photo("x").shape[1], photo("x").shape[0])
    for make, size in ((a3.app_loop, a3.LOOP_SIZE), (a3.app_grid, a3.GRID_SIZE)):
        (one, rect), (two, rect_b) = make(a), make(b)
        assert one.shape == (size[1], size[0], 3) and rect == rect_b
        x, y, w, h = rect
        photo_area = np.zeros(one.shape[:2], bool)
        photo_area[y : y + h, x : x + w] = True
        differs = (one != two).any(-1)
        assert not differs[~photo_area].any()  # the chrome outside the photo: identical
        assert 0.15 < differs.mean() < 0.85 and differs[photo_area].mean() > 0.6
        around = one[~photo_area]
        _, counts = np.unique(around, axis=0, return_counts=True)
        assert 1 - counts.max() / len(around) > 0.01  # there is chrome to share, not just a plain background
        assert np.array_equal(one, make(a)[0])


def test_marks_put_the_same_pixels_at_the_same_place():
    a = photo("x")
    b = p3.resize(photo("y"), a.shape[1], a.shape[0])
    for edit in (a3.watermark, a3.stickers):
        oa, ob = edit(a), edit(b)
        marked_a, marked_b = (oa != a).any(-1), (ob != b).any(-1)
        assert 0.02 < marked_a.mean() < 0.4
        assert (marked_a & marked_b).sum() / (marked_a | marked_b).sum() > 0.8
    oa, ob = a3.stickers(a), a3.stickers(b)
    assert (oa == ob).all(-1).mean() > 0.05  # opaque stickers: the same pixels on both photos


def test_single_edits():
    im = photo("x")
    h, w = im.shape[:2]
    rng = np.random.default_rng(0)
    portrait = p3.portrait_blur_fill(im)
    assert portrait.shape == (1024, 576, 3)
    top, bottom = portrait[:200].astype(float), portrait[-200:].astype(float)  # the blurred fill: smooth
    assert np.abs(np.diff(top, axis=1)).mean() < 2 and np.abs(np.diff(bottom, axis=1)).mean() < 2
    turned = p3.rotate_with_border(im, True, 0.05, (10, 200, 30))
    b = round(0.05 * max(h, w))
    assert turned.shape == (w + 2 * b, h + 2 * b, 3) and turned[0, 0].tolist() == [10, 200, 30]
    assert np.array_equal(turned[b:-b, b:-b], cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE))
    screen = p3.screen_photo(im, h3._screen_corners(rng), (150, 160, 170), 0.1, rng)
    assert screen.shape == im.shape and not np.array_equal(screen, im)
    small = p3.downscale_upscale(im, 120)
    assert small.shape == im.shape and np.abs(small.astype(int) - im).mean() < 20
    shifted = p3.jpeg_colour_shift(im, 8, (1.15, 1.0, 0.85), 10)
    assert shifted.shape == im.shape and shifted[..., 0].mean() > im[..., 0].mean()
    backdrop = p3.blurred_backdrop(photo("z"), p3.PORTRAIT, (200, 50, 50), 0.4, 0.7)
    assert backdrop.shape == (1024, 576, 3) and np.abs(np.diff(backdrop.astype(float), axis=0)).mean() < 1.5


def test_collage_gutters_are_even_and_cells_fill_the_frame():
    photos = [photo(str(k)) for k in range(9)]
    frame, panels = p3.collage(photos, "grid_3x3", p3.SQUARE, 10, (1, 2, 3))
    xs = sorted({p.rect[0] for p in panels})
    assert xs[0] == 10 and panels[-1].rect[0] + panels[-1].rect[2] == 1024 - 10
    widths = {p.rect[2] for p in panels}
    assert max(widths) - min(widths) <= 1
    assert (frame[:10] == (1, 2, 3)).all() and (frame[:, :10] == (1, 2, 3)).all()
    with pytest.raises(ValueError):
        p3.collage(photos[:3], "grid_2x2", p3.SQUARE, 4, (0, 0, 0))


def test_eval_images_takes_the_fresh3_set_and_never_records_it(tmp_path):
    from myPython.apps.cli import build_parser
    from myPython.errors import UsageError

    parser = build_parser(load="eval-images")
    assert parser.parse_args(["eval-images", "--out", str(tmp_path), "--set", "fresh3"]).set == "fresh3"
    args = parser.parse_args(["eval-images", "--out", str(tmp_path), "--set", "fresh3", "--record"])
    with pytest.raises(UsageError):
        args.run(args)
