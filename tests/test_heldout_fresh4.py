"""The fresh4 held-out set's plan, ground truth, edits, drawing and build, on synthetic photos (fast: no package is
read, nothing is embedded or scored)."""

from __future__ import annotations

import ast
from collections import Counter
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import pytest

from evaluation import families as fam
from myPython.datasets import heldout_fresh4 as h4
from myPython.datasets import heldout_fresh4_edits as e4
from myPython.datasets import heldout_fresh4_overlays as o4
from myPython.datasets import heldout_unseen as hu
from myPython.datasets.heldout_unseen import UnseenItem

NAMES = [c[0] for c in hu.candidates()]  # names only: nothing is read
FAMILY_COUNTS = {"original": 24, "composition": 64, "overlay": 34, "geometry": 42, "photometric": 24, "quality": 18,
                 "distractor": 17}
MODULES = [Path(m.__file__) for m in (h4, e4, o4)]


def photo(origin: str) -> np.ndarray:
    """A smooth picture of waves and blobs of its own per origin (two photos do not correlate); landscape,
    portrait, and a few larger than MAX_SIDE."""
    seed = hu.item_seed(41, origin)
    rng = np.random.default_rng(seed)
    h, w = (1000, 1300) if seed % 7 == 0 else (240, 180) if seed % 3 == 0 else (180, 260)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.stack([128 + 55 * np.sin(8 * (a * xx + b * yy) + 3 * f) for a, b, f in rng.uniform(-1, 1, (3, 3))], -1)
    out += cv2.resize(rng.uniform(-60, 60, (8, 8, 3)), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(out + rng.normal(0, 2, out.shape), 0, 255).astype(np.uint8)


def fitted(origin: str) -> np.ndarray:
    return e4.fit_long_side(photo(origin), h4.MAX_SIDE)


def plan_items() -> list[UnseenItem]:
    return [UnseenItem(s.path, s.family, s.kind, s.origins) for s in h4.plan(NAMES)]


def by_kind(items: list, kind: str) -> list:
    return [i for i in items if i.kind == kind]


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)


def _corr(a: np.ndarray, b: np.ndarray, keep: np.ndarray | None = None) -> float:
    a, b = _grey(a), _grey(b)
    if keep is not None:
        a, b = a[keep], b[keep]
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[UnseenItem], Path, list[UnseenItem]]:
    root = tmp_path_factory.mktemp("fresh4")
    pool, items = h4.build_fresh4_set(root / "a", photo, NAMES)
    pool_b, items_b = h4.build_fresh4_set(root / "b", photo, NAMES)
    return pool, items, pool_b, items_b


def test_no_fresh4_module_imports_training_or_earlier_edit_code():
    forbidden = {"edits", "video_edits", "platform_edits", "platform_video_edits", "platform_video_pool", "copies",
                 "heldout_unseen_edits", "heldout_unseen_overlays", "heldout_fresh_edits", "heldout_fresh2_edits",
                 "heldout_fresh2_apps", "heldout_fresh3_apps", "heldout_fresh3_panels", "heldout_fresh_videos_edits",
                 "heldout_fresh_videos_overlays", "heldout_fresh2_videos_edits"}
    for path in MODULES:
        tree = ast.parse(path.read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                names |= {node.module or ""} | {f"{node.module}.{a.name}" for a in node.names}
        assert not {n.rsplit(".", 1)[-1] for n in names} & forbidden, path
        assert len(path.read_text().splitlines()) <= 500, path
        assert "EVALUATION ONLY" in (ast.get_docstring(tree) or ""), path
    doc = " ".join(h4.__doc__.split())
    assert "Every parameter here was fixed before the set was ever scored" in doc


def test_photos_are_split_apart_with_an_own_seed():
    from myPython.datasets import heldout_fresh, heldout_fresh2, heldout_fresh3

    sources, distractors, backdrops = h4.choose_photos(NAMES)
    assert (sources, distractors, backdrops) == h4.choose_photos(NAMES)
    assert (len(sources), len(distractors), len(backdrops)) == (h4.SOURCES, h4.DISTRACTORS, h4.BACKDROPS)
    chosen = sources + distractors + backdrops
    assert len(set(chosen)) == len(chosen) and set(chosen) <= set(NAMES)
    assert h4.choose_photos(NAMES, h4.FRESH4_SEED + 1)[0] != sources
    assert sources != heldout_fresh3.choose_photos(NAMES)[0][: h4.SOURCES]
    assert h4.FRESH4_SEED not in (heldout_fresh3.FRESH3_SEED, heldout_fresh2.FRESH2_SEED, heldout_fresh.FRESH_SEED,
                                  hu.UNSEEN_SEED, hu.UNSEEN_SEED + 1, hu.prev.HELDOUT_SEED)
    with pytest.raises(ValueError):
        h4.choose_photos(NAMES[: h4.SOURCES + h4.DISTRACTORS])


def test_ground_truth_of_the_plan():
    specs = h4.plan(NAMES)
    assert specs == h4.plan(NAMES) and len({s.path for s in specs}) == len(specs)
    items = plan_items()
    assert dict(Counter(i.family for i in items)) == FAMILY_COUNTS
    assert 200 <= len(items) <= 300
    sources, distractors, backdrops = h4.choose_photos(NAMES)
    originals = {i.origins[0]: i for i in by_kind(items, "original")}
    assert sorted(originals) == sorted(sources)
    assert sorted(o for i in by_kind(items, "photo") for o in i.origins) == sorted(distractors)
    assert not {o for i in items for o in i.origins} & set(backdrops)  # decoration only, never an origin
    for kind, (family, _) in h4.EDITS.items():  # one source each, a copy of its original, never twice per kind
        made = by_kind(items, kind)
        assert len(made) == h4.EDIT_PHOTOS == len({i.origins for i in made})
        assert all(i.family == family and hu.same_origin(i, originals[i.origins[0]]) for i in made)
    frames = {app: by_kind(items, app) for app in h4.APPS}
    for shown in frames.values():  # one frame around different photos: different origins
        assert len(shown) == h4.APP_PHOTOS and all(not hu.same_origin(a, b) for a, b in combinations(shown, 2))
        assert all(hu.same_origin(i, originals[i.origins[0]]) for i in shown)
    cross = [(a, b) for a in frames[h4.APPS[0]] for b in frames[h4.APPS[1]] if hu.same_origin(a, b)]
    assert len(cross) == h4.CROSS_APP and all(a.origins == b.origins for a, b in cross)  # one photo, two frames
    for mark in h4.MARKS:  # one watermark, sticker set, meme or story frame over different photos
        shown = by_kind(items, mark)
        assert len(shown) == h4.MARK_PHOTOS and all(not hu.same_origin(a, b) for a, b in combinations(shown, 2))
    for kind, (count, sizes) in h4.COMPOSITES.items():  # exactly one source; the same origin as each photo shown
        made = sorted(by_kind(items, kind), key=lambda i: i.path)
        assert len(made) == count
        for n, item in enumerate(made):
            assert len(item.origins) == sizes[n % len(sizes)] == len(set(item.origins))
            assert sum(o in sources for o in item.origins) == 1
            plain = [i for i in items if i.family in ("original", "distractor") and hu.same_origin(i, item)]
            assert sorted(o for i in plain for o in i.origins) == sorted(item.origins)
    assert all(p.origins[0] in distractors and p.origins[1] in sources for p in by_kind(items, "pip_inset"))
    assert all(p.origins[0] in sources and p.origins[1] in distractors for p in by_kind(items, "pip_host"))
    assert {len(i.origins) for i in by_kind(items, "thumbnail_grid")} == {6, 7, 8, 9}
    screens = by_kind(specs, "screen_photo")  # each backdrop behind two screens showing different sources
    assert Counter(s.backdrop for s in screens) == {b: 2 for b in backdrops}
    assert all(not s.backdrop for s in specs if s.kind != "screen_photo")
    composed = Counter(o for i in items if i.family == "composition" for o in i.origins if o in sources)
    assert set(composed) == set(sources) and min(composed.values()) >= 2
    same = fam.same_origin_matrix([i.origins for i in items])
    for a, b in combinations(range(len(items)), 2):
        assert same[a, b] == hu.same_origin(items[a], items[b])
    summary = h4.pair_counts(items)
    assert summary["items"] == len(items) and summary["origins"] == h4.SOURCES + h4.DISTRACTORS
    assert summary["same_origin_pairs"] == int(np.triu(same, 1).sum())
    negatives = summary["same_kind_different_origin"]
    assert negatives["app_feed"] == negatives["app_reel"] == 10 and negatives["watermark_user"] == 15
    assert "app_feed" not in summary["same_kind_same_origin"]


def test_build_is_deterministic_cached_and_complete(built):
    pool, items, pool_b, items_b = built
    assert items == items_b == plan_items()
    assert sorted(p.relative_to(pool).as_posix() for p in pool.rglob("*.png")) == sorted(i.path for i in items)
    for item in items:
        assert (pool / item.path).read_bytes() == (pool_b / item.path).read_bytes(), item.path
    assert hu.read_items(pool.parent / "items.json") == items

    def refuse(origin: str) -> np.ndarray:
        raise AssertionError("a built set is not rebuilt")

    assert h4.build_fresh4_set(pool.parent, refuse, NAMES) == (pool, items)


SAME_SIZE = {"original", "photo", "zoom_crop", "screen_photo", "greyscale", "vintage", "hue_rotate", "heavy_contrast",
             "thumbnail", "jpeg_heavy", "blur_noise", "watermark_user", "sticker_set", "meme_text", "pip_inset",
             "pip_host"}
TURNED = {"rotate90", "rotate270"}
FIXED = {"portrait_blur": {(960, 540)}, "portrait_flat": {(960, 540)}, "app_feed": {(960, 540)},
         "app_reel": {(960, 540)}, "story_frame": {(960, 540)}, "thumbnail_grid": {(960, 540)},
         "duet": {(540, 960), (960, 540)}, "split_screen": {(960, 540)}, "collage_2x2": {(960, 960), (720, 960)},
         "collage_3": {(960, 960), (720, 960)}}


def test_every_item_has_the_size_of_its_kind(built):
    from myPython.common.images import load_image

    pool, items = built[:2]
    seen = Counter[tuple[str, tuple[int, int]]]()
    for item in items:
        image = load_image(pool / item.path)
        ref = fitted(item.origins[0])
        h, w = image.shape[:2]
        assert max(h, w) <= h4.MAX_SIDE and image.dtype == np.uint8 and image.shape[2] == 3, item.path
        if item.kind in SAME_SIZE:
            assert image.shape == ref.shape, item.path
        elif item.kind in TURNED or item.kind == "rotate180":
            turns = {"rotate90": 1, "rotate180": 2, "rotate270": 3}[item.kind]
            assert np.array_equal(image, e4.rotate(ref, turns)) and not np.array_equal(image, ref), item.path
        elif item.kind in FIXED:
            assert (h, w) in FIXED[item.kind], item.path
            seen[item.kind, (h, w)] += 1
        else:
            raise AssertionError(f"no size rule for {item.kind}")
        if item.kind in ("original", "photo"):
            assert np.array_equal(image, ref)
        else:
            assert image.shape != ref.shape or not np.array_equal(image, ref), item.path  # every edit changes it
    for kind in ("duet", "collage_2x2", "collage_3"):  # each frame shape is used
        assert {size for k, size in seen if k == kind} == FIXED[kind], kind


def test_single_edits_change_the_picture_and_keep_it_recognisable():
    im = fitted("x")
    other = e4.resize(fitted("y"), im.shape[1], im.shape[0])
    rng = np.random.default_rng(0)
    h, w = im.shape[:2]
    assert _corr(im, other) < 0.5  # the synthetic photos are unrelated
    # rotations: the same pixels turned, no border
    assert np.array_equal(e4.rotate(e4.rotate(im, 1), 3), im) and e4.rotate(im, 1).shape == (w, h, 3)
    assert np.array_equal(e4.rotate(im, 2), im[::-1, ::-1])
    # portrait reframing: the whole photo in the middle band, a smooth or flat fill around it
    for fill in ("blur", (30, 120, 220)):
        frame = e4.portrait_reframe(im, fill)
        pw, ph = e4.contain_size((w, h), e4.PORTRAIT)
        y = (960 - ph) // 2
        assert frame.shape == (960, 540, 3) and _corr(frame[y : y + ph, :pw], e4.resize(im, pw, ph)) > 0.99
        if fill == "blur":
            assert np.abs(np.diff(frame[:40].astype(float), axis=1)).mean() < 2
        else:
            assert (frame[:y] == (30, 120, 220)).all()
    zoomed = e4.zoom_crop(im, 1.5, (0.3, 0.7))
    cw, ch = round(w / 1.5), round(h / 1.5)
    x0, y0 = int(np.clip(round(0.3 * w - cw / 2), 0, w - cw)), int(np.clip(round(0.7 * h - ch / 2), 0, h - ch))
    assert zoomed.shape == im.shape and _corr(zoomed, e4.resize(im[y0 : y0 + ch, x0 : x0 + cw], w, h)) > 0.97
    assert _corr(zoomed, im) < 0.9
    corners = np.float32([[0.1, 0.08], [0.9, 0.12], [0.88, 0.9], [0.12, 0.86]])
    unwarp = cv2.getPerspectiveTransform(corners * np.float32([w, h]), np.float32([[0, 0], [w, 0], [w, h], [0, h]]))
    for glare, floor in ((0.0, 0.9), (0.3, 0.6)):  # the screen, warped back: the photo (under a glare)
        screen = e4.screen_photo(im, corners, fitted("room"), np.random.default_rng(1), glare=glare, moire=0.07)
        back = cv2.warpPerspective(screen, unwarp, (w, h))
        assert screen.shape == im.shape and _corr(back, im) > floor and _corr(screen, im) < 0.9
    # photometric
    grey = e4.greyscale(im)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all() and _corr(grey, im) > 0.99
    old = e4.vintage(im, 0.85, 0.4, 0.6, rng)
    assert _corr(old[h // 4 : -h // 4, w // 4 : -w // 4], im[h // 4 : -h // 4, w // 4 : -w // 4]) > 0.8
    assert old[0, 0].sum() < im[h // 2, w // 2].sum() + 255 and np.abs(old.astype(int) - im).mean() > 20
    turned = e4.hue_rotate(im, 120.0)
    hsv_a, hsv_b = cv2.cvtColor(im, cv2.COLOR_BGR2HSV), cv2.cvtColor(turned, cv2.COLOR_BGR2HSV)
    assert np.abs(hsv_a[..., 2].astype(int) - hsv_b[..., 2]).mean() < 2  # brightness structure kept
    assert np.abs(turned.astype(int) - im).mean() > 20
    punchy = e4.heavy_contrast(im, 2.2, 1.3)
    assert _grey(punchy).std() > 1.5 * _grey(im).std() and _corr(punchy, im) > 0.85
    # quality
    for changed, floor in ((e4.thumbnail(im, 100), 0.95), (e4.jpeg(im, 5), 0.95),
                           (e4.blur_noise(im, 2.8, 13, rng), 0.85)):
        assert changed.shape == im.shape and not np.array_equal(changed, im) and _corr(changed, im) > floor


def test_app_chrome_is_the_same_around_different_photos():
    a, b = fitted("x"), e4.resize(fitted("y"), fitted("x").shape[1], fitted("x").shape[0])
    for make in (o4.app_feed, o4.app_reel):
        (one, rect), (two, rect_b) = make(a), make(b)
        assert one.shape == (960, 540, 3) and rect == rect_b
        x, y, w, h = rect
        inside = np.zeros(one.shape[:2], bool)
        inside[y : y + h, x : x + w] = True
        differs = (one != two).any(-1)
        assert not differs[~inside].any()  # the chrome outside the photo's box: identical
        assert differs[inside].mean() > 0.3
        _, counts = np.unique(one[~inside], axis=0, return_counts=True)
        assert 1 - counts.max() / (~inside).sum() > 0.01  # there is chrome to share, not just a plain background
        assert np.array_equal(one, make(a)[0])
        frame = np.zeros_like(one)
        panel = o4.contain_in(frame, a, rect, (0, 0, 0))
        px, py, pw, ph = panel.rect
        assert _corr(one[py : py + ph, px : px + pw // 2], e4.resize(a, pw, ph)[:, : pw // 2]) > 0.97


def test_marks_put_the_same_pixels_at_the_same_place():
    a = fitted("x")
    b = e4.resize(fitted("y"), a.shape[1], a.shape[0])
    top, bottom = o4.MEMES[0]
    h = a.shape[0]
    for edit, floor in ((o4.watermark, 0.85), (o4.stickers, 0.65), (lambda im: o4.meme(im, top, bottom), 0.4)):
        oa, ob = edit(a), edit(b)
        marked_a, marked_b = (oa != a).any(-1), (ob != b).any(-1)
        assert 0.02 < marked_a.mean() < 0.45 and oa.shape == a.shape
        assert (marked_a & marked_b).sum() / (marked_a | marked_b).sum() > 0.8
        assert _corr(oa, a) > floor  # recognisable under the mark
    meme = o4.meme(a, top, bottom)
    assert np.array_equal(meme[round(0.2 * h) : round(0.8 * h)], a[round(0.2 * h) : round(0.8 * h)])  # text bands only
    oa, ob = o4.stickers(a), o4.stickers(b)
    assert (oa == ob).all(-1).mean() > 0.05  # opaque stickers: the same pixels on both photos


def test_story_shows_the_whole_photo_as_a_card():
    a, b = fitted("x"), e4.resize(fitted("y"), fitted("x").shape[1], fitted("x").shape[0])
    gradient, caption = o4.STORY_GRADIENTS[0], o4.STORY_CAPTIONS[0]
    (one, panel), (two, panel_b) = o4.story(a, gradient, caption), o4.story(b, gradient, caption)
    assert one.shape == (960, 540, 3) and panel == panel_b
    x, y, w, h = panel.rect
    trim = 30
    card = one[y + trim : y + h - trim, x + trim : x + w - trim]
    assert _corr(card, e4.resize(a, w, h)[trim:-trim, trim:-trim]) > 0.98
    outside = np.ones(one.shape[:2], bool)
    outside[y - 40 : y + h + 40, x - 40 : x + w + 40] = False
    assert not (one != two).any(-1)[outside].any()


def test_each_composite_shows_its_photos_where_it_says(built):
    """Every panel correlates with its own photo's window resized to it, far better than with the item's other
    photos (an inset drawn over a panel left out)."""
    from myPython.common.images import load_image

    pool = built[0]
    images = {o: fitted(o) for o in NAMES}
    for spec in h4.plan(NAMES):
        if spec.family != "composition":
            continue
        frame, panels = h4.render_panels(spec, images)
        assert np.array_equal(frame, load_image(pool / spec.path)), spec.path
        assert len(panels) == len(spec.origins)
        for k, (origin, (rect, window)) in enumerate(zip(spec.origins, panels)):
            x, y, w, h = rect
            assert 0 <= x and 0 <= y and x + w <= frame.shape[1] and y + h <= frame.shape[0], spec.path
            keep = np.ones((h, w), bool)
            for later in panels[k + 1 :]:  # an inset drawn over this panel, with its border
                lx, ly, lw, lh = later.rect
                keep[max(0, ly - y - 12) : max(0, ly - y + lh + 12), max(0, lx - x - 12) : max(0, lx - x + lw + 12)] = 0
            wx, wy, ww, wh = window
            shown = frame[y : y + h, x : x + w]
            own = _corr(shown, e4.resize(images[origin][wy : wy + wh, wx : wx + ww], w, h), keep)
            assert own > 0.97, (spec.path, origin, own)
            for other in set(spec.origins) - {origin}:
                guess, _ = e4.cover(images[other], w, h)
                assert _corr(shown, guess, keep) < own - 0.1, (spec.path, other)


def test_layouts_tile_the_frame_with_even_gutters():
    rects = e4.grid_rects("grid_2x2", e4.SQUARE, 10)
    assert rects[0][:2] == (10, 10) and rects[-1][0] + rects[-1][2] == 950 and rects[-1][1] + rects[-1][3] == 950
    assert rects[1][0] - (rects[0][0] + rects[0][2]) == 10
    assert {r[2] for r in rects} <= {465, 466}
    big = e4.grid_rects("big_left", e4.FOUR_THREE, 8)
    assert big[0][3] == big[2][1] + big[2][3] - big[1][1]  # the big cell spans both rows with the gutter
    with pytest.raises(ValueError):
        e4.collage([fitted("x")] * 3, "grid_2x2", e4.SQUARE, 4, (0, 0, 0), [(0.5, 0.5)] * 3)
    with pytest.raises(ValueError):
        o4.gallery([fitted("x")] * 5, [(0.5, 0.5)] * 5)
    frame, panels = e4.picture_in_picture(e4.resize(fitted("h"), 800, 600), fitted("i"), 0.3, (1.0, 1.0), 20, 5,
                                          (255, 255, 255))
    x, y, w, h = panels[1].rect
    assert w == 240 and x + w + 5 + 20 == 800 and y + h + 5 + 20 == 600
    assert (frame[y - 5, x - 5 : x + w + 5] == 255).all()
