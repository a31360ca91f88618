"""RootSIFT as 128 sign bits whose mirror image is known exactly: the local features verification stores.

The SIFT descriptor of a horizontally mirrored image is a fixed permutation of the original's
(verify.MIRROR_PERMUTATION, an involution without fixed points: 64 pairs of bins swap). So each pair (i, j)
gives one coordinate the mirror keeps, (d_i + d_j) / sqrt(2), and one it negates, (d_i - d_j) / sqrt(2). The
bits are the signs of rotations of each half (principal directions learned on training photos:
build/rootsift_basis.py writes rootsift_bits.npz), the kept half centred on its mean. A mirrored keypoint's bits
are then the original bits with the second half inverted (MIRROR_MASK): mirrored matching needs no second
descriptor. Chosen on the validation split (bench/compact_features_study.py): at 128 keypoints, 18 bytes each
with positions, copy recall 0.926 and shared-template false merges 0.766, against 0.918 and 0.791 for 256
keypoints of 128 RootSIFT bytes (33 KB a row).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np

BITS = 128
BYTES = BITS // 8
BASIS_FILE = Path(__file__).with_name("rootsift_bits.npz")
_GRID = np.arange(128).reshape(4, 4, 8)
# Descriptor permutation of a horizontally mirrored image (OpenCV's 4x4 grid x 8 orientation bins).
MIRROR_PERMUTATION = _GRID[::-1][:, :, (-np.arange(8)) % 8].reshape(-1)
FIRST = np.flatnonzero(MIRROR_PERMUTATION > np.arange(128))  # one bin of each swapped pair
SECOND = MIRROR_PERMUTATION[FIRST]
# bits of a mirrored keypoint = bits XOR this (packed): the antisymmetric half flips sign
MIRROR_MASK = np.packbits(np.r_[np.zeros(len(FIRST), bool), np.ones(len(FIRST), bool)])


def pair_coordinates(root: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mirror-kept, mirror-negated) coordinates of descriptors (n x 128), each n x 64; exact: the negated
    half of a mirrored descriptor is exactly the negation of the original's."""
    a, b = root[:, FIRST], root[:, SECOND]
    return (a + b) * np.float32(0.5**0.5), (a - b) * np.float32(0.5**0.5)


@cache
def basis() -> dict[str, np.ndarray]:
    """The learned projection: 'mean' of the kept half, 'symmetric' and 'antisymmetric' rotations (64 x 64,
    rows are directions)."""
    with np.load(BASIS_FILE) as data:
        return {key: data[key].astype(np.float32) for key in ("mean", "symmetric", "antisymmetric")}


@cache
def basis_digest() -> str:
    """Short digest of the basis: features computed with another basis are other features ('none' before
    build/rootsift_basis.py first wrote it)."""
    if not BASIS_FILE.exists():
        return "none"
    digest = hashlib.sha256()
    for key, value in sorted(basis().items()):
        digest.update(key.encode() + np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()[:8]


def projections(root: np.ndarray) -> np.ndarray:
    """n x 128 float32 projections of RootSIFT descriptors (unit L2 rows); the bits are their signs."""
    b = basis()
    kept, negated = pair_coordinates(np.asarray(root, np.float32))
    # einsum's own loops, not BLAS: at embed time BLAS threads woken for these small products keep spinning and
    # slow the SIFT of the next row (measured: 64 ms a row with matmul, 56 ms with einsum, the same bits)
    return np.concatenate([np.einsum("ij,kj->ik", kept - b["mean"], b["symmetric"]),
                           np.einsum("ij,kj->ik", negated, b["antisymmetric"])], axis=1)


def binarize(root: np.ndarray) -> np.ndarray:
    """n x 16 uint8 packed sign bits of RootSIFT descriptors."""
    return np.packbits(projections(root) > 0, axis=1)


def signs(bits: np.ndarray) -> np.ndarray:
    """Packed bits as n x 128 float32 of +1 / -1: the dot product of two rows is BITS - 2 x Hamming distance."""
    return np.unpackbits(bits, axis=1).astype(np.float32) * 2 - 1


def hamming(bits_a: np.ndarray, bits_b: np.ndarray) -> np.ndarray:
    """len(a) x len(b) Hamming distances of packed bits, as float32 (exact integers)."""
    return (BITS - signs(bits_a) @ signs(bits_b).T) / 2
