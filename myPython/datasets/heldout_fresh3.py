"""The "fresh3" held-out image set: EVALUATION ONLY, compositions first (the panels of picture-in-picture, duets,
split screens, collages, reactions, compilations and cards), with shared-overlay hard negatives beside them.

Built for the panel-detection work, which needs a set nobody has looked at: every earlier held-out set has been
read. Its drawing code (heldout_fresh3_panels.py, heldout_fresh3_apps.py) was written from plain descriptions of
each edit, apart from every training edit and from the earlier held-out sets' edit code; layouts, sizes, borders,
gutters, colours, fonts and texts are its own. Every parameter here (counts, ranges, layouts, palettes, texts,
seed) was fixed before the set was ever scored; never change one after reading results.

Sources: the evaluation-only candidate photos of heldout_unseen.candidates() (heldout_sources.py packages). The
earlier sets between them used all 44, so no unused photo is left: they are split with this set's own seed into
SOURCES sources, DISTRACTORS distractors and BACKDROPS backdrops.

Same origin: every item records the captures it shows (`origins`); two items share an origin when their origin
sets intersect. A composite shows all its photos, so it shares an origin with each of them (and their copies).
Chrome is never an origin: two screenshots of different photos in one app frame, or two photos under the same
watermark text or sticker set, are different origins (hard negatives); one photo in two app frames is a copy. A
backdrop is only ever shown blurred until no detail is left and tinted, behind a blurred-host picture-in-picture;
like chrome it is decoration, not an origin, and it appears nowhere else (so no sharp copy of it is in the pool).
Two such items over one backdrop showing different sources are therefore different origins.

Items (SOURCES sources get the edits; DISTRACTORS others stay unedited and are the other photos of composites;
every composite shows exactly one source):
    original      each source, long side at most MAX_SIDE
    composition   pip (a source at 18-40 % of the width over a distractor, border 0 or 2-8 px, at a corner, near
                  one or anywhere), pip_blurred (the same over a blurred, tinted backdrop in a 16:9 or 9:16 frame),
                  duet (two photos left and right, 16:9 full height or 9:16 in a band, gutter or none), split_screen
                  (9:16, top and bottom), collage_3 (columns, rows, a big cell and two small), collage_2x2,
                  collage_3x3 (gutters of varied colour and width), reaction (a big picture with a small rounded
                  face-cam photo in a corner; the source is the big one in even items, the small one in odd),
                  compilation (3 or 4 photos in a row or a column under a title bar), card (the whole photo in a
                  rounded card on a coloured background with a handle and a caption)
    overlay       app_loop, app_grid: two invented app frames with fixed chrome (one account, fixed counts), each
                  around APP_PHOTOS sources, CROSS_APP of them in both; watermark_text (one large handle across the
                  picture), sticker_set (one set of five stickers): each on MARK_PHOTOS sources
    geometry      portrait_blur_fill (9:16), rotate90_border (a quarter turn either way in a plain colour border),
                  screen_photo (a mild perspective: the picture on a monitor photographed by a phone)
    quality       downscale_upscale (long side 100-140 px and back), jpeg_colour_shift (quality 6-12 after
                  per-channel gains and an offset)
                  -- each geometry and quality kind on EDIT_PHOTOS sources
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
from myPython.datasets import heldout_fresh2 as h2
from myPython.datasets import heldout_fresh3_apps as a3
from myPython.datasets import heldout_fresh3_panels as p3
from myPython.datasets import heldout_unseen as hu
from myPython.datasets.heldout_fresh3_panels import Panel
from myPython.datasets.heldout_unseen import UnseenItem

FRESH3_SEED = 20270322
FRESH3_VERSION = "1"
MAX_SIDE = 1024
SOURCES, DISTRACTORS, BACKDROPS = 22, 18, 4
EDIT_PHOTOS = 6
APPS = ("app_loop", "app_grid")
APP_PHOTOS, CROSS_APP = 8, 3
MARKS = ("watermark_text", "sticker_set")
MARK_PHOTOS = 6
# kind -> (items, photos each shows: cycled over the items)
COMPOSITES: dict[str, tuple[int, tuple[int, ...]]] = {
    "pip": (16, (2,)), "pip_blurred": (8, (1,)), "duet": (16, (2,)), "split_screen": (12, (2,)),
    "collage_3": (10, (3,)), "collage_2x2": (10, (4,)), "collage_3x3": (8, (9,)), "reaction": (12, (2,)),
    "compilation": (10, (3, 4)), "card": (12, (1,)),
}

Edit = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _colour(r: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    return tuple(int(c) for c in r.integers(low, high, 3))


def _screen_corners(r: np.random.Generator) -> np.ndarray:
    """A monitor filling most of the frame, each corner moved a little: a mild perspective."""
    inset = r.uniform(0.07, 0.13)
    square = np.float32([[inset, inset], [1 - inset, inset], [1 - inset, 1 - inset], [inset, 1 - inset]])
    return (square + r.uniform(-0.045, 0.045, (4, 2))).astype(np.float32)


# kind -> (family, edit): its parameters drawn from the item's own generator
EDITS: dict[str, tuple[str, Edit]] = {
    "portrait_blur_fill": ("geometry", lambda im, r: p3.portrait_blur_fill(im)),
    "rotate90_border": ("geometry", lambda im, r: p3.fit_long_side(p3.rotate_with_border(
        im, bool(r.random() < 0.5), float(r.uniform(0.03, 0.08)), _colour(r)), MAX_SIDE)),
    "screen_photo": ("geometry", lambda im, r: p3.screen_photo(im, _screen_corners(r), _colour(r, 90, 200),
                                                                float(r.uniform(0.05, 0.15)), r)),
    "downscale_upscale": ("quality", lambda im, r: p3.downscale_upscale(im, int(r.integers(100, 141)))),
    "jpeg_colour_shift": ("quality", lambda im, r: p3.jpeg_colour_shift(
        im, int(r.integers(6, 13)), [float(g) for g in r.uniform(0.8, 1.2, 3)], float(r.uniform(-25, 25)))),
}

# fixed palettes and words (which one an item gets comes from its generator)
GUTTER_COLOURS = ((255, 255, 255), (0, 0, 0), (225, 240, 248), (205, 185, 255), (190, 228, 196), (92, 44, 24),
                  (48, 48, 48), (60, 200, 250))
TITLES = ("3 SPOTS YOU MISSED", "WHICH ONE? 1-4", "THIS WEEK IN PHOTOS", "BEST OF THE MONTH", "RANKING THESE VIEWS",
          "TRIP RECAP")
HANDLES = ("@fernhollow", "@citylight.notes", "@the_quiet_map", "@petra.journal", "@slow.routes")
CAPTIONS = ("found this on my camera roll and had to share", "a reminder to look up more often",
            "which one would you pick for a wallpaper?", "still thinking about this afternoon",
            "not edited, the colours were really like this", "posting this before I forget where it was")


@dataclass(frozen=True)
class Spec:
    """One planned item, made from names only before any image is read: where it goes, what it is, the origins it
    shows (in drawing order: pip host then inset, reaction big picture then camera, cells left to right and top
    to bottom) and, for pip_blurred, the backdrop drawn behind it (not an origin)."""

    path: str
    family: str
    kind: str
    origins: tuple[str, ...]
    backdrop: str = ""


def _stem(origin: str) -> str:
    return origin.replace("/", "_")


def _shuffled(names: list[str], rng: np.random.Generator) -> list[str]:
    return [names[k] for k in rng.permutation(len(names))]


def choose_photos(names: list[str], seed: int = FRESH3_SEED) -> tuple[list[str], list[str], list[str]]:
    """(sources, distractors, backdrops): one draw with `seed` (every candidate was used by an earlier set)."""
    if len(names) < SOURCES + DISTRACTORS + BACKDROPS:
        raise ValueError(f"{len(names)} candidate photos, {SOURCES + DISTRACTORS + BACKDROPS} needed")
    order = _shuffled(names, np.random.default_rng([seed, 0]))
    return (order[:SOURCES], order[SOURCES : SOURCES + DISTRACTORS],
            order[SOURCES + DISTRACTORS : SOURCES + DISTRACTORS + BACKDROPS])


def app_sets(sources: list[str], seed: int = FRESH3_SEED) -> dict[str, list[str]]:
    """The sources each app frame shows: the second shows CROSS_APP of the first one's photos again."""
    order = _shuffled(sources, np.random.default_rng([seed, 1]))
    first = order[:APP_PHOTOS]
    return {APPS[0]: first, APPS[1]: order[APP_PHOTOS : 2 * APP_PHOTOS - CROSS_APP] + first[:CROSS_APP]}


def plan(names: list[str], seed: int = FRESH3_SEED) -> list[Spec]:
    """Every item of the set, in build order (deterministic in `names` and `seed`)."""
    sources, distractors, backdrops = choose_photos(names, seed)
    specs = [Spec(f"original/{_stem(s)}.png", "original", "original", (s,)) for s in sources]
    rng = np.random.default_rng([seed, 2])
    order = _shuffled(sources, rng)
    for k, (kind, (family, _)) in enumerate(EDITS.items()):  # consecutive in one cycle: no source twice per kind
        for j in range(EDIT_PHOTOS):
            s = order[(k * EDIT_PHOTOS + j) % len(order)]
            specs.append(Spec(f"{family}/{kind}/{_stem(s)}.png", family, kind, (s,)))
    for app, shown in app_sets(sources, seed).items():
        specs += [Spec(f"overlay/{app}/{_stem(s)}.png", "overlay", app, (s,)) for s in shown]
    for mark in MARKS:
        specs += [Spec(f"overlay/{mark}/{_stem(s)}.png", "overlay", mark, (s,))
                  for s in _shuffled(sources, rng)[:MARK_PHOTOS]]
    shown_sources = cycle(_shuffled(sources, rng))
    others = cycle(_shuffled(distractors, rng))  # consecutive draws: distinct within an item
    hosts = _shuffled(distractors, rng)
    for kind, (count, sizes) in COMPOSITES.items():
        for n in range(count):
            s, size = next(shown_sources), sizes[n % len(sizes)]
            backdrop = ""
            if kind == "pip":
                origins: tuple[str, ...] = (hosts[n % len(hosts)], s)
            elif kind == "pip_blurred":
                origins, backdrop = (s,), backdrops[n % len(backdrops)]
            elif kind == "reaction":  # the source is the big picture in even items, the camera in odd ones
                origins = (s, next(others)) if n % 2 == 0 else (next(others), s)
            else:
                parts = [next(others) for _ in range(size - 1)]
                at = int(rng.integers(size))
                origins = tuple(parts[:at] + [s] + parts[at:])
            specs.append(Spec(f"composition/{kind}/{n:02d}.png", "composition", kind, origins, backdrop))
    specs += [Spec(f"distractor/{_stem(d)}.png", "distractor", "photo", (d,)) for d in distractors]
    return specs


def _backdrop_look(seed: int, backdrop: str) -> tuple[tuple[int, int, int], float, float]:
    """(tint, tint share, darkening) of a backdrop: fixed per backdrop, so its two items share one background."""
    r = np.random.default_rng(hu.item_seed(seed, "backdrop", backdrop))
    return _colour(r), float(r.uniform(0.3, 0.5)), float(r.uniform(0.6, 0.85))


def _pip_place(r: np.random.Generator) -> tuple[float, float]:
    """Where a picture-in-picture goes in the free room: at a corner, near one, or anywhere."""
    where = int(r.integers(3))
    if where == 2:
        return float(r.uniform()), float(r.uniform())
    low, high = ((0.0, 0.04) if where == 0 else (0.06, 0.18))
    return tuple(float(v if r.random() < 0.5 else 1 - v) for v in r.uniform(low, high, 2))


def _focus(r: np.random.Generator, count: int) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in r.uniform(0.25, 0.75, (count, 2))]


def _gutter_colour(r: np.random.Generator) -> tuple[int, int, int]:
    return GUTTER_COLOURS[int(r.integers(len(GUTTER_COLOURS)))]


def render_panels(spec: Spec, images: dict[str, np.ndarray],
                  seed: int = FRESH3_SEED) -> tuple[np.ndarray, list[Panel]]:
    """The image of one planned item and, for a composite, where each of its origins is shown (in the order of
    `spec.origins`; empty for other items). Its random choices come from a generator seeded by its path."""
    r = np.random.default_rng(hu.item_seed(seed, spec.path))
    photos = [images[o] for o in spec.origins]
    if spec.family in ("original", "distractor"):
        return photos[0], []
    if spec.kind in EDITS:
        return EDITS[spec.kind][1](photos[0], r), []
    if spec.kind in APPS:
        return (a3.app_loop if spec.kind == "app_loop" else a3.app_grid)(photos[0])[0], []
    if spec.kind == "watermark_text":
        return a3.watermark(photos[0]), []
    if spec.kind == "sticker_set":
        return a3.stickers(photos[0]), []
    if spec.kind in ("pip", "pip_blurred"):
        if spec.kind == "pip":
            host = photos[0]
        else:
            size = p3.LANDSCAPE if r.random() < 0.5 else p3.PORTRAIT
            host = p3.blurred_backdrop(images[spec.backdrop], size, *_backdrop_look(seed, spec.backdrop))
        share, at = float(r.uniform(0.18, 0.40)), _pip_place(r)
        border = 0 if r.random() < 0.35 else int(r.integers(2, 9))
        frame, panels = p3.picture_in_picture(host, photos[-1], share, at, border, _gutter_colour(r))
        return frame, panels if spec.kind == "pip" else panels[1:]
    if spec.kind == "duet":
        portrait = bool(r.random() < 0.5)
        band = float(r.uniform(0.45, 0.7)) if portrait else 1.0
        gutter = 0 if r.random() < 0.4 else int(r.integers(4, 17))
        return p3.side_by_side(photos[0], photos[1], p3.PORTRAIT if portrait else p3.LANDSCAPE, gutter,
                               _gutter_colour(r), band, _focus(r, 2))
    if spec.kind == "split_screen":
        line = 0 if r.random() < 0.4 else int(r.integers(2, 11))
        return p3.split_screen(photos[0], photos[1], float(r.uniform(0.42, 0.58)), line, _gutter_colour(r),
                               _focus(r, 2))
    if spec.kind.startswith("collage_"):
        if spec.kind == "collage_3":
            layout = ("three_columns", "three_rows", "big_left", "big_top")[int(r.integers(4))]
            size = (p3.SQUARE, p3.FOUR_FIVE, p3.PORTRAIT)[int(r.integers(3))]
            gutter = int(r.integers(0, 25))
        elif spec.kind == "collage_2x2":
            layout, size, gutter = "grid_2x2", (p3.SQUARE, p3.FOUR_FIVE)[int(r.integers(2))], int(r.integers(2, 25))
        else:
            layout, size, gutter = "grid_3x3", p3.SQUARE, int(r.integers(2, 15))
        return p3.collage(photos, layout, size, gutter, _gutter_colour(r), _focus(r, len(photos)))
    if spec.kind == "reaction":
        portrait = bool(r.random() < 0.5)
        share = float(r.uniform(0.22, 0.32) if portrait else r.uniform(0.15, 0.22))
        aspect = (0.75, 1.0)[int(r.integers(2))]
        return p3.reaction(photos[0], photos[1], p3.PORTRAIT if portrait else p3.LANDSCAPE, share, aspect,
                           int(r.integers(4)), int(r.integers(3, 7)), _gutter_colour(r), _focus(r, 2))
    if spec.kind == "compilation":
        bar = _colour(r)
        title_colour = (250, 250, 250) if sum(bar) < 3 * 140 else (15, 15, 15)
        return p3.compilation(photos, bool(r.random() < 0.5), TITLES[int(r.integers(len(TITLES)))], bar,
                              title_colour, int(r.integers(0, 9)), bool(r.random() < 0.6), _focus(r, len(photos)))
    if spec.kind == "card":
        size = (p3.PORTRAIT, p3.FOUR_FIVE, p3.SQUARE)[int(r.integers(3))]
        card_colour = (250, 250, 250) if r.random() < 0.7 else (34, 34, 38)
        return p3.card(photos[0], size, _colour(r, 40, 256), card_colour, float(r.uniform(0.7, 0.88)),
                       HANDLES[int(r.integers(len(HANDLES)))], CAPTIONS[int(r.integers(len(CAPTIONS)))])
    raise ValueError(f"unknown kind {spec.kind!r}")


def render(spec: Spec, images: dict[str, np.ndarray], seed: int = FRESH3_SEED) -> np.ndarray:
    """The image of one planned item."""
    return render_panels(spec, images, seed)[0]


package_photo = hf.package_photo  # an evaluation-only candidate photo, read from its package


def build_fresh3_set(out: str | os.PathLike, load: Callable[[str], np.ndarray] = package_photo,
                     names: list[str] | None = None) -> tuple[Path, list[UnseenItem]]:
    """Write the set under `out/pool` once (`out/items.json` marks it done); (pool folder, items).
    `load` reads a photo by origin and `names` lists the candidate origins (default: heldout_unseen's)."""
    def photo(origin: str) -> np.ndarray:
        return p3.fit_long_side(load(origin), MAX_SIDE)

    def draw(spec: Spec, images: dict[str, np.ndarray]) -> np.ndarray:
        if spec.backdrop and spec.backdrop not in images:  # not an origin, so write_set does not read it
            images[spec.backdrop] = photo(spec.backdrop)
        return render(spec, images)

    return hf.write_set(Path(out), FRESH3_VERSION, FRESH3_SEED, lambda: plan(names if names is not None else
                                                                            [c[0] for c in hu.candidates()]),
                        draw, photo)


pair_counts = h2.pair_counts  # heldout_fresh.pair_counts with the items per family and per kind
