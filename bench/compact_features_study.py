"""How small can verification's local features get? Candidate formats measured on the VALIDATION split only.

The scale issue asks for at most about 2 KB of local features a row (the first format: 256 keypoints x 132 bytes
= 33.8 KB). Keypoints are chosen as `embed` chooses them (pool/verify.py: spread over a 4 x 4 grid), then stored as:

* `uint8`: RootSIFT bytes as the first format (128 B a keypoint);
* `pcaD`: RootSIFT projected on its first D principal directions (learned on TRAINING photos' keypoints),
  one signed byte each (D B);
* `bitsD`: the signs of those D projections, matched by Hamming distance (D / 8 B);
* `mbits128-<pca|rand|pair>`: 128 sign bits whose mirror image is exact (pool/rootsift_bits.py): the 64
  mirror-kept and 64 mirror-negated coordinates rotated onto their principal directions (`pca`), a seeded random
  rotation (`rand`) or none (`pair`); mirrored bits are the bits XOR a mask;
* `stored`: what `embed` stores and `verify` matches today (the `mbits128-pca` choice), end to end;

plus 4 bytes of position (2 when quantised to 1/256 of the long side, which costs at most 1 pixel at 512).
The matching is verify's (Lowe's ratio test 0.8 on the distances, RANSAC similarity, mirror-aware; here the
mirrored descriptors are projected from the uncompressed ones, which flatters mirrored copies a little). For each
format: bytes a row and, at the inlier count that 0.5 % of the unrelated pairs reach, the recall of each kind of
copy and the false merges of each shared overlay template (as bench/keypoint_study.py).

    .venv/bin/python bench/compact_features_study.py [--quantise-positions] [--formats 256:uint8 128:stored]

Measured (validation, positions quantised): 256:uint8 recall 0.918, false merges 0.791 (33,280 B); 128:bits128
0.928 / 0.763; 128:mbits128-pca 0.926 / 0.766; -rand 0.916 / 0.754; -pair 0.913 / 0.729 (2,304 B each).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from keypoint_study import SEED, build_items, pair_labels  # noqa: E402

from myPython.pool import rootsift_bits, verify  # noqa: E402

TRAIN_PHOTOS = 60  # training photos whose keypoints learn the projection


def as_bytes(root: np.ndarray) -> np.ndarray:
    """RootSIFT as the bytes the first stored format held (x 512, rounded), as float32."""
    return np.clip(np.round(root * 512), 0, 255).astype(np.float32)


def squared_distances(desc_a: np.ndarray, desc_b: np.ndarray) -> np.ndarray:
    cross = desc_a @ desc_b.T
    return np.einsum("ij,ij->i", desc_a, desc_a)[:, None] + np.einsum("ij,ij->i", desc_b, desc_b)[None, :] - 2 * cross


def learn_projection(count: int = TRAIN_PHOTOS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, principal directions as rows, largest first, their variances) of RootSIFT on training photos."""
    from myPython.common.images import load_image
    from myPython.datasets import sources

    rows = []
    for photo in sources.photos("train")[:count]:
        rows.append(as_bytes(verify.describe(load_image(photo.path), max_keypoints=256)[0]))
    x = np.concatenate(rows).astype(np.float64)
    mean = x.mean(0)
    _, singular, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt, singular**2 / len(x)


def mirror_subspaces() -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases (columns) of the descriptors the mirror permutation keeps (symmetric) and negates
    (antisymmetric): it is an involution without fixed points, so each 2-cycle (i, j) gives one of each."""
    n = np.arange(len(rootsift_bits.FIRST))  # the swapped pairs (FIRST[n], SECOND[n]), as pool/rootsift_bits.py
    sym, anti = np.zeros((128, len(n))), np.zeros((128, len(n)))
    sym[rootsift_bits.FIRST, n] = anti[rootsift_bits.FIRST, n] = sym[rootsift_bits.SECOND, n] = 0.5**0.5
    anti[rootsift_bits.SECOND, n] = -(0.5**0.5)
    return sym, anti


def mirror_exact_basis(kind: str, projection: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(symmetrised mean, basis rows, mirror XOR mask) for `mbits128-<pca|rand|pair>`."""
    mean, vt = projection[:2]
    perm = verify.MIRROR_PERMUTATION
    mean = (mean + mean[perm]) / 2
    sym, anti = mirror_subspaces()
    style = kind.split("-")[1]
    bases, half = [], int(kind.split("-")[0][5:]) // 2  # mbitsD: the first D / 2 directions of each half
    for sub in (sym, anti):
        if style == "pair":
            rotation = np.eye(sub.shape[1])
        elif style == "rand":
            rotation = np.linalg.qr(np.random.default_rng(SEED).standard_normal((sub.shape[1],) * 2))[0]
        else:  # principal directions of the training covariance within the subspace
            covariance = (vt.T * projection[2]) @ vt
            values, vectors = np.linalg.eigh(sub.T @ covariance @ sub)
            rotation = vectors[:, ::-1]
        bases.append((sub @ rotation[:, :half]).T)
    mask = np.r_[np.zeros(half, bool), np.ones(half, bool)]
    return mean, np.concatenate(bases), mask


def encode(desc: np.ndarray, kind: str, projection: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Descriptors in the format `kind`, as float32 rows whose squared L2 distance is the format's distance."""
    if kind == "uint8":
        return desc
    mean, vt = projection[:2]
    dims = int(kind[4:]) if kind.startswith("bits") else int(kind[3:])
    z = (desc - mean) @ vt[:dims].T
    if kind.startswith("bits"):
        return (z > 0).astype(np.float32)  # squared L2 of 0/1 vectors = Hamming distance
    scale = 127 / 180.0  # RootSIFT bytes are at most 255 per entry; projections stay within about +-180
    return np.clip(np.round(z * scale), -127, 127).astype(np.float32)


def row_bytes(keypoints: int, kind: str, position_bytes: int) -> int:
    """Bytes a row: descriptors plus positions (position_bytes for both coordinates, 0: two float16)."""
    per = 128 if kind == "uint8" else int(kind.split("-")[0][5:]) / 8 if kind.startswith("mbits") else int(
        kind[4:]) // 8 if kind.startswith("bits") else int(kind[3:])
    return int(keypoints * (per + (position_bytes or 4)))


def pair_inliers(a: tuple, b: tuple) -> int:
    """verify's matching on pre-encoded (descriptors, mirrored descriptors, positions)."""
    desc_a, _, pos_a = a
    desc_b, mirror_b, pos_b = b
    if len(desc_a) < 3 or len(desc_b) < 3:
        return 0
    distances = squared_distances(desc_a, np.concatenate([desc_b, mirror_b]))
    direct = verify._consensus(*verify.ratio_matches(distances[:, : len(desc_b)]), pos_a, pos_b)
    flipped = verify._consensus(*verify.ratio_matches(distances[:, len(desc_b):]), pos_a,
                                pos_b * np.array([-1.0, 1.0], np.float32))
    return max(len(direct[0]), len(flipped[0]))


def report(spec: str, size: int, inliers: np.ndarray, plain: np.ndarray, positive: np.ndarray, shared: np.ndarray,
           kinds: np.ndarray, j: np.ndarray, i: np.ndarray) -> None:
    bar = np.quantile(inliers[plain], 0.995)
    copies = {name: np.mean(inliers[positive & (kinds[j] == name)] > bar) for name in sorted(set(kinds[j][positive]))}
    merges = {name: np.mean(inliers[shared & (kinds[i] == name)] > bar) for name in sorted(set(kinds[i][shared]))}
    print(f"\n{spec}: {size} B a row; unrelated 99.5 % quantile {bar:.0f} inliers; copy recall mean "
          f"{np.mean(list(copies.values())):.3f}, min {min(copies.values()):.3f}; shared-template false merges mean "
          f"{np.mean(list(merges.values())):.3f}; copies' median inliers {np.median(inliers[positive]):.0f}, recall "
          f"above 10 inliers {np.mean(inliers[positive] > 10):.3f}")
    print("  copies: " + ", ".join(f"{k} {v:.2f}" for k, v in copies.items()))
    print("  false merges: " + ", ".join(f"{k} {v:.2f}" for k, v in merges.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formats", nargs="+",
                        default=["256:uint8", "128:uint8", "128:pca64", "128:pca32", "128:bits256", "128:bits128",
                                 "96:bits128"], help="keypoints:format")
    parser.add_argument("--quantise-positions", action="store_true", help="positions in 1/256 of the long side")
    parser.add_argument("--position-steps", type=int, default=0,
                        help="positions in 1/STEPS of the long side (255: one byte each, 4095: 12 bits each)")
    args = parser.parse_args()
    images, origins, kinds = build_items(np.random.default_rng(SEED))
    i, j, positive, shared, plain = pair_labels(origins, kinds)
    origins, kinds = np.array(origins), np.array(kinds)
    scored = np.flatnonzero(positive | shared | plain)
    projection = learn_projection()
    steps = args.position_steps or (255 if args.quantise_positions else 0)
    position_bytes = 0 if not steps else 2 if steps < 256 else 3  # both coordinates
    cache: dict[int, list] = {}
    print(f"{len(images)} validation items; {positive.sum()} copy pairs, {shared.sum()} shared-template pairs, "
          f"{plain.sum()} unrelated pairs (sampled); projection learned on {TRAIN_PHOTOS} training photos")
    for spec in args.formats:
        count, kind = spec.split(":")
        count = int(count)
        if count not in cache:
            cache[count] = [(as_bytes(root), pos * verify.FEATURE_SIDE)
                            for root, pos in (verify.describe(im, max_keypoints=count) for im in images)]
        if kind == "stored":  # what verify stores and matches (pool/rootsift_bits.py), end to end
            stored = [verify.local_features(im, max_keypoints=count) for im in images]
            inliers = np.zeros(len(i), np.int64)
            for k in scored:
                inliers[k] = verify.verify(stored[i[k]], stored[j[k]]).inliers
            size = verify.MAX_KEYPOINTS * verify.BYTES_PER_KEYPOINT
            report(spec, size, inliers, plain, positive, shared, kinds, j, i)
            continue
        encoded = []
        if kind.startswith("mbits"):
            mean, basis, mask = mirror_exact_basis(kind, projection)
        for desc, pos in cache[count]:
            if steps:
                pos = np.round(pos / verify.FEATURE_SIDE * steps) / steps * verify.FEATURE_SIDE
            if kind.startswith("mbits"):  # mirrored bits are the bits XOR the mask: exact, nothing recomputed
                bits = (desc - mean) @ basis.T > 0
                encoded.append((bits.astype(np.float32), (bits ^ mask).astype(np.float32), pos.astype(np.float32)))
                continue
            encoded.append((encode(desc, kind, projection), encode(desc[:, verify.MIRROR_PERMUTATION], kind,
                                                                   projection), pos.astype(np.float32)))
        inliers = np.zeros(len(i), np.int64)
        for k in scored:
            inliers[k] = pair_inliers(encoded[i[k]], encoded[j[k]])
        report(spec, row_bytes(count, kind, position_bytes), inliers, plain, positive, shared, kinds, j, i)
    return 0


if __name__ == "__main__":
    sys.exit(main())
