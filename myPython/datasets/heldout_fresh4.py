"""The "fresh4" held-out image set: EVALUATION ONLY, one more set nobody has looked at, with every family of edit.

Every earlier held-out image set has been read after choices were made, so this one was written anew: its edit and
drawing code (heldout_fresh4_edits.py, heldout_fresh4_overlays.py) was written from plain descriptions of each edit,
apart from every training edit and from the earlier held-out sets' edit code; layouts, sizes, fonts, colours and
texts are its own. This builder's planning scaffolding (Spec, plan, the seeded splits and the small parameter helpers)
follows heldout_fresh3.py's builder, with its own ranges. Every parameter here was fixed before the set was ever
scored (counts, ranges, layouts, palettes, texts, seed); never change one after reading results.

Sources: the evaluation-only candidate photos of heldout_unseen.candidates() (heldout_sources.py packages; all 44
were used by earlier sets), split with this set's own seed FRESH4_SEED into SOURCES sources, DISTRACTORS
distractors and BACKDROPS backdrops.

Same origin: every item records the captures it shows (`origins`); two items share an origin when their origin sets
intersect. A composite shows all its photos, so it shares an origin with each of them (and their copies). Chrome is
never an origin: two different photos in one app frame, under the same watermark, sticker set, meme text or story
frame are different origins (hard negatives); one photo in two app frames is a copy. A backdrop is only the room
around a photographed screen, shrunk and blurred until no detail is left and darkened: decoration, never an origin,
shown nowhere else; two screen photos over one backdrop showing different sources are different origins.

Items (SOURCES sources get the edits; DISTRACTORS others stay unedited and are the other photos of composites;
every composite shows exactly one source). Photos are first shrunk to a long side of at most MAX_SIDE = 960.
    original      each source
    overlay       app_feed ("pixelnest", light feed: status bar, header, author row, the whole photo in a 540 x 540
                  box, heart / comment / share counts, four caption lines, tab bar; 540 x 960) and app_reel
                  ("loopy", dark viewer: tabs, the whole photo in a 540 x 716 box, a column of four buttons with
                  counts over its right edge, author / caption / audio lines, tab bar; 540 x 960): APP_PHOTOS
                  sources each, CROSS_APP of them in both; each of the following on MARK_PHOTOS sources:
                  watermark_user (one user name, white at alpha 0.45 with a dark edge, 0.85 of the diagonal, 31
                  degrees), sticker_set (six fixed stickers: four faces, a heart, a star, radius 6.5-11 % of the
                  short side, white rim), meme_text (one of 4 fixed top / bottom caption pairs, white capitals with
                  a black outline, bands of 13 % of the height), story_frame (540 x 960: one of 4 vertical
                  gradients, the whole photo as a card with 24 px rounded corners in 460 x 620 and a shadow,
                  progress segments, account line, one of 4 captions, a message field)
    composition   pip_inset (the source at 25-42 % of a distractor host's width, border 0 or 3-10 px, margin
                  0-30 px, anywhere), pip_host (the source as host, a distractor at 20-30 % near a corner),
                  duet (two photos side by side: 960 x 540 full height or 540 x 960 in a band of 45-65 %, gutter
                  0 or 3-12 px), split_screen (540 x 960, top 42-58 %, divider 0 or 2-8 px), collage_2x2 (960 x
                  960 or 960 x 720, gutters 2-20 px), collage_3 (big_left, big_bottom, columns_3 or rows_3 on 960 x
                  960 or 960 x 720, gutters 0-20 px), thumbnail_grid (a gallery screenshot, 540 x 960, 6 to 9
                  square thumbnails in 3 columns); cells crop their photo around a focus at 25-75 %
    geometry      rotate90, rotate270 (a quarter turn clockwise / anticlockwise, no border), rotate180,
                  portrait_blur (540 x 960, the whole photo over a blurred darkened copy, shifted up to 25 % of the
                  free room), portrait_flat (the same over one flat colour, channels 20-235), zoom_crop (1.4-1.7x
                  around a centre 20-80 % of the width and height, enlarged back), screen_photo (a monitor at a
                  perspective, corners 5-16 % in from the frame and jittered 3 %, moire amplitude 0.05-0.09, glare
                  0.2-0.45, defocus 0.8 px, noise 3, over a backdrop)
    photometric   greyscale, vintage (brown tone at 0.75-0.95, fade 0.3-0.5, vignette 0.45-0.7, grain 5),
                  hue_rotate (60-150 degrees either way, saturation x 1.0-1.3), heavy_contrast (gain 1.9-2.5,
                  saturation x 1.2-1.5)
    quality       thumbnail (long side 80-120 px and back up), jpeg_heavy (quality 3-8), blur_noise (sigma 2.2-3.5,
                  noise 10-16)
                  -- each geometry, photometric and quality kind on EDIT_PHOTOS sources
    distractor    photos, unedited
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from itertools import cycle
from pathlib import Path

import numpy as np

from myPython.datasets import heldout_fresh as hf
from myPython.datasets import heldout_fresh4_edits as e4
from myPython.datasets import heldout_fresh4_overlays as o4
from myPython.datasets import heldout_unseen as hu
from myPython.datasets.heldout_fresh4_edits import Panel
from myPython.datasets.heldout_unseen import UnseenItem

FRESH4_SEED = 20270611
FRESH4_VERSION = "1"
MAX_SIDE = 960
SOURCES, DISTRACTORS, BACKDROPS = 24, 17, 3
EDIT_PHOTOS = 6
APPS = ("app_feed", "app_reel")
APP_PHOTOS, CROSS_APP = 5, 2
MARKS = ("watermark_user", "sticker_set", "meme_text", "story_frame")
MARK_PHOTOS = 6
# kind -> (items, photos each shows: cycled over the items)
COMPOSITES: dict[str, tuple[int, tuple[int, ...]]] = {
    "pip_inset": (10, (2,)), "pip_host": (10, (2,)), "duet": (10, (2,)), "split_screen": (10, (2,)),
    "collage_2x2": (8, (4,)), "collage_3": (8, (3,)), "thumbnail_grid": (8, (6, 7, 8, 9)),
}

Edit = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _colour(r: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    return tuple(int(c) for c in r.integers(low, high, 3))


def _sign(r: np.random.Generator) -> float:
    return 1.0 if r.random() < 0.5 else -1.0


def _screen_corners(r: np.random.Generator) -> np.ndarray:
    inset = r.uniform(0.05, 0.16)
    square = np.float32([[inset, inset], [1 - inset, inset], [1 - inset, 1 - inset], [inset, 1 - inset]])
    return (square + r.uniform(-0.03, 0.03, (4, 2))).astype(np.float32)


def _off_centre(r: np.random.Generator) -> tuple[float, float]:
    return float(r.uniform(0.2, 0.8)), float(r.uniform(0.2, 0.8))


# kind -> (family, edit): its parameters drawn from the item's own generator (screen_photo: see render_panels)
EDITS: dict[str, tuple[str, Edit]] = {
    "rotate90": ("geometry", lambda im, r: e4.rotate(im, 1)),
    "rotate270": ("geometry", lambda im, r: e4.rotate(im, 3)),
    "rotate180": ("geometry", lambda im, r: e4.rotate(im, 2)),
    "portrait_blur": ("geometry", lambda im, r: e4.portrait_reframe(im, "blur", shift=float(r.uniform(-0.25, 0.25)))),
    "portrait_flat": ("geometry", lambda im, r: e4.portrait_reframe(im, _colour(r, 20, 236),
                                                                    shift=float(r.uniform(-0.25, 0.25)))),
    "zoom_crop": ("geometry", lambda im, r: e4.zoom_crop(im, float(r.uniform(1.4, 1.7)), _off_centre(r))),
    "screen_photo": ("geometry", lambda im, r: e4.screen_photo(im, _screen_corners(r), None, r)),
    "greyscale": ("photometric", lambda im, r: e4.greyscale(im)),
    "vintage": ("photometric", lambda im, r: e4.vintage(im, float(r.uniform(0.75, 0.95)), float(r.uniform(0.3, 0.5)),
                                                        float(r.uniform(0.45, 0.7)), r)),
    "hue_rotate": ("photometric", lambda im, r: e4.hue_rotate(im, _sign(r) * float(r.uniform(60, 150)),
                                                              float(r.uniform(1.0, 1.3)))),
    "heavy_contrast": ("photometric", lambda im, r: e4.heavy_contrast(im, float(r.uniform(1.9, 2.5)),
                                                                      float(r.uniform(1.2, 1.5)))),
    "thumbnail": ("quality", lambda im, r: e4.thumbnail(im, int(r.integers(80, 121)))),
    "jpeg_heavy": ("quality", lambda im, r: e4.jpeg(im, int(r.integers(3, 9)))),
    "blur_noise": ("quality", lambda im, r: e4.blur_noise(im, float(r.uniform(2.2, 3.5)), float(r.uniform(10, 16)),
                                                          r)),
}

GUTTER_COLOURS = ((255, 255, 255), (16, 16, 16), (235, 228, 250), (120, 200, 255), (150, 90, 40), (200, 235, 210),
                  (70, 70, 200))


@dataclass(frozen=True)
class Spec:
    """One planned item, made from names only before any image is read: where it goes, what it is, the origins it
    shows (in drawing order: pip host then inset, cells left to right and top to bottom) and, for screen_photo,
    the backdrop of the room around the screen (not an origin)."""

    path: str
    family: str
    kind: str
    origins: tuple[str, ...]
    backdrop: str = ""


def _stem(origin: str) -> str:
    return origin.replace("/", "_")


def _shuffled(names: list[str], rng: np.random.Generator) -> list[str]:
    return [names[k] for k in rng.permutation(len(names))]


def choose_photos(names: list[str], seed: int = FRESH4_SEED) -> tuple[list[str], list[str], list[str]]:
    """(sources, distractors, backdrops): one draw with `seed`."""
    if len(names) < SOURCES + DISTRACTORS + BACKDROPS:
        raise ValueError(f"{len(names)} candidate photos, {SOURCES + DISTRACTORS + BACKDROPS} needed")
    order = _shuffled(names, np.random.default_rng([seed, 40]))
    return (order[:SOURCES], order[SOURCES : SOURCES + DISTRACTORS],
            order[SOURCES + DISTRACTORS : SOURCES + DISTRACTORS + BACKDROPS])


def app_sets(sources: list[str], seed: int = FRESH4_SEED) -> dict[str, list[str]]:
    """The sources each app frame shows: the second shows CROSS_APP of the first one's photos again."""
    order = _shuffled(sources, np.random.default_rng([seed, 41]))
    first = order[:APP_PHOTOS]
    return {APPS[0]: first, APPS[1]: first[:CROSS_APP] + order[APP_PHOTOS : 2 * APP_PHOTOS - CROSS_APP]}


def plan(names: list[str], seed: int = FRESH4_SEED) -> list[Spec]:
    """Every item of the set, in build order (deterministic in `names` and `seed`)."""
    sources, distractors, backdrops = choose_photos(names, seed)
    specs = [Spec(f"original/{_stem(s)}.png", "original", "original", (s,)) for s in sources]
    rng = np.random.default_rng([seed, 42])
    order = _shuffled(sources, rng)
    for k, (kind, (family, _)) in enumerate(EDITS.items()):  # consecutive in one cycle: no source twice per kind
        for j in range(EDIT_PHOTOS):
            s = order[(k * EDIT_PHOTOS + j) % len(order)]
            backdrop = backdrops[j % len(backdrops)] if kind == "screen_photo" else ""
            specs.append(Spec(f"{family}/{kind}/{_stem(s)}.png", family, kind, (s,), backdrop))
    for app, shown in app_sets(sources, seed).items():
        specs += [Spec(f"overlay/{app}/{_stem(s)}.png", "overlay", app, (s,)) for s in shown]
    for mark in MARKS:
        specs += [Spec(f"overlay/{mark}/{_stem(s)}.png", "overlay", mark, (s,))
                  for s in _shuffled(sources, rng)[:MARK_PHOTOS]]
    shown_sources = cycle(_shuffled(sources, rng))
    others = cycle(_shuffled(distractors, rng))  # consecutive draws: distinct within an item
    for kind, (count, sizes) in COMPOSITES.items():
        for n in range(count):
            s, size = next(shown_sources), sizes[n % len(sizes)]
            if kind == "pip_inset":
                origins: tuple[str, ...] = (next(others), s)
            elif kind == "pip_host":
                origins = (s, next(others))
            else:
                parts = [next(others) for _ in range(size - 1)]
                at = int(rng.integers(size))
                origins = tuple(parts[:at] + [s] + parts[at:])
            specs.append(Spec(f"composition/{kind}/{n:02d}.png", "composition", kind, origins))
    specs += [Spec(f"distractor/{_stem(d)}.png", "distractor", "photo", (d,)) for d in distractors]
    return specs


def _focus(r: np.random.Generator, count: int) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in r.uniform(0.25, 0.75, (count, 2))]


def _gutter_colour(r: np.random.Generator) -> tuple[int, int, int]:
    return GUTTER_COLOURS[int(r.integers(len(GUTTER_COLOURS)))]


def _corner(r: np.random.Generator) -> tuple[float, float]:
    return tuple(float(v if r.random() < 0.5 else 1 - v) for v in r.uniform(0.0, 0.08, 2))


def render_panels(spec: Spec, images: dict[str, np.ndarray],
                  seed: int = FRESH4_SEED) -> tuple[np.ndarray, list[Panel]]:
    """The image of one planned item and, for a composite, where each of its origins is shown (in the order of
    `spec.origins`; empty for other items). Its random choices come from a generator seeded by its path."""
    r = np.random.default_rng(hu.item_seed(seed, spec.path))
    photos = [images[o] for o in spec.origins]
    if spec.family in ("original", "distractor"):
        return photos[0], []
    if spec.kind == "screen_photo":
        return e4.screen_photo(photos[0], _screen_corners(r), images.get(spec.backdrop), r,
                               float(r.uniform(0.2, 0.45)), float(r.uniform(0.05, 0.09))), []
    if spec.kind in EDITS:
        return EDITS[spec.kind][1](photos[0], r), []
    if spec.kind in APPS:
        return (o4.app_feed if spec.kind == "app_feed" else o4.app_reel)(photos[0])[0], []
    if spec.kind == "watermark_user":
        return o4.watermark(photos[0]), []
    if spec.kind == "sticker_set":
        return o4.stickers(photos[0]), []
    if spec.kind == "meme_text":
        return o4.meme(photos[0], *o4.MEMES[int(r.integers(len(o4.MEMES)))]), []
    if spec.kind == "story_frame":
        gradient = o4.STORY_GRADIENTS[int(r.integers(len(o4.STORY_GRADIENTS)))]
        return o4.story(photos[0], gradient, o4.STORY_CAPTIONS[int(r.integers(len(o4.STORY_CAPTIONS)))])[0], []
    if spec.kind == "pip_inset":
        border = 0 if r.random() < 0.3 else int(r.integers(3, 11))
        return e4.picture_in_picture(photos[0], photos[1], float(r.uniform(0.25, 0.42)),
                                     (float(r.uniform()), float(r.uniform())), int(r.integers(0, 31)), border,
                                     _gutter_colour(r))
    if spec.kind == "pip_host":
        border = 0 if r.random() < 0.3 else int(r.integers(3, 11))
        return e4.picture_in_picture(photos[0], photos[1], float(r.uniform(0.20, 0.30)), _corner(r),
                                     int(r.integers(0, 31)), border, _gutter_colour(r))
    if spec.kind == "duet":
        gutter = 0 if r.random() < 0.4 else int(r.integers(3, 13))
        if r.random() < 0.5:
            return e4.duet(photos[0], photos[1], e4.LANDSCAPE, 1.0, gutter, _gutter_colour(r), _focus(r, 2))
        return e4.duet(photos[0], photos[1], e4.PORTRAIT, float(r.uniform(0.45, 0.65)), gutter, (0, 0, 0),
                       _focus(r, 2))
    if spec.kind == "split_screen":
        line = 0 if r.random() < 0.4 else int(r.integers(2, 9))
        return e4.split_screen(photos[0], photos[1], e4.PORTRAIT, float(r.uniform(0.42, 0.58)), line,
                               _gutter_colour(r), _focus(r, 2))
    if spec.kind in ("collage_2x2", "collage_3"):
        size = (e4.SQUARE, e4.FOUR_THREE)[int(r.integers(2))]
        if spec.kind == "collage_2x2":
            layout, gutter = "grid_2x2", int(r.integers(2, 21))
        else:
            layout = ("big_left", "big_bottom", "columns_3", "rows_3")[int(r.integers(4))]
            gutter = int(r.integers(0, 21))
        return e4.collage(photos, layout, size, gutter, _gutter_colour(r), _focus(r, len(photos)))
    if spec.kind == "thumbnail_grid":
        return o4.gallery(photos, _focus(r, len(photos)))
    raise ValueError(f"unknown kind {spec.kind!r}")


def render(spec: Spec, images: dict[str, np.ndarray], seed: int = FRESH4_SEED) -> np.ndarray:
    """The image of one planned item."""
    return render_panels(spec, images, seed)[0]


package_photo = hf.package_photo  # an evaluation-only candidate photo, read from its package


def build_fresh4_set(out: str | os.PathLike, load: Callable[[str], np.ndarray] = package_photo,
                     names: list[str] | None = None) -> tuple[Path, list[UnseenItem]]:
    """Write the set under `out/pool` once (`out/items.json` marks it done); (pool folder, items).
    `load` reads a photo by origin and `names` lists the candidate origins (default: heldout_unseen's)."""
    def photo(origin: str) -> np.ndarray:
        return e4.fit_long_side(load(origin), MAX_SIDE)

    def draw(spec: Spec, images: dict[str, np.ndarray]) -> np.ndarray:
        if spec.backdrop and spec.backdrop not in images:  # not an origin, so write_set does not read it
            images[spec.backdrop] = photo(spec.backdrop)
        return render(spec, images)

    return hf.write_set(Path(out), FRESH4_VERSION, FRESH4_SEED, lambda: plan(names if names is not None else
                                                                            [c[0] for c in hu.candidates()]),
                        draw, photo)


def pair_counts(items: list[UnseenItem]) -> dict:
    """Items, origins and same-origin pairs of the set, with same-kind pairs split by origin (hard negatives)."""
    from itertools import combinations

    same_kind_same: dict[str, int] = {}
    same_kind_diff: dict[str, int] = {}
    pairs = 0
    for a, b in combinations(items, 2):
        same = hu.same_origin(a, b)
        pairs += same
        if a.kind == b.kind:
            into = same_kind_same if same else same_kind_diff
            into[a.kind] = into.get(a.kind, 0) + 1
    return {"items": len(items), "origins": len({o for i in items for o in i.origins}), "same_origin_pairs": pairs,
            "families": {f: sum(i.family == f for i in items) for f in sorted({i.family for i in items})},
            "kinds": {k: sum(i.kind == k for i in items) for k in sorted({i.kind for i in items})},
            "same_kind_same_origin": same_kind_same, "same_kind_different_origin": same_kind_diff}
