"""Do detected panels find a picture inside a composition? Measured on the VALIDATION split only.

A planning study for panel detection (issue #20: an inset, half of a duet, a cell of a collage; the R-MAC grid's
own regions found picture-in-picture sources at 0.26, `regional_study.py`). `myPython/pool/panels.py` finds the
axis-aligned sub-pictures of an image from its pixels (straight step lines that meet as rectangles); each panel
is cropped and described as an image of its own with the default model (fp32), and a composite C is scored
against a photo P as max(cos(C, P), cos(panel of C, P) for each panel).

Items, all built from the validation photos (each capped to 1024 pixels), every photo the source of one item of
each kind, its other parts other validation photos:

* the project's generator (`datasets/platform_edits.py`): picture_in_picture (host: another photo),
  side_by_side, duet, split_screen (2 or 3 bands), collage (2x2 or 3x3); its truth is the source's visible box;
* the study's own composites, other parameters: an inset of 20-45 % of the width at a random corner, without
  and with a 2-6 px border (inset, inset_border); a 2x2 grid with 0-8 px gutters (grid, every cell's box known);
  a left/right and a top/bottom split at 40-60 % (split_lr, split_tb, both boxes known); cells cover-cropped;
* plain negatives: the photos and one copy per kind of `datasets/edits.py` (but reencode).

Printed: (i) detection, per kind: the share of known sub-pictures that some panel overlaps at IoU >= 0.6, the
panels per item (every panel of a plain item is a false one), the mean detection time; (ii) retrieval, per kind:
the recall of the source photo and of the other parts at the score that 0.5 % of the unrelated (item, photo)
pairs reach, for "global" (the item's global descriptor), "global + panels" (max over the global and panel
descriptors; the quantile recomputed over all items, plain ones' false panels included) and, as an upper bound,
"global + truth boxes" (the known boxes described instead of the detected panels; of the generator's items only
the source's box is known); the same at the model's recommended cosine threshold; (iii) the cost: extra
descriptor rows per item.

    nice -n 19 .venv/bin/python bench/panel_study.py [--photos N] [--detect-only]

Result (fifth build, fp32; 38 photos, 380 composites, 228 plain items; detection 9 ms an image at 512 px on one
core): the unrelated pairs' 99.5 % score rises from 0.349 (global) to 0.432 (global + panels). Source recall,
global -> global + panels (truth boxes in brackets): picture_in_picture 0.237 -> 0.895 (1.000), inset 0.053 ->
0.763 (1.000), inset_border 0.105 -> 0.868 (1.000), duet 0.342 -> 0.842 (0.947), side_by_side 0.868 -> 0.947,
split_screen 2 bands 1.000 -> 1.000, 3 bands 0.444 -> 0.889, collage 2x2 0.062 -> 0.812, 3x3 0.000 -> 0.455 (four
panels for nine cells), grid 0.316 -> 0.895, split_lr 0.711 -> 0.895, split_tb 0.816 -> 0.947; the other parts
likewise (collage 2x2 0.250 -> 0.833, grid 0.281 -> 0.877); plain copies unchanged but one small_jpeg (0.974 ->
0.947). No unrelated pair reaches the model's cosine threshold (0.789) either way; picture_in_picture sources
above it 0.000 -> 0.711. Detection (IoU >= 0.6) finds 0.76-0.93 of the sub-pictures of every kind but 3x3
collages (0.41); many misses are dark pictures on black frames or sides of low contrast. False panels: 0.46 a
plain item (27 % of them have any: windows, a horizon, the logo box of blur_logo, a letterboxed copy's picture,
which lifts that copy's cosine 0.794 -> 0.848). Extra rows: composites median 2 (mean 2.33), plain items median
0 (mean 0.46).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from keypoint_study import study_model  # noqa: E402

from myPython.datasets import copies, platform_edits, sources  # noqa: E402
from myPython.pool.panels import detect_panels  # noqa: E402

SEED = 2718
UNRELATED = 0.995  # the score this quantile of the unrelated (item, photo) pairs reaches is the bar
FOUND_IOU = 0.6  # a sub-picture is found when some panel overlaps it this much
ASPECTS = (16 / 9, 4 / 3, 1.0, 3 / 4, 9 / 16)  # width / height of the study's own frames
GENERATOR = ("picture_in_picture", "side_by_side", "duet", "split_screen_2", "split_screen_3", "collage_2x2",
             "collage_3x3")
OWN = ("inset", "inset_border", "grid", "split_lr", "split_tb")
COPY_KINDS = tuple(k for k in copies.edits.EDIT_KINDS if k != "reencode")

Box = tuple[int, int, int, int]


@dataclass
class Item:
    image: np.ndarray
    kind: str
    parts: list[int]  # photo indices, the source first
    boxes: list[Box | None]  # where each part lies, None where unknown (or the whole frame)
    composite: bool = True
    panels: list[Box] = field(default_factory=list)


def cover(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """The image scaled to cover w x h and centre-cropped to it."""
    ih, iw = image.shape[:2]
    s = max(w / iw, h / ih)
    sw, sh = max(w, round(iw * s)), max(h, round(ih * s))
    big = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    x, y = (sw - w) // 2, (sh - h) // 2
    return big[y : y + h, x : x + w]


def frame_size(rng: np.random.Generator) -> tuple[int, int]:
    """(width, height) of a random frame, long side 720-1024."""
    aspect, side = float(rng.choice(ASPECTS)), int(rng.integers(720, 1025))
    return (side, round(side / aspect)) if aspect >= 1 else (round(side * aspect), side)


def colour(rng: np.random.Generator) -> tuple[int, int, int]:
    if rng.random() < 0.5:
        return (int(rng.choice([0, 255])),) * 3
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def own_inset(host: np.ndarray, image: np.ndarray, rng: np.random.Generator, border: bool) -> tuple[np.ndarray, Box]:
    """The image as an inset of 20-45 % of the host's width in a random corner (margin 0-5 %), optional border."""
    out = host.copy()
    oh, ow = out.shape[:2]
    ih, iw = image.shape[:2]
    bw = round(ow * rng.uniform(0.2, 0.45))
    bh = round(bw * ih / iw)
    if bh > 0.7 * oh:
        bh = round(0.7 * oh)
        bw = round(bh * iw / ih)
    m = round(rng.uniform(0.0, 0.05) * ow)
    t = int(rng.integers(2, 7)) if border else 0
    x0 = m + t if rng.random() < 0.5 else ow - bw - m - t
    y0 = m + t if rng.random() < 0.5 else oh - bh - m - t
    if border:
        cv2.rectangle(out, (x0 - t, y0 - t), (x0 + bw + t - 1, y0 + bh + t - 1), colour(rng), -1)
    out[y0 : y0 + bh, x0 : x0 + bw] = cv2.resize(image, (bw, bh), interpolation=cv2.INTER_AREA)
    return out, (x0, y0, x0 + bw, y0 + bh)


def own_grid(images: list[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, list[Box]]:
    """Four images in a 2x2 grid, 0-8 px gutters, each cover-cropped to its cell."""
    w, h = frame_size(rng)
    g = int(rng.integers(0, 9))
    out = np.full((h, w, 3), colour(rng), np.uint8)
    xs, ys = [0, (w - g) // 2, (w - g) // 2 + g, w], [0, (h - g) // 2, (h - g) // 2 + g, h]
    boxes = [(xs[2 * i], ys[2 * j], xs[2 * i + 1], ys[2 * j + 1]) for j in range(2) for i in range(2)]
    for image, (x0, y0, x1, y1) in zip(images, boxes):
        out[y0:y1, x0:x1] = cover(image, x1 - x0, y1 - y0)
    return out, boxes


def own_split(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, across: bool) -> tuple[np.ndarray, list[Box]]:
    """Two images split left/right (across: top/bottom) at 40-60 %, half the time a 2-8 px gutter."""
    w, h = frame_size(rng)
    g = int(rng.integers(2, 9)) if rng.random() < 0.5 else 0
    out = np.full((h, w, 3), colour(rng), np.uint8)
    n = h if across else w
    cut = round(n * rng.uniform(0.4, 0.6))
    spans = [(0, cut), (cut + g, n)]
    boxes = [(0, s0, w, s1) if across else (s0, 0, s1, h) for s0, s1 in spans]
    for image, (x0, y0, x1, y1) in zip((a, b), boxes):
        out[y0:y1, x0:x1] = cover(image, x1 - x0, y1 - y0)
    return out, boxes


def visible_box(edited: platform_edits.Edited) -> Box:
    v = edited.visible
    return round(v[0]), round(v[1]), round(v[2]), round(v[3])


def build_items(photos: list[np.ndarray], listed: list[sources.Photo], rng: np.random.Generator) -> list[Item]:
    n = len(photos)
    items = []
    for s in range(n):
        others = [int(o) for o in rng.permutation([k for k in range(n) if k != s])]
        pick = [photos[o] for o in others]
        e = platform_edits.picture_in_picture(photos[s], rng, host=pick[0])
        items.append(Item(e.image, "picture_in_picture", [s, others[0]], [visible_box(e), None]))
        e = platform_edits.side_by_side(photos[s], rng, other=pick[0])
        items.append(Item(e.image, "side_by_side", [s, others[0]], [visible_box(e), None]))
        e = platform_edits.duet(photos[s], rng, other=pick[0])
        items.append(Item(e.image, "duet", [s, others[0]], [visible_box(e), None]))
        parts = int(rng.integers(2, 4))
        e = platform_edits.split_screen(photos[s], rng, others=pick[: parts - 1], parts=parts)
        items.append(Item(e.image, f"split_screen_{parts}", [s, *others[: parts - 1]],
                          [visible_box(e)] + [None] * (parts - 1)))
        grid = int(rng.integers(2, 4))
        e = platform_edits.collage(photos[s], rng, others=pick[: grid * grid - 1], grid=grid)
        items.append(Item(e.image, f"collage_{grid}x{grid}", [s, *others[: grid * grid - 1]],
                          [visible_box(e)] + [None] * (grid * grid - 1)))
        for kind in ("inset", "inset_border"):
            image, box = own_inset(pick[0], photos[s], rng, kind == "inset_border")
            items.append(Item(image, kind, [s, others[0]], [box, None]))
        order = [s, *others[:3]]
        at = [int(k) for k in rng.permutation(4)]  # the source in a random cell
        image, boxes = own_grid([photos[order[k]] for k in at], rng)
        items.append(Item(image, "grid", [order[k] for k in at], list(boxes)))
        items[-1].parts, items[-1].boxes = _source_first(items[-1].parts, items[-1].boxes, s)
        for kind in ("split_lr", "split_tb"):
            first = rng.random() < 0.5
            a, b = (s, others[0]) if first else (others[0], s)
            image, boxes = own_split(photos[a], photos[b], rng, kind == "split_tb")
            parts_, boxes_ = _source_first([a, b], list(boxes), s)
            items.append(Item(image, kind, parts_, boxes_))
    index = {photo.name: k for k, photo in enumerate(listed)}
    for copy in copies.photo_copies(listed, SEED, kinds=COPY_KINDS):
        items.append(Item(copy.image, copy.kind, [index[copy.origin]], [None], composite=False))
    return items


def _source_first(parts: list[int], boxes: list[Box | None], s: int) -> tuple[list[int], list[Box | None]]:
    k = parts.index(s)
    return [parts[k]] + parts[:k] + parts[k + 1 :], [boxes[k]] + boxes[:k] + boxes[k + 1 :]


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


class Describer:
    """Global descriptors of the default model (fp32, all its scales), as `regional_study.describe`."""

    def __init__(self) -> None:
        from myPython.build.engine import fp32_engine

        spec = study_model()
        self.settings = spec.settings()
        self.cosine_threshold = float(spec.info.get("recommended_cosine_threshold", 0.0))
        self.engine = fp32_engine(spec.proto, spec.weights, "rmac/normalized")

    def __call__(self, image: np.ndarray) -> np.ndarray:
        from myPython.retrieval.extractor import prepare_inputs
        from myPython.rmac.functional import l2_normalize
        from myPython.rmac.grid import get_rmac_region_coordinates, pack_regions_for_network

        total = 0.0
        for x in prepare_inputs(image, self.settings, None):
            rois = pack_regions_for_network([get_rmac_region_coordinates(x.shape[1], x.shape[2], self.settings.L)])
            total = total + self.engine.forward(x[None], rois)[0]
        return l2_normalize(total).astype(np.float32)


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    return image[box[1] : box[3], box[0] : box[2]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=None, help="only the first N validation photos (development)")
    parser.add_argument("--detect-only", action="store_true", help="detection numbers only, no descriptors")
    args = parser.parse_args()
    if args.photos is not None and args.photos < 9:
        parser.error("--photos: at least 9 (a 3x3 collage holds 9 photos)")
    from myPython.common.images import load_image

    cv2.setNumThreads(1)  # detection times on one core
    listed = sources.photos("validation")[: args.photos]
    photos = [copies.capped(load_image(p.path)) for p in listed]
    items = build_items(photos, listed, np.random.default_rng(SEED))
    n = len(photos)
    took, took512 = [], []
    for item in items:
        start = time.perf_counter()
        item.panels = detect_panels(item.image)
        took.append(time.perf_counter() - start)
        s = 512 / max(item.image.shape[:2])
        small = cv2.resize(item.image, (round(item.image.shape[1] * s), round(item.image.shape[0] * s)),
                           interpolation=cv2.INTER_AREA)
        start = time.perf_counter()
        detect_panels(small)
        took512.append(time.perf_counter() - start)
    kinds = [k for k in GENERATOR + OWN + ("original",) + COPY_KINDS if any(it.kind == k for it in items)]
    comp = [it for it in items if it.composite]
    plain = [it for it in items if not it.composite]
    print(f"{n} validation photos; {len(comp)} composites, {len(plain)} plain items (the photos and their copies)")
    print(f"\n(i) detection, IoU >= {FOUND_IOU}: {1000 * np.mean(took):.1f} ms an item as built (median "
          f"{np.median([max(it.image.shape[:2]) for it in items]):.0f} px long side), "
          f"{1000 * np.mean(took512):.1f} ms at 512 px (one core)")
    for kind in kinds:
        rows = [it for it in items if it.kind == kind]
        per = np.mean([len(it.panels) for it in rows])
        if rows[0].composite:
            hits = [max((iou(b, p) for p in it.panels), default=0.0) >= FOUND_IOU
                    for it in rows for b in it.boxes if b is not None]
            src = [max((iou(it.boxes[0], p) for p in it.panels), default=0.0) >= FOUND_IOU for it in rows]
            line = (f"  {kind:24s} ({len(rows):2d}) found {np.mean(hits):.3f} of {len(hits):3d} known sub-pictures "
                    f"(source {np.mean(src):.3f}); {per:.2f} panels an item")
            if kind in OWN:  # every sub-picture known (an inset's host is no sub-picture)
                false = np.mean([sum(max((iou(b, p) for b in it.boxes if b is not None), default=0.0) < FOUND_IOU
                                     for p in it.panels) for it in rows])
                line += f", {false:.2f} false"
            print(line)
        else:
            print(f"  {kind:24s} ({len(rows):2d}) {per:.2f} false panels an item "
                  f"(items with any: {np.mean([len(it.panels) > 0 for it in rows]):.3f})")
    print(f"  all plain items: {np.mean([len(it.panels) for it in plain]):.3f} false panels an item")
    if args.detect_only:
        return 0

    describe = Describer()
    start = time.perf_counter()
    photo_desc = np.stack([describe(p) for p in photos])
    glob = np.stack([photo_desc[it.parts[0]] if it.kind == "original" else describe(it.image) for it in items])
    panel_desc = [np.stack([describe(crop(it.image, b)) for b in it.panels]) if it.panels else None for it in items]
    truth_desc = [np.stack([describe(crop(it.image, b)) for b in it.boxes if b is not None])
                  if any(b is not None for b in it.boxes) else None for it in items]
    took_desc = time.perf_counter() - start
    g = glob @ photo_desc.T
    scores = {"global": g, "global + panels": g.copy(), "global + truth boxes": g.copy()}
    for k in range(len(items)):
        for name, extra in (("global + panels", panel_desc[k]), ("global + truth boxes", truth_desc[k])):
            if extra is not None:
                scores[name][k] = np.maximum(g[k], (extra @ photo_desc.T).max(axis=0))
    related = np.zeros_like(g, bool)
    source = np.zeros_like(g, bool)
    for k, it in enumerate(items):
        related[k, it.parts] = True
        source[k, it.parts[0]] = True
    bars = {name: float(np.quantile(score[~related], UNRELATED)) for name, score in scores.items()}
    print(f"\n(ii) retrieval ({took_desc:.0f} s of descriptors): recall of the source photo / of the other parts at "
          f"the score {(1 - UNRELATED) * 100:.1f} % of the {int((~related).sum())} unrelated (item, photo) pairs "
          f"reach: " + ", ".join(f"{name} {bar:.3f}" for name, bar in bars.items()))
    print(f"  {'':29s}" + "".join(f"{name:>22s}" for name in scores) + "   median source cosine")
    kind_of = np.array([it.kind for it in items])
    for kind in kinds:
        rows = kind_of == kind
        cells = []
        for name, score in scores.items():
            s, o = score[rows][source[rows]], score[rows][related[rows] & ~source[rows]]
            other = f"{np.mean(o > bars[name]):.3f}" if o.size else "  -  "
            cells.append(f"{np.mean(s > bars[name]):.3f} / {other}")
        med = [np.median(scores[name][rows][source[rows]]) for name in ("global", "global + panels")]
        print(f"  {kind:24s} ({rows.sum():2d})" + "".join(f"{c:>22s}" for c in cells)
              + f"   {med[0]:.3f} -> {med[1]:.3f}")
    t = describe.cosine_threshold
    print(f"  at the model's recommended cosine threshold ({t:.3f}; unrelated pairs above it: "
          + ", ".join(f"{name} {np.mean(score[~related] >= t):.4f}" for name, score in scores.items())
          + "), source recall global -> global + panels:")
    line = []
    for kind in kinds:
        rows = kind_of == kind
        a, b = (np.mean(scores[name][rows][source[rows]] >= t) for name in ("global", "global + panels"))
        line.append(f"{kind} {a:.3f} -> {b:.3f}")
    for k in range(0, len(line), 4):
        print("    " + "; ".join(line[k : k + 4]))
    extra_c = [len(it.panels) for it in comp]
    extra_p = [len(it.panels) for it in plain]
    print(f"\n(iii) extra descriptor rows an item (panels): composites median {np.median(extra_c):.0f}, mean "
          f"{np.mean(extra_c):.2f}; plain items median {np.median(extra_p):.0f}, mean {np.mean(extra_p):.2f} "
          f"({np.mean([e > 0 for e in extra_p]):.3f} of them with any)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
