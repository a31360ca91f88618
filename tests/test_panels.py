"""Panel detection (pool/panels.py): the sub-pictures of compositions are found, a plain picture has none."""

from __future__ import annotations

import numpy as np

from myPython.pool.panels import detect_panels


def picture(seed: int, h: int, w: int) -> np.ndarray:
    """A photo-like BGR picture without straight edges: colour blobs at random places and sizes (drawn at a quarter
    of the size, then smoothly enlarged), fine noise."""
    import cv2

    rng = np.random.default_rng(seed)
    sh, sw = max(8, h // 4), max(8, w // 4)
    y, x = np.mgrid[0:sh, 0:sw].astype(np.float32)
    out = np.full((sh, sw, 3), rng.uniform(60, 190, 3), np.float32)
    for _ in range(40):
        cx, cy, sigma = rng.uniform(0, sw), rng.uniform(0, sh), rng.uniform(0.04, 0.2) * max(sh, sw)
        weight = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))[..., None]
        out = out * (1 - weight) + weight * rng.uniform(0, 255, 3)
    out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(out + rng.normal(0, 4, out.shape), 0, 255).astype(np.uint8)


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def best_iou(panels, box) -> float:
    return max((iou(p, box) for p in panels), default=0.0)


def test_an_inset_is_found_at_its_place():
    import cv2

    for seed, (x0, y0) in enumerate([(400, 40), (40, 300), (380, 280)]):
        host = picture(seed, 540, 960)
        inset = cv2.resize(picture(seed + 10, 400, 600), (300, 200))
        host[y0 : y0 + 200, x0 : x0 + 300] = inset
        assert best_iou(detect_panels(host), (x0, y0, x0 + 300, y0 + 200)) >= 0.8


def test_both_halves_of_a_split_and_the_cells_of_a_grid_are_found():
    split = np.hstack([picture(1, 540, 480), picture(2, 540, 480)])
    panels = detect_panels(split)
    assert best_iou(panels, (0, 0, 480, 540)) >= 0.8 and best_iou(panels, (480, 0, 960, 540)) >= 0.8
    grid = np.vstack([np.hstack([picture(3, 270, 480), picture(4, 270, 480)]),
                      np.hstack([picture(5, 270, 480), picture(6, 270, 480)])])
    panels = detect_panels(grid)
    cells = [(x, y, x + 480, y + 270) for y in (0, 270) for x in (0, 480)]
    assert all(best_iou(panels, c) >= 0.8 for c in cells)


def test_a_plain_picture_has_no_panels_and_at_most_max_panels_are_returned():
    for seed in range(4):
        assert detect_panels(picture(20 + seed, 540, 960)) == []
    grid = np.vstack([np.hstack([picture(7 + 3 * r + c, 180, 320) for c in range(3)]) for r in range(3)])
    assert 1 <= len(detect_panels(grid, max_panels=2)) <= 2
