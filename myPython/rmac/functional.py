"""Functional maths on descriptors (numpy only): normalisation and friends, in one place."""

from __future__ import annotations

import numpy as np


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, eps)


def round_half_away(v: np.ndarray) -> np.ndarray:
    return np.sign(v) * np.floor(np.abs(v) + 0.5)  # C round(): half away from zero


def roi_max_pool(features: np.ndarray, rois: np.ndarray, scale: float) -> np.ndarray:
    """Fast-RCNN ROIPooling with one bin: C x H x W map, R x 4 (x1, y1, x2, y2) boxes -> R x C maxima."""
    c, h, w = features.shape
    out = np.zeros((len(rois), c), dtype=np.float32)
    for r, (x1, y1, x2, y2) in enumerate(round_half_away(np.asarray(rois, np.float64) * scale).astype(int)):
        xs, ys = min(max(x1, 0), w), min(max(y1, 0), h)
        xe = min(max(x1 + max(x2 - x1 + 1, 1), 0), w)
        ye = min(max(y1 + max(y2 - y1 + 1, 1), 0), h)
        if xe > xs and ye > ys:
            out[r] = features[:, ys:ye, xs:xe].reshape(c, -1).max(axis=1)
    return out
