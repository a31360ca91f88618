"""The "unseen" held-out image set (issue #20): EVALUATION ONLY, edits written independently of training.

Built from the evaluation-only packages the previous held-out set reads (heldout_sources.py: opencv-doc,
mate-backgrounds, plasma-workspace-wallpapers, libjxl-testdata), with its own seed and its own edit
code (heldout_unseen_edits.py, heldout_unseen_overlays.py). Every parameter was fixed from the issue's
list of families before the set was ever scored; never change one after reading results.

Same origin: every item records the captures it shows (`origins`); two items share an origin when
their origin sets intersect. A composite shows all of its parts (an inset and its host, both halves of a
duet, every cell of a collage), so it shares an origin with each of them and with their copies; two
composites sharing only a layout (or two photos under one overlay template) do not.

Items (SOURCES_USED of the candidate photos, drawn with UNSEEN_SEED, get the edits; the rest are
distractor photos that serve as picture-in-picture hosts, as do the illustrations):
    original      each edited source, long side at most MAX_SIDE
    geometry      rot90, rot180, portrait_blur, portrait_colour (9:16), zoom_crop, screen_photo
    photometric   greyscale, sepia, high_contrast, colour_cast, vignette
    quality       thumbnail (96 px), jpeg_q4
    overlay       app_chrome, watermark, stickers, meme, subtitles (one template for every photo)
    composition   pip (a source over a distractor photo or an illustration), duet, split_screen, collage (3-4)
    distractor    the other photos and the illustrations, unedited
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myPython.common.fileio import atomic_write_text
from myPython.common.images import save_image
from myPython.datasets import heldout as prev
from myPython.datasets import heldout_unseen_edits as ed
from myPython.datasets import heldout_unseen_overlays as ov
from myPython.datasets.heldout_sources import heldout_files

UNSEEN_SEED = 20261207
UNSEEN_VERSION = "1"
MAX_SIDE = 1280
SOURCES_USED = 24
# opencv-doc photos that are single captures (the viewpoint, stereo, lighting and sequence pairs are left out)
OPENCV_SINGLE = ("baboon", "fruits", "building", "butterfly", "home", "messi5", "orange", "apple", "squirrel_cls",
                 "starry_night", "board", "stuff", "licenseplate_motion", "HappyFish", "pca_test1", "ela_original")


@dataclass(frozen=True)
class UnseenItem:
    """One image: its file (relative to the pool folder), family, edit kind and the origins it shows."""

    path: str
    family: str
    kind: str
    origins: tuple[str, ...]


def same_origin(a: UnseenItem, b: UnseenItem) -> bool:
    return bool(set(a.origins) & set(b.origins))


def item_seed(seed: int, *names: str) -> int:
    """A per-item seed: CRC-32 of the seed and names (stable across runs and machines)."""
    return zlib.crc32("/".join([str(seed), *names]).encode())


# kind -> (family, edit); edits that need randomness get an rng seeded per item
SINGLE_EDITS: dict[str, tuple[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]]] = {
    "rot90": ("geometry", lambda im, r: ed.rotate(im, 1 if r.random() < 0.5 else 3)),
    "rot180": ("geometry", lambda im, r: ed.rotate(im, 2)),
    "portrait_blur": ("geometry", lambda im, r: ed.portrait(im, "blur")[0]),
    "portrait_colour": ("geometry", lambda im, r: ed.portrait(
        im, "colour", colour=tuple(int(c) for c in r.integers(40, 230, 3)))[0]),
    "zoom_crop": ("geometry", lambda im, r: ed.zoom_crop(im, float(r.uniform(0.4, 0.6)),
                                                          tuple(r.uniform(0.35, 0.65, 2)))),
    "screen_photo": ("geometry", lambda im, r: ed.screen_photo(
        im, np.float32([[0.14, 0.10], [0.90, 0.04], [0.95, 0.93], [0.08, 0.84]]) + r.uniform(-0.04, 0.04, (4, 2)))),
    "greyscale": ("photometric", lambda im, r: ed.greyscale(im)),
    "sepia": ("photometric", lambda im, r: ed.sepia(im)),
    "high_contrast": ("photometric", lambda im, r: ed.high_contrast(im)),
    "colour_cast": ("photometric", lambda im, r: ed.colour_cast(im)),
    "vignette": ("photometric", lambda im, r: ed.vignette(im)),
    "thumbnail": ("quality", lambda im, r: ed.thumbnail(im, 96)),
    "jpeg_q4": ("quality", lambda im, r: ed.jpeg(im, 4)),
    "app_chrome": ("overlay", lambda im, r: ov.app_chrome(im)[0]),
    "watermark": ("overlay", lambda im, r: ov.with_layer(im, ov.watermark_layer)),
    "stickers": ("overlay", lambda im, r: ov.with_layer(im, ov.sticker_layer)),
    "meme": ("overlay", lambda im, r: ov.with_layer(im, ov.meme_layer)),
    "subtitles": ("overlay", lambda im, r: ov.with_layer(im, ov.subtitle_layer, 0)),
}
FAMILIES = ("geometry", "photometric", "quality", "overlay", "composition")


def candidates() -> list[tuple[str, str, str]]:
    """(origin, package, path in the package) of every candidate source photo, in a fixed order."""
    out = [(f"opencv/{n}", "opencv-doc", f"{prev.OPENCV}{n}.jpg") for n in OPENCV_SINGLE]
    out += [(f"mate/{n}", "mate-backgrounds", f"{prev.MATE}nature/{n}.jpg") for n in prev.MATE_PHOTOS]
    out += [(f"plasma/{n}", "plasma-workspace-wallpapers", f"{prev.PLASMA}{n}/contents/images/2560x1600.jpg")
            for n in prev.PLASMA_PHOTOS]
    out += [("jxl/flower", "libjxl-testdata", prev.JXL + "jxl/flower/flower.png"),
            ("jxl/hdr_room", "libjxl-testdata", prev.JXL + "jxl/hdr_room.png")]
    out += [(f"jxl/{n}", "libjxl-testdata", f"{prev.JXL}external/wesaturate/500px/{n}_srgb8.png")
            for n in prev.JXL_WESATURATE]
    return out


def illustrations() -> list[tuple[str, str, str]]:
    out = [(f"illustration/{Path(n).stem}", "mate-backgrounds", prev.MATE + n) for n in prev.MATE_ILLUSTRATIONS]
    return out + [(f"illustration/{n.split('/')[0]}", "plasma-workspace-wallpapers", prev.PLASMA + n)
                  for n in prev.PLASMA_ILLUSTRATIONS]


def split_sources(names: list[str], seed: int = UNSEEN_SEED, used: int = SOURCES_USED) -> tuple[list[str], list[str]]:
    """(edited sources, distractors): a seeded draw, made on the names only (before anything is read)."""
    order = np.random.default_rng(seed).permutation(len(names))
    return [names[k] for k in order[:used]], [names[k] for k in order[used:]]


@dataclass(frozen=True)
class Composite:
    kind: str
    parts: tuple[str, ...]  # origins, in drawing order (pip: host, inset)
    variant: int  # pip corner, collage size


def composition_plan(sources: list[str], hosts: list[str], seed: int = UNSEEN_SEED) -> list[Composite]:
    """Which origins go into which composite: every source once as a pip inset over its own host (no two
    pips share a host), once in a duet, once in a split screen and twice in collages."""
    rng = np.random.default_rng(seed + 1)
    n = len(sources)
    plan = [Composite("pip", (hosts[k % len(hosts)], s), int(rng.integers(4))) for k, s in enumerate(sources)]
    for kind in ("duet", "split_screen"):
        order = rng.permutation(n)
        plan += [Composite(kind, (sources[order[k]], sources[order[k + 1]]), 0) for k in range(0, n - 1, 2)]
    for _ in range(2):
        order = [sources[k] for k in rng.permutation(n)]
        k = 0
        while k + 3 <= n:
            size = 4 if n - k >= 7 or n - k == 4 else 3
            plan.append(Composite("collage", tuple(order[k : k + size]), size))
            k += size
    return plan


def make_composite(plan: Composite, images: dict[str, np.ndarray]) -> np.ndarray:
    parts = [images[p] for p in plan.parts]
    if plan.kind == "pip":
        return ov.picture_in_picture(parts[0], parts[1], corner=plan.variant)[0]
    if plan.kind == "duet":
        return ov.side_by_side(*parts)[0]
    if plan.kind == "split_screen":
        return ov.split_screen(*parts)[0]
    return ov.collage(parts)[0]


def _fit(image: np.ndarray) -> np.ndarray:
    scale = MAX_SIDE / max(image.shape[:2])
    return ed.resize_to(image, int(round(image.shape[1] * scale)), int(round(image.shape[0] * scale))) \
        if scale < 1 else image


def _write(pool: Path, rel: str, image: np.ndarray) -> str:
    save_image(pool / rel, image)
    return rel


def _stem(origin: str) -> str:
    return origin.replace("/", "_")


def read_items(index: Path) -> list[UnseenItem]:
    data = json.loads(index.read_text(encoding="utf-8"))
    return [UnseenItem(i["path"], i["family"], i["kind"], tuple(i["origins"])) for i in data["items"]]


def build_unseen_set(out: str | os.PathLike) -> tuple[Path, list[UnseenItem]]:
    """Write the set under `out/pool` once (`out/items.json` marks it done); (pool folder, items)."""
    from myPython.common.images import load_image

    out = Path(out)
    pool, index = out / "pool", out / "items.json"
    if index.exists() and json.loads(index.read_text(encoding="utf-8")).get("version") == UNSEEN_VERSION:
        return pool, read_items(index)
    files = {origin: (package, member) for origin, package, member in candidates() + illustrations()}
    names = [c[0] for c in candidates()]
    sources, distractors = split_sources(names)
    hosts = [h for pair in zip(distractors, [i[0] for i in illustrations()]) for h in pair]
    hosts += [h for h in distractors + [i[0] for i in illustrations()] if h not in hosts]
    images: dict[str, np.ndarray] = {}
    for origin in names + [i[0] for i in illustrations()]:
        package, member = files[origin]
        (path,) = heldout_files(package, [member])
        images[origin] = _fit(load_image(path))
    items: list[UnseenItem] = []
    for origin in sources:
        stem = _stem(origin)
        items.append(UnseenItem(_write(pool, f"original/{stem}.png", images[origin]), "original", "original",
                                (origin,)))
        for kind, (family, edit) in SINGLE_EDITS.items():
            rng = np.random.default_rng(item_seed(UNSEEN_SEED, origin, kind))
            items.append(UnseenItem(_write(pool, f"{family}/{kind}/{stem}.png", edit(images[origin], rng)), family,
                                    kind, (origin,)))
    for origin in distractors + [i[0] for i in illustrations()]:
        kind = "illustration" if origin.startswith("illustration/") else "photo"
        items.append(UnseenItem(_write(pool, f"distractor/{_stem(origin)}.png", images[origin]), "distractor", kind,
                                (origin,)))
    for n, plan in enumerate(composition_plan(sources, hosts)):
        rel = f"composition/{plan.kind}/{n:03d}.png"
        items.append(UnseenItem(_write(pool, rel, make_composite(plan, images)), "composition", plan.kind,
                                tuple(plan.parts)))
    doc = {"version": UNSEEN_VERSION, "seed": UNSEEN_SEED,
           "items": [{"path": i.path, "family": i.family, "kind": i.kind, "origins": list(i.origins)} for i in items]}
    atomic_write_text(index, json.dumps(doc, indent=1) + "\n")
    return pool, items
