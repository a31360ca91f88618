"""How small can verification's local features get? Candidate formats measured on the VALIDATION split only.

The scale issue asks for at most about 2 KB of local features a row (today 256 keypoints x 132 bytes = 33.8 KB).
Keypoints are chosen as `embed` chooses them (pool/verify.py: spread over a 4 x 4 grid), then stored as:

* `uint8`: RootSIFT bytes as today (128 B a keypoint);
* `pcaD`: RootSIFT projected on its first D principal directions (learned on TRAINING photos' keypoints),
  one signed byte each (D B);
* `bitsD`: the signs of those D projections, matched by Hamming distance (D / 8 B);

plus 4 bytes of position (2 when quantised to 1/256 of the long side, which costs at most 1 pixel at 512).
The matching is verify's (Lowe's ratio test 0.8 on the distances, RANSAC similarity, mirror-aware; here the
mirrored descriptors are projected from the uncompressed ones, which flatters mirrored copies a little). For each
format: bytes a row and, at the inlier count that 0.5 % of the unrelated pairs reach, the recall of each kind of
copy and the false merges of each shared overlay template (as bench/keypoint_study.py).

    .venv/bin/python bench/compact_features_study.py [--formats 256:uint8 128:uint8 128:pca32 128:bits128]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from keypoint_study import PLAIN_PAIRS, SEED, build_items  # noqa: E402

from myPython.pool import verify  # noqa: E402

TRAIN_PHOTOS = 60  # training photos whose keypoints learn the projection


def learn_projection(count: int = TRAIN_PHOTOS) -> tuple[np.ndarray, np.ndarray]:
    """(mean, principal directions as rows, largest first) of RootSIFT on training photos."""
    from myPython.common.images import load_image
    from myPython.datasets import sources

    rows = []
    for photo in sources.photos("train")[:count]:
        desc, _ = verify.unpack(verify.local_features(load_image(photo.path)))
        rows.append(desc)
    x = np.concatenate(rows).astype(np.float64)
    mean = x.mean(0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt


def encode(desc: np.ndarray, kind: str, projection: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Descriptors in the format `kind`, as float32 rows whose squared L2 distance is the format's distance."""
    if kind == "uint8":
        return desc
    mean, vt = projection
    dims = int(kind[4:]) if kind.startswith("bits") else int(kind[3:])
    z = (desc - mean) @ vt[:dims].T
    if kind.startswith("bits"):
        return (z > 0).astype(np.float32)  # squared L2 of 0/1 vectors = Hamming distance
    scale = 127 / 180.0  # RootSIFT bytes are at most 255 per entry; projections stay within about +-180
    return np.clip(np.round(z * scale), -127, 127).astype(np.float32)


def row_bytes(keypoints: int, kind: str, quantised_positions: bool) -> int:
    per = 128 if kind == "uint8" else int(kind[4:]) // 8 if kind.startswith("bits") else int(kind[3:])
    return keypoints * (per + (2 if quantised_positions else 4))


def pair_inliers(a: tuple, b: tuple) -> int:
    """verify's matching on pre-encoded (descriptors, mirrored descriptors, positions)."""
    desc_a, _, pos_a = a
    desc_b, mirror_b, pos_b = b
    if len(desc_a) < 3 or len(desc_b) < 3:
        return 0
    distances = verify.squared_distances(desc_a, np.concatenate([desc_b, mirror_b]))
    direct = verify._consensus(*verify.ratio_matches(distances[:, : len(desc_b)]), pos_a, pos_b)
    flipped = verify._consensus(*verify.ratio_matches(distances[:, len(desc_b):]), pos_a,
                                pos_b * np.array([-1.0, 1.0], np.float32))
    return max(len(direct[0]), len(flipped[0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formats", nargs="+",
                        default=["256:uint8", "128:uint8", "128:pca64", "128:pca32", "128:bits256", "128:bits128",
                                 "96:bits128"], help="keypoints:format")
    parser.add_argument("--quantise-positions", action="store_true", help="positions in 1/256 of the long side")
    args = parser.parse_args()
    images, origins, kinds = build_items(np.random.default_rng(SEED))
    origins, kinds = np.array(origins), np.array(kinds)
    i, j = np.triu_indices(len(images), 1)
    same = origins[i] == origins[j]
    shared = (kinds[i] == kinds[j]) & np.char.startswith(kinds[i], "shared_") & ~same
    plain = ~same & ~shared
    plain[np.random.default_rng(SEED).permutation(np.flatnonzero(plain))[PLAIN_PAIRS:]] = False
    positive = same & (kinds[i] == "original")
    scored = np.flatnonzero(positive | shared | plain)
    projection = learn_projection()
    cache: dict[int, list] = {}
    print(f"{len(images)} validation items; {positive.sum()} copy pairs, {shared.sum()} shared-template pairs, "
          f"{plain.sum()} unrelated pairs (sampled); projection learned on {TRAIN_PHOTOS} training photos")
    for spec in args.formats:
        count, kind = spec.split(":")
        count = int(count)
        if count not in cache:
            cache[count] = [verify.unpack(verify.local_features(im, max_keypoints=count)) for im in images]
        encoded = []
        for desc, pos in cache[count]:
            if args.quantise_positions:
                pos = np.round(pos / verify.FEATURE_SIDE * 255) / 255 * verify.FEATURE_SIDE
            encoded.append((encode(desc, kind, projection), encode(desc[:, verify.MIRROR_PERMUTATION], kind,
                                                                   projection), pos.astype(np.float32)))
        inliers = np.zeros(len(i), np.int64)
        for k in scored:
            inliers[k] = pair_inliers(encoded[i[k]], encoded[j[k]])
        bar = np.quantile(inliers[plain], 0.995)
        copies = {name: np.mean(inliers[positive & (kinds[j] == name)] > bar)
                  for name in sorted(set(kinds[j][positive]))}
        merges = {name: np.mean(inliers[shared & (kinds[i] == name)] > bar) for name in sorted(set(kinds[i][shared]))}
        print(f"\n{spec}: {row_bytes(count, kind, args.quantise_positions)} B a row; unrelated 99.5 % quantile "
              f"{bar:.0f} inliers; copy recall mean {np.mean(list(copies.values())):.3f}, min "
              f"{min(copies.values()):.3f}; shared-template false merges mean {np.mean(list(merges.values())):.3f}")
        print("  copies: " + ", ".join(f"{k} {v:.2f}" for k, v in copies.items()))
        print("  false merges: " + ", ".join(f"{k} {v:.2f}" for k, v in merges.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
