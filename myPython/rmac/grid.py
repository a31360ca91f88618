"""The rigid multi-scale R-MAC grid (Tolias et al.), in one place.

Regions are square, computed on the network-input size (H, W). Level l has
side floor(2 min(H, W) / (l + 1)); the long side gets extra regions so that
consecutive regions overlap by about 40 %.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

OVERLAP = 0.4
STEPS = np.arange(2, 8)  # candidate numbers of regions along the long side


def _extra_regions(h: int, w: int) -> tuple[int, int]:
    """Extra regions along the long side (Hd, Wd) for the target overlap."""
    side = min(h, w)
    if h == w:
        return 0, 0
    step = (max(h, w) - side) / (STEPS - 1)
    overlap = (side * side - side * step) / (side * side)
    idx = int(np.argmin(np.abs(overlap - OVERLAP))) + 1
    return (0, idx) if h < w else (idx, 0)


def _starts(length: int, side: int, count: int) -> np.ndarray:
    half = np.floor(side / 2 - 1)
    step = (length - side) / (count - 1) if count > 1 else 0.0
    return np.floor(half + np.arange(count) * step) - half


def get_rmac_region_coordinates(height: int, width: int, levels: int) -> np.ndarray:
    """R x 4 float32 array of (x, y, w, h) regions; L=0 gives the whole image (MAC)."""
    if height <= 0 or width <= 0:
        raise ValueError(f"region grid: image size must be positive, got {height}x{width}")
    if levels < 0:
        raise ValueError(f"region grid: L must be >= 0, got {levels}")
    if levels == 0:
        return np.array([[0, 0, width, height]], dtype=np.float32)
    hd, wd = _extra_regions(height, width)
    side_min = min(height, width)
    regions = []
    for level in range(1, levels + 1):
        side = int(np.floor(2 * side_min / (level + 1)))
        xs = _starts(width, side, level + wd)
        ys = _starts(height, side, level + hd)
        for y in ys:
            for x in xs:
                regions.append((x, y, side, side))
    out = np.round(np.asarray(regions, dtype=np.float64))
    # Regions that stick out past the border are shifted back inside.
    over_x = out[:, 0] + out[:, 2] - width
    out[over_x > 0, 0] -= over_x[over_x > 0]
    over_y = out[:, 1] + out[:, 3] - height
    out[over_y > 0, 1] -= over_y[over_y > 0]
    return out.astype(np.float32)


def pack_regions_for_network(all_regions: Sequence[np.ndarray]) -> np.ndarray:
    """Caffe `rois` rows (batch_index, x1, y1, x2, y2), inclusive ends, one array per image."""
    rows = []
    for index, regions in enumerate(all_regions):
        regions = np.asarray(regions, dtype=np.float32).reshape(-1, 4)
        packed = np.empty((len(regions), 5), dtype=np.float32)
        packed[:, 0] = index
        packed[:, 1] = regions[:, 0]
        packed[:, 2] = regions[:, 1]
        packed[:, 3] = regions[:, 0] + regions[:, 2] - 1
        packed[:, 4] = regions[:, 1] + regions[:, 3] - 1
        rows.append(packed)
    if not rows:
        return np.zeros((0, 5), dtype=np.float32)
    return np.concatenate(rows)


def rmac_rois(height: int, width: int, levels: int, batch_size: int = 1) -> np.ndarray:
    """`rois` for a batch of equally sized images: the grid repeated per batch index."""
    grid = get_rmac_region_coordinates(height, width, levels)
    return pack_regions_for_network([grid] * batch_size)
