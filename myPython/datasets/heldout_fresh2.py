"""The "fresh2" held-out image set: EVALUATION ONLY, photos edited the way short-video and social apps edit them.

A second set in the spirit of the "fresh" one (heldout_fresh.py), with its own seed and its own edit and drawing
code (heldout_fresh2_edits.py, heldout_fresh2_apps.py), written from plain descriptions of each edit, apart from
every training edit and from the earlier held-out sets' edit code. Every parameter (counts, ranges, layouts,
templates, texts) was fixed before the set was ever scored; never change one after reading results.

Sources: the evaluation-only candidate photos of heldout_unseen.candidates() (heldout_sources.py packages). Photos
that neither heldout_unseen nor heldout_fresh edits would come first, but there are none: unseen edits 24 of the 44
candidates and fresh the other 20, so every photo here was edited by one earlier set. The sources are therefore
drawn alternately from the two earlier sets' sources (12 each), so that neither set's photos dominate; the
distractors are the other 20 (12 of unseen's sources, 8 of fresh's).

Same origin: every item records the captures it shows (`origins`); two items share an origin when their origin
sets intersect. A composite shows all its photos, so it shares an origin with each of them (and their copies). An
app screenshot's origin is the photo it shows (the app chrome is not an origin): two screenshots of different
photos in one app, or two photos under one watermark or sticker set, are different origins (hard negatives);
one photo in two apps, or twice in one app under another user name, is a copy.

Items (SOURCES sources get the edits; DISTRACTORS others stay unedited, and are the other photos of composites):
    original      each source, long side at most MAX_SIDE
    geometry      rotate90, rotate180, rotate270 (exact), portrait_blur_fill, portrait_colour_fill (9:16), zoom
                  (centre 60-75 % enlarged back), perspective_screen (on a monitor filmed by a phone)
    photometric   greyscale, colour_filter (warm or cool), vignette (strong), film (high contrast and grain)
    quality       thumbnail (long side 96-128 px), tiny_then_upscaled (120-160 px and back), heavy_jpeg (quality
                  5-10), low_res_blocky (6-8 times smaller with nearest neighbour and back)
                  -- each of these 15 kinds on EDIT_PHOTOS sources
    copy          COPY_SOURCES sources each with COPY_KINDS more of the kinds above (dense copy clusters)
    overlay       app_dark, app_light: two invented apps, each showing APP_PHOTOS sources, CROSS_APP of them shown in
                  both apps and one source shown twice in each app (another user name); watermark, stickers (one
                  fixed text / sticker set at one place), meme, subtitles (a text per photo): each on TEMPLATE_PHOTOS
    composition   pip (a source at 20-35 % of the width over a distractor photo, with a border), side_by_side,
                  split_vertical (9:16, source on top), collage_2x2, compilation_strip (3 photos and a title bar)
    distractor    photos, unedited
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import cycle, zip_longest
from pathlib import Path

import numpy as np

from myPython.datasets import heldout_fresh as hf
from myPython.datasets import heldout_fresh2_apps as a2
from myPython.datasets import heldout_fresh2_edits as e2
from myPython.datasets import heldout_unseen as hu
from myPython.datasets.heldout_unseen import UnseenItem

FRESH2_SEED = 20270117
FRESH2_VERSION = "1"
MAX_SIDE = 1024
SOURCES, DISTRACTORS = 24, 20
EDIT_PHOTOS = 5
COPY_SOURCES, COPY_KINDS = 8, 5
APPS = ("app_dark", "app_light")
APP_PHOTOS, CROSS_APP = 8, 3
TEMPLATES = ("watermark", "stickers", "meme", "subtitles")
TEMPLATE_PHOTOS = 6
# kind -> (items, other photos besides the source)
COMPOSITES = {"pip": (8, 1), "side_by_side": (6, 1), "split_vertical": (6, 1), "collage_2x2": (5, 3),
              "compilation_strip": (5, 2)}

Edit = Callable[[np.ndarray, np.random.Generator], np.ndarray]
# kind -> (family, edit): its parameters drawn from the item's own generator
EDITS: dict[str, tuple[str, Edit]] = {
    "rotate90": ("geometry", lambda im, r: e2.rotate(im, 1)),
    "rotate180": ("geometry", lambda im, r: e2.rotate(im, 2)),
    "rotate270": ("geometry", lambda im, r: e2.rotate(im, 3)),
    "portrait_blur_fill": ("geometry", lambda im, r: e2.portrait_fill(im)),
    "portrait_colour_fill": ("geometry", lambda im, r: e2.portrait_fill(
        im, tuple(int(c) for c in r.integers(0, 256, 3)))),
    "zoom": ("geometry", lambda im, r: e2.zoom(im, float(r.uniform(0.60, 0.75)))),
    "perspective_screen": ("geometry", lambda im, r: e2.perspective_screen(im, r)),
    "greyscale": ("photometric", lambda im, r: e2.greyscale(im)),
    "colour_filter": ("photometric", lambda im, r: e2.colour_filter(im, bool(r.random() < 0.5),
                                                                     float(r.uniform(0.15, 0.30)))),
    "vignette": ("photometric", lambda im, r: e2.vignette(im, float(r.uniform(0.65, 0.85)))),
    "film": ("photometric", lambda im, r: e2.film(im, float(r.uniform(1.4, 1.8)), float(r.uniform(7, 12)), r)),
    "thumbnail": ("quality", lambda im, r: e2.fit_long_side(im, int(r.integers(96, 129)))),
    "tiny_then_upscaled": ("quality", lambda im, r: e2.down_up(im, int(r.integers(120, 161)))),
    "heavy_jpeg": ("quality", lambda im, r: e2.jpeg(im, int(r.integers(5, 11)))),
    "low_res_blocky": ("quality", lambda im, r: e2.blocky(im, int(r.integers(6, 9)))),
}

# words of the invented apps and texts (fixed lists; which one an item shows comes from its generator)
USERS = (("mira.lens", "tomek_trails", "sunny.daze", "kofi.frames", "lea_wanders", "noor.snaps", "jun_outdoors",
          "ravi.clicks"),  # first screenshots
         ("pixel_pia", "andre.vibes", "the_olsen", "yuki.moments", "sam_roams", "ines.captures", "bo_and_co",
          "deniz.daily"))  # a photo's second screenshot in the same app: another user
CAPTIONS = ("golden hour never misses", "could stay here forever", "no filter needed honestly",
            "weekend mood unlocked", "tag someone who needs this", "a little bit of calm today",
            "saved this view for you", "the details though", "felt like a movie scene", "pov: you finally log off")
SOUNDS = ("original sound - {u}", "lofi morning - beatsbyk", "summer drive (sped up)", "ambient rain loop")
COMMENTS = (("ana.k", "this is stunning"), ("leo_22", "where is this??"), ("maya.p", "wow the colours"),
            ("chris.o", "need this as a wallpaper"), ("fatima", "so peaceful"), ("nils.b", "take me there"),
            ("zoe_art", "perfect shot"), ("omar.r", "obsessed with this"))
AGES = ("2 HOURS AGO", "5 HOURS AGO", "YESTERDAY", "3 DAYS AGO")
MEMES = (("when the wifi", "finally connects"), ("me at 3 am", "looking at photos"), ("nobody:", "absolutely nobody:"),
         ("monday morning", "be like"), ("they said relax", "so i did this"), ("my plans", "vs reality"),
         ("when you see it", "you can't unsee it"), ("expectation", "nailed it"))
SUBTITLES = ("I never thought I'd end up here, honestly.", "Wait for it... look at that light.",
             "This is the place I told you about.", "We walked for hours just to see this.",
             "Okay but why does it look so unreal?", "Remember this one? Best day of the trip.",
             "Sound on for the full story.", "And that's when everything changed.")
TITLES = ("TOP 3 VIEWS", "BEST OF THE WEEK", "3 PLACES TO SEE", "PHOTO DUMP", "RATE THESE 1-3")
STICKER_SHAPES = ("face", "star", "heart", "blob", "triangle")


@dataclass(frozen=True)
class Spec:
    """One planned item, made from names only before any image is read: where it goes, what it is, the origins
    it shows (pip: host, inset; other composites: in drawing order), and a variant (an app screenshot: 0 first,
    1 again under another user; meme and subtitles: the text)."""

    path: str
    family: str
    kind: str
    origins: tuple[str, ...]
    variant: int = 0


def _stem(origin: str) -> str:
    return origin.replace("/", "_")


def _shuffled(names: list[str], rng: np.random.Generator) -> list[str]:
    return [names[k] for k in rng.permutation(len(names))]


def used_before(names: list[str]) -> tuple[set[str], set[str]]:
    """(the photos heldout_unseen edits, those heldout_fresh edits) among `names` (from their plans, nothing read)."""
    unseen = set(hu.split_sources(names)[0])
    try:
        fresh = set(hf.choose_photos(names)[0])
    except ValueError:  # too few names for the fresh set's plan
        fresh = set()
    return unseen, fresh


def choose_photos(names: list[str], seed: int = FRESH2_SEED) -> tuple[list[str], list[str]]:
    """(sources, distractors): photos no earlier set edits first, then alternately those of heldout_unseen and of
    heldout_fresh, then those both edit; each group in an order drawn with `seed`."""
    unseen, fresh = used_before(names)
    rng = np.random.default_rng([seed, 0])
    new = _shuffled([n for n in names if n not in unseen | fresh], rng)
    only_unseen = _shuffled([n for n in names if n in unseen and n not in fresh], rng)
    only_fresh = _shuffled([n for n in names if n in fresh and n not in unseen], rng)
    both = _shuffled([n for n in names if n in unseen and n in fresh], rng)
    order = new + [n for pair in zip_longest(only_unseen, only_fresh) for n in pair if n is not None] + both
    if len(order) < SOURCES + DISTRACTORS:
        raise ValueError(f"{len(order)} candidate photos, {SOURCES + DISTRACTORS} needed")
    return order[:SOURCES], order[SOURCES : SOURCES + DISTRACTORS]


def app_sets(sources: list[str], seed: int = FRESH2_SEED) -> dict[str, list[str]]:
    """The sources each app shows: the second app shows CROSS_APP of the first app's photos again."""
    order = _shuffled(sources, np.random.default_rng([seed, 1]))
    first = order[:APP_PHOTOS]
    second = order[APP_PHOTOS : 2 * APP_PHOTOS - CROSS_APP] + first[:CROSS_APP]
    return {APPS[0]: first, APPS[1]: second}


def plan(names: list[str], seed: int = FRESH2_SEED) -> list[Spec]:
    """Every item of the set, in build order (deterministic in `names` and `seed`)."""
    sources, distractors = choose_photos(names, seed)
    specs = [Spec(f"original/{_stem(s)}.png", "original", "original", (s,)) for s in sources]
    rng = np.random.default_rng([seed, 2])
    order = _shuffled(sources, rng)
    edited: dict[str, set[str]] = {s: set() for s in sources}
    for k, (kind, (family, _)) in enumerate(EDITS.items()):
        for j in range(EDIT_PHOTOS):
            s = order[(k * EDIT_PHOTOS + j) % len(order)]
            edited[s].add(kind)
            specs.append(Spec(f"{family}/{kind}/{_stem(s)}.png", family, kind, (s,)))
    for s in _shuffled(sources, rng)[:COPY_SOURCES]:  # kinds this source has not had yet: no identical files
        free = [kind for kind in EDITS if kind not in edited[s]]
        for k in sorted(rng.choice(len(free), COPY_KINDS, replace=False)):
            specs.append(Spec(f"copy/{free[k]}/{_stem(s)}.png", "copy", free[k], (s,)))
    sets = app_sets(sources, seed)
    for app, shown in sets.items():
        specs += [Spec(f"overlay/{app}/{_stem(s)}.0.png", "overlay", app, (s,)) for s in shown]
    for app, shown in sets.items():  # shown twice in one app: a photo that app alone shows
        s = shown[CROSS_APP] if app == APPS[0] else shown[0]
        specs.append(Spec(f"overlay/{app}/{_stem(s)}.1.png", "overlay", app, (s,), 1))
    for template in TEMPLATES:
        specs += [Spec(f"overlay/{template}/{_stem(s)}.png", "overlay", template, (s,), n)
                  for n, s in enumerate(_shuffled(sources, rng)[:TEMPLATE_PHOTOS])]
    insets = cycle(_shuffled(sources, rng))
    hosts = _shuffled(distractors, rng)
    others = cycle(_shuffled(distractors, rng))
    for kind, (count, extra) in COMPOSITES.items():
        for n in range(count):
            s = next(insets)
            if kind == "pip":
                origins = (hosts[n % len(hosts)], s)
            else:
                parts = [next(others) for _ in range(extra)]
                at = 0 if kind == "split_vertical" else int(rng.integers(extra + 1))
                origins = tuple(parts[:at] + [s] + parts[at:])
            specs.append(Spec(f"composition/{kind}/{n:02d}.png", "composition", kind, origins))
    specs += [Spec(f"distractor/{_stem(d)}.png", "distractor", "photo", (d,)) for d in distractors]
    return specs


def _template_rng(seed: int, kind: str) -> np.random.Generator:
    """The generator of a template's fixed parameters: the same for every photo under it."""
    return np.random.default_rng(hu.item_seed(seed, "template", kind))


def watermark_template(seed: int = FRESH2_SEED) -> tuple[str, int, float]:
    r = _template_rng(seed, "watermark")
    return f"@user_{int(r.integers(1000, 10000))}", int(r.integers(4)), float(r.uniform(0.45, 0.6))


def sticker_template(seed: int = FRESH2_SEED) -> list[dict]:
    r = _template_rng(seed, "stickers")
    count = int(r.integers(3, 5))
    shapes = [STICKER_SHAPES[k] for k in r.choice(len(STICKER_SHAPES), count, replace=False)]
    spots = [(0.15, 0.16), (0.84, 0.18), (0.2, 0.82), (0.82, 0.8), (0.55, 0.3)]
    design = []
    for k, shape in enumerate(shapes):
        x, y = spots[k]
        fill = (40, 210, 250) if shape == "face" else tuple(int(c) for c in r.integers(30, 256, 3))
        design.append({"shape": shape, "x": x + float(r.uniform(-0.04, 0.04)), "y": y + float(r.uniform(-0.04, 0.04)),
                       "size": float(r.uniform(0.16, 0.26)), "fill": fill,
                       "outline": (255, 255, 255) if r.random() < 0.6 else (20, 20, 20),
                       "turn": float(r.uniform(0, 2 * np.pi))})
    return design


def _dark_screen(photo: np.ndarray, r: np.random.Generator, variant: int) -> np.ndarray:
    user = "@" + USERS[variant][int(r.integers(len(USERS[variant])))]
    counts = (int(r.integers(800, 900_000)), int(r.integers(20, 9000)), int(r.integers(10, 20_000)))
    sound = SOUNDS[int(r.integers(len(SOUNDS)))].format(u=user.lstrip("@"))
    return a2.dark_app(photo, user, CAPTIONS[int(r.integers(len(CAPTIONS)))], counts, float(r.uniform(0.05, 0.95)),
                       sound)


def _light_screen(photo: np.ndarray, r: np.random.Generator, variant: int) -> np.ndarray:
    user = USERS[variant][int(r.integers(len(USERS[variant])))]
    comments = [COMMENTS[k] for k in r.choice(len(COMMENTS), 3, replace=False)]
    return a2.light_app(photo, user, int(r.integers(40, 60_000)), bool(r.random() < 0.5), comments,
                        int(r.integers(4, 400)), AGES[int(r.integers(len(AGES)))])


def render(spec: Spec, images: dict[str, np.ndarray], seed: int = FRESH2_SEED) -> np.ndarray:
    """The image of one planned item; its random choices come from a generator seeded by its path (a template's
    fixed parameters from one seeded by the template's name)."""
    rng = np.random.default_rng(hu.item_seed(seed, spec.path))
    photos = [images[o] for o in spec.origins]
    if spec.family in ("original", "distractor"):
        return photos[0]
    if spec.kind in EDITS:
        return EDITS[spec.kind][1](photos[0], rng)
    if spec.family == "overlay":
        photo = photos[0]
        if spec.kind == "app_dark":
            return _dark_screen(photo, rng, spec.variant)
        if spec.kind == "app_light":
            return _light_screen(photo, rng, spec.variant)
        if spec.kind == "watermark":
            return a2.watermark(photo, *watermark_template(seed))
        if spec.kind == "stickers":
            return a2.stickers(photo, sticker_template(seed))
        texts = _template_rng(seed, spec.kind).permutation(len(MEMES if spec.kind == "meme" else SUBTITLES))
        if spec.kind == "meme":
            return a2.meme(photo, *MEMES[texts[spec.variant]])
        return a2.subtitles(photo, SUBTITLES[texts[spec.variant]])
    if spec.kind == "pip":
        place = int(rng.integers(5))
        offset = (float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)))
        colour = (255, 255, 255) if rng.random() < 0.7 else (20, 20, 20)
        return e2.picture_in_picture(photos[0], photos[1], float(rng.uniform(0.20, 0.35)), place, offset,
                                     int(rng.integers(2, 5)), colour)
    if spec.kind == "side_by_side":
        return e2.side_by_side(photos[0], photos[1], gutter=int(rng.integers(0, 2)) * 6)
    if spec.kind == "split_vertical":
        return e2.split_vertical(photos[0], photos[1], line=int(rng.integers(2, 7)))
    if spec.kind == "collage_2x2":
        background = (255, 255, 255) if rng.random() < 0.5 else (15, 15, 15)
        return e2.collage_2x2(photos, 1024, int(rng.integers(6, 15)), background)
    if spec.kind == "compilation_strip":
        bar = tuple(int(c) for c in rng.integers(0, 256, 3))
        text = (255, 255, 255) if sum(bar) < 3 * 150 else (20, 20, 20)
        return e2.compilation_strip(photos, TITLES[int(rng.integers(len(TITLES)))], bool(rng.random() < 0.5), bar,
                                    text)
    raise ValueError(f"unknown kind {spec.kind!r}")


package_photo = hf.package_photo  # an evaluation-only candidate photo, read from its package


def build_fresh2_set(out: str | os.PathLike, load: Callable[[str], np.ndarray] = package_photo,
                     names: list[str] | None = None) -> tuple[Path, list[UnseenItem]]:
    """Write the set under `out/pool` once (`out/items.json` marks it done); (pool folder, items).
    `load` reads a photo by origin and `names` lists the candidate origins (default: heldout_unseen's)."""
    return hf.write_set(Path(out), FRESH2_VERSION, FRESH2_SEED, lambda: plan(names if names is not None else
                                                                            [c[0] for c in hu.candidates()]),
                        render, lambda origin: e2.fit_long_side(load(origin), MAX_SIDE))


def pair_counts(items: list[UnseenItem]) -> dict:
    """heldout_fresh.pair_counts (items, origins, same-origin pairs, same-kind pairs that share an origin and that
    do not), with the items per family and per kind."""
    return {**hf.pair_counts(items), "items_per_family": dict(Counter(i.family for i in items)),
            "items_per_kind": dict(Counter(i.kind for i in items))}
