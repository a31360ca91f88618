"""Geometric verification of candidate pairs: RootSIFT bits, ratio test, RANSAC similarity, mirror-aware.

Each image (or frame) gets at most MAX_KEYPOINTS RootSIFT features computed on its grey version with
the long side resized to FEATURE_SIDE (one SIFT pass detects and describes DETECT_FACTOR times as many), spread
over the picture (`balanced_order`: on the validation split, spreading them over a 4 x 4 grid took the recall of
photos under app chrome from 0.39 to 0.92 and cut the watermark template's false merges from 0.71 to 0.29, with
the other copies unchanged; bench/keypoint_study.py),
stored compactly: one uint8 row of 18 bytes per keypoint (the descriptor's 128 sign bits, pool/rootsift_bits.py,
then x and y in 1/POSITION_STEPS of the long side), padded with NO_KEYPOINT positions to a fixed count so that a
shard's features are one memory-mapped (rows, MAX_KEYPOINTS, 18) array: 2304 bytes a row.

A pair is verified by matching A against B and against B mirrored (a mirrored keypoint's bits are its bits XOR
rootsift_bits.MIRROR_MASK; the x coordinates change sign), keeping nearest neighbours by Hamming distance that
pass Lowe's ratio test, and counting the inliers of a RANSAC similarity transform (rotation, uniform scale,
translation). Copies keep most matches on one transform; different photos of a similar scene rarely do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from myPython.pool import rootsift_bits

# Long side of the image features are computed on (small copies are upsampled). 384 rather than 512: on the
# validation split as good (copy recall at the unrelated pairs' 0.5 % bar 0.941 against 0.924, the same false merges
# of shared templates) for 0.62-0.65 of the time (bench/embed_levers_study.py).
FEATURE_SIDE = 384
# 128 keypoints of 128 bits: on the validation split as good as 256 keypoints of RootSIFT bytes at 7 % of the
# bytes (pool/rootsift_bits.py).
MAX_KEYPOINTS = 128
# Half OpenCV's default contrast threshold: dark and low-contrast images keep enough keypoints. Chosen on
# the validation split (positive pairs above the negatives' 99.5 % quantile of inliers: 0.811 -> 0.851;
# a long side of 768 lost, 0.768; 512 keypoints gained 0.009 for twice the storage).
CONTRAST_THRESHOLD = 0.02
SELECTION_GRID = 4  # keypoints kept are spread over a 4 x 4 grid (balanced_order)
DETECT_FACTOR = 4  # keypoints detected (and described) per keypoint kept, so that weak cells have some to give
POSITION_STEPS = 254  # positions stored as round(254 x position / long side): within 0.76 pixel at 384
NO_KEYPOINT = 255  # the x byte of padding rows
BYTES_PER_KEYPOINT = rootsift_bits.BYTES + 2
RATIO = 0.8  # Lowe's ratio test (on the Euclidean distance of 0/1 bit vectors: the square root of Hamming's)
RANSAC_PIXELS = 3.0  # reprojection error allowed, in pixels at FEATURE_SIDE (copies are exact transforms)
MIN_SCALE, MAX_SCALE = 0.2, 5.0  # similarity scales outside this range are not copies
# Names the features a store holds (its meta "local_features"): other values mean other features.
FEATURES_VERSION = (f"rootsift-bits{rootsift_bits.BITS}-{rootsift_bits.basis_digest()}-{FEATURE_SIDE}-{MAX_KEYPOINTS}"
                    f"-{CONTRAST_THRESHOLD}-grid{SELECTION_GRID}")
MIRROR_PERMUTATION = rootsift_bits.MIRROR_PERMUTATION


def balanced_order(points: np.ndarray, response: np.ndarray, size: tuple[int, int], grid: int) -> np.ndarray:
    """Keypoint indices, strongest of each cell of a grid x grid partition first, then each cell's second, ...

    Ranked by response alone, text and sharp graphics (app chrome, captions, watermarks) take the whole
    budget and the picture under them keeps few keypoints: the picture is what tells two posts apart.
    """
    order = np.argsort(-response, kind="stable")
    if grid <= 1:
        return order
    w, h = size
    cx = np.minimum((points[:, 0] * grid / max(w, 1)).astype(np.int64), grid - 1)
    cy = np.minimum((points[:, 1] * grid / max(h, 1)).astype(np.int64), grid - 1)
    cell = (cy * grid + cx)[order]
    rank = np.zeros(len(order), np.int64)  # rank of each keypoint within its cell, by response
    counts = np.zeros(grid * grid, np.int64)
    for n, c in enumerate(cell.tolist()):
        rank[n] = counts[c]
        counts[c] += 1
    return order[np.lexsort((np.arange(len(order)), rank))]


def describe(image: np.ndarray, *, max_keypoints: int = MAX_KEYPOINTS, grid: int = SELECTION_GRID,
             side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(RootSIFT descriptors n x 128 float32 with unit rows, positions n x 2 in units of the long side) of the
    at most `max_keypoints` keypoints of a BGR or grey uint8 image resized to a long side of `side` (default
    FEATURE_SIDE), chosen over a `grid` x `grid` partition by `balanced_order`."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    side = side or FEATURE_SIDE
    scale = side / max(grey.shape[:2])
    if scale != 1:
        grey = cv2.resize(grey, (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    # One pass: describing only the kept keypoints afterwards builds the scale pyramid a second time.
    sift = cv2.SIFT_create(nfeatures=DETECT_FACTOR * max_keypoints, contrastThreshold=CONTRAST_THRESHOLD)
    keypoints, desc = sift.detectAndCompute(grey, None)
    if not keypoints or desc is None or not len(desc):
        return np.zeros((0, 128), np.float32), np.zeros((0, 2), np.float32)
    points = np.array([k.pt for k in keypoints], np.float32)
    response = np.array([k.response for k in keypoints], np.float32)
    chosen = balanced_order(points, response, (grey.shape[1], grey.shape[0]), grid)[:max_keypoints]
    kept = desc[chosen].astype(np.float32)
    root = np.sqrt(kept / np.maximum(kept.sum(axis=1, keepdims=True), 1e-7))  # RootSIFT, unit L2 norm
    return root, points[chosen] / side


def pack(root: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(MAX_KEYPOINTS, BYTES_PER_KEYPOINT) uint8 stored features of at most MAX_KEYPOINTS RootSIFT descriptors
    (unit rows) at `positions` (units of the long side, within [0, 1])."""
    n = len(root)
    if n > MAX_KEYPOINTS:
        raise ValueError(f"{n} keypoints, at most {MAX_KEYPOINTS} are stored")
    packed = np.zeros((MAX_KEYPOINTS, BYTES_PER_KEYPOINT), np.uint8)
    packed[n:, rootsift_bits.BYTES] = NO_KEYPOINT
    if n:
        packed[:n, : rootsift_bits.BYTES] = rootsift_bits.binarize(root)
        packed[:n, rootsift_bits.BYTES :] = np.clip(np.rint(np.asarray(positions, np.float64) * POSITION_STEPS),
                                                   0, POSITION_STEPS)
    return packed


def local_features(image: np.ndarray, *, max_keypoints: int = MAX_KEYPOINTS, grid: int = SELECTION_GRID
                   ) -> np.ndarray:
    """(MAX_KEYPOINTS, BYTES_PER_KEYPOINT) uint8 stored features of a BGR or grey uint8 image (`describe`)."""
    return pack(*describe(image, max_keypoints=max_keypoints, grid=grid))


def unpack(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(packed bits n x 16 uint8, positions n x 2 float32 in FEATURE_SIDE pixels) of the real keypoints."""
    packed = np.asarray(packed)
    valid = packed[:, rootsift_bits.BYTES] != NO_KEYPOINT
    positions = packed[valid, rootsift_bits.BYTES :].astype(np.float32) * np.float32(FEATURE_SIDE / POSITION_STEPS)
    return np.ascontiguousarray(packed[valid, : rootsift_bits.BYTES]), positions


def ratio_matches(distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A index, B index) of the nearest neighbours that pass Lowe's ratio test (nearer than RATIO x the second
    nearest), from squared distances: what OpenCV's brute-force L2 matcher with k = 2 keeps, in one pass."""
    if distances.shape[1] < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows = np.arange(len(distances))
    nearest = np.argmin(distances, axis=1)
    first = distances[rows, nearest]
    rest = distances.copy()
    rest[rows, nearest] = np.inf
    keep = first < RATIO**2 * rest.min(axis=1)
    return np.flatnonzero(keep).astype(np.int64), nearest[keep].astype(np.int64)


def _consensus(index_a: np.ndarray, index_b: np.ndarray, pos_a: np.ndarray, pos_b: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """The matches (index_a[k], index_b[k]) that are inliers of the RANSAC similarity between A and B."""
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if len(index_a) < 3:
        return none
    matrix, mask = cv2.estimateAffinePartial2D(pos_a[index_a], pos_b[index_b], method=cv2.RANSAC,
                                               ransacReprojThreshold=RANSAC_PIXELS, maxIters=500, confidence=0.995)
    if matrix is None or mask is None:
        return none
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    if not MIN_SCALE <= scale <= MAX_SCALE:
        return none
    keep = mask.ravel().astype(bool)
    return index_a[keep], index_b[keep]


@dataclass
class Verified:
    inliers: int
    mirrored: bool
    # which keypoints are the inliers: rows of A's and of B's packed features (pool/video_match.py's motion test)
    keypoints_a: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keypoints_b: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def verify(packed_a: np.ndarray, packed_b: np.ndarray) -> Verified:
    """Inliers of the best similarity between A and B, or A and B mirrored (whichever has more)."""
    bits_a, pos_a = unpack(packed_a)
    bits_b, pos_b = unpack(packed_b)
    if len(bits_a) < 3 or len(bits_b) < 3:
        return Verified(0, False)
    # B and B mirrored in one matrix product; Hamming distances are the squared distances of 0/1 vectors
    distances = rootsift_bits.hamming(bits_a, np.concatenate([bits_b, bits_b ^ rootsift_bits.MIRROR_MASK]))
    direct = _consensus(*ratio_matches(distances[:, : len(bits_b)]), pos_a, pos_b)
    mirrored = _consensus(*ratio_matches(distances[:, len(bits_b):]), pos_a, pos_b * np.array([-1.0, 1.0], np.float32))
    flip = len(mirrored[0]) > len(direct[0])
    a, b = mirrored if flip else direct
    return Verified(len(a), flip, a, b)
