"""Learn the binary RootSIFT projection of pool/rootsift_bits.py from TRAINING photos and write rootsift_bits.npz.

The keypoints are those verification keeps (pool/verify.py `describe`) on the first TRAIN_PHOTOS training photos,
counted with their mirror images (so the kept half's mean is mirror-symmetric and the negated half's is zero).
Each half is rotated onto its principal directions, largest variance first, each direction's sign fixed so
that its largest entry is positive: the same photos give the same file on any machine up to float rounding.
The file is committed (stores made on different machines must hold comparable bits); tests/test_rootsift_bits.py
learns it again and checks the bits agree.

    .venv/bin/python -m myPython.build.rootsift_basis [--out myPython/pool/rootsift_bits.npz]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

TRAIN_PHOTOS = 60
# The long side the committed basis was learned at: verification's features were computed at 512 then. It is kept
# at FEATURE_SIDE 384: the descriptors' statistics hardly depend on the side, and bench/embed_levers_study.py
# measured these bits at 384 (copy recall as good as at 512 on the validation split).
BASIS_SIDE = 512


def training_descriptors(count: int = TRAIN_PHOTOS) -> np.ndarray:
    """RootSIFT descriptors (unit rows) of the keypoints verification keeps on the first `count` training photos."""
    from myPython.common.images import load_image
    from myPython.datasets import sources
    from myPython.pool.verify import describe

    return np.concatenate([describe(load_image(photo.path), side=BASIS_SIDE)[0]
                           for photo in sources.photos("train")[:count]])


def _principal_rotation(covariance: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(covariance)
    rows = vectors[:, np.argsort(-values, kind="stable")].T
    signs = np.sign(rows[np.arange(len(rows)), np.argmax(np.abs(rows), axis=1)])
    return rows * signs[:, None]


def learn(root: np.ndarray) -> dict[str, np.ndarray]:
    """The basis arrays of pool/rootsift_bits.py from RootSIFT descriptors (n x 128)."""
    from myPython.pool.rootsift_bits import pair_coordinates

    kept, negated = pair_coordinates(np.asarray(root, np.float64))
    mean = kept.mean(axis=0)  # a mirrored descriptor has the same kept half: counting mirrors changes nothing
    centred = kept - mean
    return {"mean": mean.astype(np.float32),
            "symmetric": _principal_rotation(centred.T @ centred / len(kept)).astype(np.float32),
            # with the mirrors counted the negated half has mean zero and this covariance
            "antisymmetric": _principal_rotation(negated.T @ negated / len(kept)).astype(np.float32)}


def main(argv: list[str] | None = None) -> int:
    from myPython.common.fileio import atomic_write_bytes
    from myPython.pool.rootsift_bits import BASIS_FILE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BASIS_FILE)
    args = parser.parse_args(argv)
    buffer = io.BytesIO()
    np.savez(buffer, **learn(training_descriptors()))
    atomic_write_bytes(args.out, buffer.getvalue())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
