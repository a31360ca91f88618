"""Can one pair's geometry tell a shared overlay from a copy? Measured on the VALIDATION split only.

For the items of bench/keypoint_study.py (validation photos, their copies and the shared overlay templates), each
verified pair's similarity transform (the identity: scale within 2 %, shift under 2 % of the side) and its inlier
share (inliers over the keypoints that fall inside the other image under the transform), by kind. The answer so
far: no. Two photos under one app chrome align by the identity with 55-62 % of their keypoints as inliers, while
identity-aligned true copies under heavy JPEG, blur or thumbnails keep 31-45 %.

    .venv/bin/python bench/overlay_layout_study.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from keypoint_study import SEED, build_items  # noqa: E402

from myPython.pool.verify import local_features, unpack, verify  # noqa: E402

UNRELATED = 3000  # unrelated pairs sampled
MIRROR = np.array([-1.0, 1.0], np.float32)


def pair_geometry(fa: np.ndarray, fb: np.ndarray) -> tuple[int, float, float, float]:
    """(inliers, scale, shift as a share of the side, inlier share); NaN where no transform was found."""
    v = verify(fa, fb)
    _, pa = unpack(fa)
    _, pb = unpack(fb)
    if v.inliers < 4:
        return v.inliers, np.nan, np.nan, np.nan
    qb = pb * MIRROR if v.mirrored else pb
    m, _ = cv2.estimateAffinePartial2D(pa[v.keypoints_a], qb[v.keypoints_b], method=cv2.LMEDS)
    if m is None:
        return v.inliers, np.nan, np.nan, np.nan
    a_in_b = pa @ m[:, :2].T + m[:, 2]
    b_in_a = qb @ cv2.invertAffineTransform(m)[:, :2].T + cv2.invertAffineTransform(m)[:, 2]
    inside_a = ((a_in_b >= qb.min(0)) & (a_in_b <= qb.max(0))).all(1).sum()
    inside_b = ((b_in_a >= pa.min(0)) & (b_in_a <= pa.max(0))).all(1).sum()
    scale, shift = float(np.hypot(m[0, 0], m[1, 0])), float(np.hypot(*m[:, 2])) / 512
    return v.inliers, scale, shift, v.inliers / max(1, min(inside_a, inside_b))


def quantiles(values: np.ndarray, qs: list[int]) -> str:
    return str(np.round(np.percentile(values, qs), 2)) if len(values) else "-"


def main() -> int:
    images, origins, kinds = build_items(np.random.default_rng(SEED))
    origins, kinds = np.array(origins), np.array(kinds)
    feats = [local_features(image) for image in images]
    i, j = np.triu_indices(len(images), 1)
    same = origins[i] == origins[j]
    shared = (kinds[i] == kinds[j]) & np.char.startswith(kinds[i], "shared_") & ~same
    positive = same & (kinds[i] == "original")
    plain = ~same & ~shared
    plain[np.random.default_rng(1).permutation(np.flatnonzero(plain))[UNRELATED:]] = False
    rows: dict[str, list] = {}
    for k in np.flatnonzero(positive | shared | plain):
        key = f"copy {kinds[j[k]]}" if positive[k] else f"false {kinds[i[k]]}" if shared[k] else "unrelated"
        rows.setdefault(key, []).append(pair_geometry(feats[i[k]], feats[j[k]]))
    for key in sorted(rows):
        x = np.array(rows[key], float)
        found = ~np.isnan(x[:, 1])
        identity = found & (np.abs(x[:, 1] - 1) < 0.02) & (x[:, 2] < 0.02)
        other = found & ~identity & (x[:, 0] >= 10)
        print(f"{key:34s} n {len(x):4d}  inliers median {np.median(x[:, 0]):5.0f}  identity {identity.mean():.2f}  "
              f"share if identity q10/50/90 {quantiles(x[identity, 3], [10, 50, 90])}  "
              f"otherwise q10/50 {quantiles(x[other, 3], [10, 50])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
