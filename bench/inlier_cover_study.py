"""Do a pair's inliers cover what the two images share? Measured on the VALIDATION split only.

Two different photos under one app chrome, watermark or sticker match on the overlay: their inliers sit on the
chrome's bands or on the sticker's few cells, while the picture between them, which holds keypoints in both
images, has none. A copy, even a poor one (heavy JPEG, a thumbnail), keeps inliers spread over the picture they
share. For each verified pair (the items of bench/keypoint_study.py): the similarity the inliers fit; the
keypoints of each image that land inside the other under it (the overlap); over a grid x grid partition of the
overlap's bounding box, the share of the cells holding overlap keypoints that also hold an inlier (the cover,
the smaller of the two images'). Printed per kind: the cover's quantiles over the pairs with at least 10 inliers.

Result (the fourth build's stored features, grid 4): no. Two photos under one framed chrome cover 0.69 / 0.69 /
0.73 (10th, 50th, 90th percentile), under one overlaid chrome 0.53 / 0.56 / 0.67: the chrome fills most cells of
the frame, and the picture between the bands is a few. A photo against its own copy under those templates covers
0.33 / 0.50 / 0.64, heavy JPEG 0.55 / 0.93 / 1.00, picture-in-picture 0.38 / 0.50 / 0.84. Stickers (0.20) and
watermarks (0.11) do separate, but shared_content.py already takes those out in a pool. Not used.

    .venv/bin/python bench/inlier_cover_study.py [--grid 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from keypoint_study import SEED, build_items, pair_labels  # noqa: E402

from myPython.pool.verify import Verified, local_features, unpack, verify  # noqa: E402


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2 x 3 least-squares similarity (rotation, uniform scale, shift) taking src onto dst."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    denom = max(float((s**2).sum()), 1e-12)
    a = float((s * d).sum()) / denom
    b = float((s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()) / denom
    rot = np.array([[a, -b], [b, a]])
    return np.hstack([rot, (md - rot @ ms)[:, None]])


def _side_cover(points: np.ndarray, mapped: np.ndarray, other: np.ndarray, inlier: np.ndarray, grid: int) -> float:
    inside = ((mapped >= other.min(0)) & (mapped <= other.max(0))).all(1)
    inside[inlier] = True
    low, high = points[inside].min(0), points[inside].max(0)
    cells = np.minimum(((points - low) / np.maximum(high - low, 1e-6) * grid).astype(int), grid - 1)
    cell = cells[:, 1] * grid + cells[:, 0]
    occupied = np.unique(cell[inside])
    return len(np.unique(cell[inlier])) / max(1, len(occupied))


def inlier_cover(fa: np.ndarray, fb: np.ndarray, v: Verified, grid: int) -> float:
    """The smaller of the two images' shares of overlap cells holding an inlier (0 without 3 inliers)."""
    if v.inliers < 3:
        return 0.0
    _, pa = unpack(fa)
    _, pb = unpack(fb)
    qb = pb * np.array([-1.0, 1.0], np.float32) if v.mirrored else pb
    ab = similarity(pa[v.keypoints_a], qb[v.keypoints_b])
    ba = similarity(qb[v.keypoints_b], pa[v.keypoints_a])
    cover_a = _side_cover(pa, pa @ ab[:, :2].T + ab[:, 2], qb, v.keypoints_a, grid)
    cover_b = _side_cover(qb, qb @ ba[:, :2].T + ba[:, 2], pa, v.keypoints_b, grid)
    return min(cover_a, cover_b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=4)
    args = parser.parse_args()
    images, origins, kinds = build_items(np.random.default_rng(SEED))
    i, j, positive, shared, plain = pair_labels(origins, kinds)
    origins, kinds = np.array(origins), np.array(kinds)
    feats = [local_features(image) for image in images]
    picked = np.flatnonzero(positive | shared | plain)
    inliers = np.zeros(len(i))
    cover = np.zeros(len(i))
    for k in picked:
        v = verify(feats[i[k]], feats[j[k]])
        inliers[k] = v.inliers
        cover[k] = inlier_cover(feats[i[k]], feats[j[k]], v, args.grid)
    groups = {f"copy  {kind}": positive & (kinds[j] == kind) for kind in sorted(set(kinds[j][positive]))}
    groups |= {f"false {kind}": shared & (kinds[i] == kind) for kind in sorted(set(kinds[i][shared]))}
    groups["unrelated"] = plain
    print(f"{len(images)} items; {positive.sum()} copy pairs, {shared.sum()} shared-template pairs, "
          f"{plain.sum()} unrelated pairs; grid {args.grid}")
    print("cover quantiles 10/50/90 (pairs with >= 10 inliers)")
    for name, pick in groups.items():
        strong = pick & (inliers >= 10)
        q = np.round(np.percentile(cover[strong], [10, 50, 90]), 2) if strong.any() else "-"
        print(f"  {name:34s} n {pick.sum():5d}  >=10 inliers {strong.sum():5d}  cover {q}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
