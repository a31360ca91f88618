"""How far can the false panels on plain content be cut while keeping the panels of compositions? TRAINING and
VALIDATION splits only.

A planning study for `myPython/pool/panels.py` (`embed --panels` writes a row per panel, so every false panel on a
pool without compositions costs a row's embedding). Plain content: the 350 training photos
(`sources.photos("train")`, as loaded, no cap) and the validation split's plain items of `panel_study.py` (the
photos, capped to 1024 pixels, and one copy per edit kind). Compositions: `panel_study.build_items` on the
validation photos (the project's generator and that study's own composites); a composite's source is found when
some panel overlaps its known box at IoU >= 0.5 (`panel_study.py` itself counts 0.6).

Variants, all in this process only (no default changes): module constants of `myPython.pool.panels` patched for
the call, or a post-filter on the detector's scored rectangles before its IoU thinning (`_rectangles` wrapped), or
a smaller `max_panels`. Printed per variant: panels per training photo (and the share of photos with any), panels
per plain validation item, the composites' source recall (all, and per kind in a second table) and the
detector's mean ms an image (one core, every image measured). `--sheet` writes annotated thumbnails of the
training photos' false panels (today's detector) to out/panel_false/.

    nice -n 19 .venv/bin/python bench/panel_false_study.py [--photos N] [--sheet]

Results (2-core AMD EPYC, AVX2, 2026-12-07; 350 training photos, median long side 1024 px; 38 validation photos:
380 composites, 228 plain items; ms on one core of a shared machine, +-2 ms noise):

    variant               train/photo  any  val plain  src recall   ms   inset  inset_border  collage_3x3
    today                       0.311 0.149     0.461       0.845 11.7   0.763         0.868        0.409
    max_panels=2                0.231 0.149     0.390       0.747 11.9   0.737         0.868        0.273
    AREA_MIN=0.05               0.231 0.129     0.342       0.837 11.2   0.737         0.816        0.364
    SIDE_COVER=0.85             0.197 0.097     0.399       0.837  9.2   0.711         0.868        0.409
    SIDE_COVER=0.9              0.114 0.077     0.289       0.813 10.5   0.684         0.842        0.409
    CONTRAST_MIN=0.55           0.186 0.089     0.303       0.821 11.0   0.737         0.816        0.364
    STEP_MIN=24                 0.194 0.106     0.417       0.834 10.0   0.842         0.895        0.409
    RUN_MIN=0.15                0.274 0.134     0.425       0.839  9.4   0.763         0.842        0.364
    cover>=0.95 (filter)        0.089 0.051     0.268       0.805 11.0   0.684         0.842        0.409
    inset cover>=0.95           0.200 0.111     0.368       0.837 11.5   0.737         0.868        0.409
    ring dist>=0.4              0.277 0.140     0.443       0.845 15.5   0.763         0.868        0.409
    COVER=0.85+AREA=0.05        0.134 0.069     0.298       0.829  8.7   0.684         0.816        0.364
    COVER=0.9+AREA=0.05         0.077 0.054     0.241       0.808  8.7   0.684         0.789        0.364

(src recall: all 380 composites; the other kinds, today -> COVER=0.85+AREA=0.05: picture_in_picture 0.895 ->
0.895, side_by_side 0.868 -> 0.868, duet 0.868 -> 0.868, split_screen_2 0.900, split_screen_3 0.889 both,
collage_2x2 0.812 both, grid 0.868 -> 0.895, split_lr 0.947 -> 0.921, split_tb 0.895 both. One item of a kind is
0.026 of its recall.)

What the false panels are (sheets train_false_*.png, today): 109 panels on 52 of the 350 photos, area median
0.082 of the frame, inner sides 1/2/3/4: 17/24/32/36. Horizon and ground bands (sky over a field, a lawn under a
castle: one inner side, geometrically a split_tb band), architectural openings (colonnades, doorways, windows),
boxes and blocks (toy letter blocks, cabinet doors, shelves, drawers), picture frames and posters on walls, and
small strips at the frame's edge. No letterbox or text boxes among the training photos.

Conclusion: no variant cuts the false panels below 0.15 a photo for free. The lever is side coverage: SIDE_COVER
0.9 (or the equivalent post-filter, inner sides >= 0.95 covered) takes them to 0.11 (0.09) a photo at -0.032
(-0.040) overall source recall, paid by borderless insets (0.763 -> 0.684), split_lr and duet. Together with
AREA_MIN 0.05, SIDE_COVER 0.85 gets 0.134 a training photo (0.298 a plain validation item) at -0.016 overall, but
-0.079 on borderless insets, -0.053 on bordered ones and -0.045 on 3x3 collages: within 0.03 overall, not per
kind. Colour distinctness across the sides (ring histogram) separates nothing (windows differ from walls as much
as an inset from its host); max_panels=2 cuts few false panels (most photos with any have one or two) and costs
grids and collages a lot. Horizon bands are indistinguishable from split bands by this geometry. Defaults kept.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from panel_study import GENERATOR, OWN, SEED, Item, build_items, iou  # noqa: E402

from myPython.datasets import copies, sources  # noqa: E402
from myPython.pool import panels  # noqa: E402

FOUND_IOU = 0.5  # a composite's source is found when some panel overlaps its box this much
OUT = REPO / "out" / "panel_false"

Box = tuple[int, int, int, int]
Scored = tuple[float, Box]  # (confidence, box in work pixels), as `panels._rectangles` returns them
Keep = Callable[[np.ndarray, float, Scored], bool]  # (work image, scale, rectangle) -> keep it


@dataclass
class Variant:
    name: str
    constants: dict[str, float] = field(default_factory=dict)
    keep: Keep | None = None
    max_panels: int = 4


@contextmanager
def patched(variant: Variant) -> Iterator[None]:
    """The detector module with the variant's constants and post-filter, restored afterwards."""
    saved = {name: getattr(panels, name) for name in variant.constants}
    rectangles = panels._rectangles
    try:
        for name, value in variant.constants.items():
            setattr(panels, name, value)
        if variant.keep is not None:
            keep = variant.keep

            def filtered(small: np.ndarray, scale: float) -> list[Scored]:
                return [r for r in rectangles(small, scale) if keep(small, scale, r)]

            panels._rectangles = filtered
        yield
    finally:
        panels._rectangles = rectangles
        for name, value in saved.items():
            setattr(panels, name, value)


def n_inner(small: np.ndarray, box: Box) -> int:
    """How many of the box's sides lie inside the frame (not on its border)."""
    h, w = small.shape[:2]
    x0, y0, x1, y1 = box
    return int(x0 > 0) + int(y0 > 0) + int(x1 < w) + int(y1 < h)


def confident(least: float) -> Keep:
    """Inner sides covered on average by at least `least` (the detector's confidence less its side bonus)."""
    return lambda small, scale, r: r[0] - 0.01 * n_inner(small, r[1]) >= least


def frame_lines(small: np.ndarray, scale: float, r: Scored) -> bool:
    """Panels with one or two inner sides (a band, a corner cell) as today; one with three or four inner sides
    (an inset, a middle cell) only when its inner sides are covered on average >= 0.95."""
    k = n_inner(small, r[1])
    return k <= 2 or r[0] - 0.01 * k >= 0.95


def ring_distinct(least: float) -> Keep:
    """The panel's colours differ from a ring just outside its inner sides: Bhattacharyya distance of 8x8x8
    BGR histograms at least `least` (a picture over another picture, not a window in the same scene)."""

    def keep(small: np.ndarray, scale: float, r: Scored) -> bool:
        h, w = small.shape[:2]
        x0, y0, x1, y1 = r[1]
        m = max(3, round(0.08 * min(x1 - x0, y1 - y0)))
        mask = np.zeros((h, w), np.uint8)
        mask[max(0, y0 - m) : min(h, y1 + m), max(0, x0 - m) : min(w, x1 + m)] = 255
        mask[y0:y1, x0:x1] = 0
        if not mask.any():
            return True
        inside = np.zeros((h, w), np.uint8)
        inside[y0:y1, x0:x1] = 255
        hists = [cv2.normalize(cv2.calcHist([small], [0, 1, 2], mk, [8, 8, 8], [0, 256] * 3), None).flatten()
                 for mk in (inside, mask)]
        return cv2.compareHist(hists[0], hists[1], cv2.HISTCMP_BHATTACHARYYA) >= least

    return keep


def both(a: Keep, b: Keep) -> Keep:
    return lambda small, scale, r: a(small, scale, r) and b(small, scale, r)


VARIANTS = [
    Variant("today"),
    Variant("max_panels=2", max_panels=2),
    Variant("AREA_MIN=0.05", {"AREA_MIN": 0.05}),
    Variant("SIDE_COVER=0.9", {"SIDE_COVER": 0.9}),
    Variant("CONTRAST_MIN=0.55", {"CONTRAST_MIN": 0.55}),
    Variant("STEP_MIN=24", {"STEP_MIN": 24.0}),
    Variant("RUN_MIN=0.15", {"RUN_MIN": 0.15}),
    Variant("cover>=0.95", keep=confident(0.95)),
    Variant("inset cover>=0.95", keep=frame_lines),
    Variant("ring dist>=0.4", keep=ring_distinct(0.4)),
    Variant("SIDE_COVER=0.85", {"SIDE_COVER": 0.85}),
    Variant("COVER=0.85+AREA=0.05", {"SIDE_COVER": 0.85, "AREA_MIN": 0.05}),
    Variant("COVER=0.9+AREA=0.05", {"SIDE_COVER": 0.9, "AREA_MIN": 0.05}),
]


@dataclass
class Measured:
    train: list[int]  # panels per training photo
    plain: list[int]  # panels per plain validation item
    found: dict[str, list[bool]]  # per composite kind, whether each item's source was found
    ms: float


def detect_all(images: list[np.ndarray], variant: Variant) -> tuple[list[list[Box]], float]:
    """Every image's panels under the variant, and the mean milliseconds an image."""
    out, took = [], 0.0
    with patched(variant):
        for image in images:
            start = time.perf_counter()
            out.append(panels.detect_panels(image, max_panels=variant.max_panels))
            took += time.perf_counter() - start
    return out, 1000 * took / max(1, len(images))


def measure(variant: Variant, train: list[np.ndarray], items: list[Item]) -> Measured:
    found_train, ms = detect_all(train + [it.image for it in items], variant)
    on_items = found_train[len(train) :]
    found: dict[str, list[bool]] = {}
    for item, boxes in zip(items, on_items):
        if item.composite:
            src = item.boxes[0]
            assert src is not None
            found.setdefault(item.kind, []).append(max((iou(src, p) for p in boxes), default=0.0) >= FOUND_IOU)
    return Measured([len(b) for b in found_train[: len(train)]],
                    [len(b) for it, b in zip(items, on_items) if not it.composite], found, ms)


def annotated(image: np.ndarray, boxes: list[Box], side: int = 240) -> np.ndarray:
    """A thumbnail (long side `side`, padded square) with the boxes drawn."""
    out = image.copy()
    t = max(2, round(max(image.shape[:2]) / side * 2))
    pens = [(0, 0, 255), (0, 255, 255), (255, 0, 255), (255, 255, 0)]
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), pens[k % 4], t)
    s = side / max(out.shape[:2])
    out = cv2.resize(out, (round(out.shape[1] * s), round(out.shape[0] * s)), interpolation=cv2.INTER_AREA)
    pad = np.full((side, side, 3), 32, np.uint8)
    pad[: out.shape[0], : out.shape[1]] = out
    return pad


def write_sheets(images: list[np.ndarray], boxes: list[list[Box]], stem: str, per_sheet: int = 30) -> list[Path]:
    """Contact sheets (6 a row) of the images that have panels, boxes drawn; their paths."""
    tiles = [annotated(im, b) for im, b in zip(images, boxes) if b]
    paths = []
    for k in range(0, len(tiles), per_sheet):
        chunk = tiles[k : k + per_sheet]
        chunk += [np.zeros_like(chunk[0])] * (-len(chunk) % 6)
        sheet = np.vstack([np.hstack(chunk[r : r + 6]) for r in range(0, len(chunk), 6)])
        paths.append(OUT / f"{stem}_{k // per_sheet}.png")
        cv2.imwrite(str(paths[-1]), sheet)
    return paths


def describe_false(images: list[np.ndarray], boxes: list[list[Box]]) -> str:
    """Shape statistics of the training photos' panels: area share, inner sides, aspect."""
    area, inner, aspect = [], [], []
    for image, bs in zip(images, boxes):
        h, w = image.shape[:2]
        for x0, y0, x1, y1 in bs:
            area.append((x1 - x0) * (y1 - y0) / (h * w))
            inner.append(int(x0 > 0) + int(y0 > 0) + int(x1 < w) + int(y1 < h))
            aspect.append(max((x1 - x0) / (y1 - y0), (y1 - y0) / (x1 - x0)))
    if not area:
        return "no panels"
    counts = np.bincount(inner, minlength=5)
    return (f"{len(area)} panels: area share median {np.median(area):.3f} (quartiles {np.quantile(area, 0.25):.3f}"
            f"-{np.quantile(area, 0.75):.3f}); inner sides 1/2/3/4: {counts[1]}/{counts[2]}/{counts[3]}/{counts[4]};"
            f" aspect median {np.median(aspect):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=None, help="only the first N validation photos (development)")
    parser.add_argument("--train", type=int, default=None, help="only the first N training photos (development)")
    parser.add_argument("--sheet", action="store_true", help="write annotated thumbnails of false panels")
    parser.add_argument("--only", nargs="*", default=None, help="only these variants (by name)")
    args = parser.parse_args()
    from myPython.common.images import load_image

    cv2.setNumThreads(1)  # detection times on one core
    train = [load_image(p.path) for p in sources.photos("train")[: args.train]]
    listed = sources.photos("validation")[: args.photos]
    photos = [copies.capped(load_image(p.path)) for p in listed]
    items = build_items(photos, listed, np.random.default_rng(SEED))
    kinds = [k for k in GENERATOR + OWN if any(it.kind == k and it.composite for it in items)]
    print(f"{len(train)} training photos (median long side {np.median([max(t.shape[:2]) for t in train]):.0f} px); "
          f"{len(photos)} validation photos: {sum(it.composite for it in items)} composites, "
          f"{sum(not it.composite for it in items)} plain items")
    if args.sheet:
        OUT.mkdir(parents=True, exist_ok=True)
        boxes, _ = detect_all(train, VARIANTS[0])
        print("training photos' panels (today):", describe_false(train, boxes))
        for path in write_sheets(train, boxes, "train_false"):
            print("  wrote", path.relative_to(REPO))
        plain = [it for it in items if not it.composite]
        boxes, _ = detect_all([it.image for it in plain], VARIANTS[0])
        for path in write_sheets([it.image for it in plain], boxes, "val_plain_false"):
            print("  wrote", path.relative_to(REPO))
    variants = [v for v in VARIANTS if args.only is None or v.name in args.only]
    results = {v.name: measure(v, train, items) for v in variants}
    print(f"\n{'variant':22s}{'train/photo':>12s}{'any':>7s}{'val plain':>10s}{'src recall':>11s}{'ms':>6s}")
    for name, m in results.items():
        allf = [f for fs in m.found.values() for f in fs]
        print(f"{name:22s}{np.mean(m.train):12.3f}{np.mean([n > 0 for n in m.train]):7.3f}{np.mean(m.plain):10.3f}"
              f"{np.mean(allf):11.3f}{m.ms:6.1f}")
    print(f"\nsource recall (IoU >= {FOUND_IOU}) per kind:")
    names = list(results)
    print(f"{'kind':24s}" + "".join(f"{n[:11]:>12s}" for n in names))
    for kind in kinds:
        print(f"{kind:20s}({len(results[names[0]].found[kind]):2d})"
              + "".join(f"{np.mean(results[n].found[kind]):12.3f}" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
