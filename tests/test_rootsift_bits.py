"""The stored local features: RootSIFT sign bits with an exact mirror image, quantised positions, the layout."""

from __future__ import annotations

import numpy as np
import pytest

from myPython.common import assets
from myPython.common.images import load_image
from myPython.datasets import edits
from myPython.errors import StoreError
from myPython.pool import rootsift_bits as rb
from myPython.pool import verify as v


@pytest.fixture(scope="module")
def photo_descriptors() -> tuple[np.ndarray, np.ndarray]:
    """(RootSIFT, positions) of the keypoints verification keeps on a few scikit-image photos."""
    parts = [v.describe(load_image(p)) for p in assets.skimage_photos(["astronaut.png", "coffee.png", "rocket.jpg"])]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def test_the_basis_is_two_rotations_and_the_mask_flips_the_negated_half():
    basis = rb.basis()
    for name in ("symmetric", "antisymmetric"):
        rotation = basis[name].astype(np.float64)
        assert rotation.shape == (64, 64)
        assert np.allclose(rotation @ rotation.T, np.eye(64), atol=1e-5)
    assert np.array_equal(np.unpackbits(rb.MIRROR_MASK), np.r_[np.zeros(64), np.ones(64)].astype(np.uint8))
    perm = rb.MIRROR_PERMUTATION
    assert np.array_equal(perm[perm], np.arange(128)) and not np.any(perm == np.arange(128))  # 64 swapped pairs
    assert sorted(np.r_[rb.FIRST, rb.SECOND].tolist()) == list(range(128))


def test_a_mirrored_descriptor_has_the_bits_xor_the_mask(photo_descriptors):
    root = photo_descriptors[0]
    z, z_mirrored = rb.projections(root), rb.projections(root[:, rb.MIRROR_PERMUTATION])
    assert np.allclose(z_mirrored[:, :64], z[:, :64], atol=1e-6)  # the kept half
    assert np.allclose(z_mirrored[:, 64:], -z[:, 64:], atol=1e-6)  # the negated half
    decided = np.abs(z) > 1e-5  # signs of projections this near 0 may round either way on another machine
    assert decided.mean() > 0.99
    bits = np.unpackbits(rb.binarize(root), axis=1)
    mirrored_bits = np.unpackbits(rb.binarize(root[:, rb.MIRROR_PERMUTATION]), axis=1)
    assert np.array_equal(mirrored_bits[decided], (bits ^ np.unpackbits(rb.MIRROR_MASK))[decided])
    assert 0.35 < np.unpackbits(rb.binarize(root)).mean() < 0.65  # centred signs: about half the bits set


def test_hamming_distances_are_popcounts():
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 256, (7, 16), dtype=np.uint8), rng.integers(0, 256, (9, 16), dtype=np.uint8)
    reference = np.bitwise_count(a[:, None, :] ^ b[None, :, :]).sum(axis=2)
    assert np.array_equal(rb.hamming(a, b), reference)


def test_packing_keeps_positions_within_a_pixel_and_pads(photo_descriptors):
    root, positions = photo_descriptors[0][:100], photo_descriptors[1][:100]
    packed = v.pack(root, positions)
    assert packed.shape == (v.MAX_KEYPOINTS, v.BYTES_PER_KEYPOINT) == (128, 18) and packed.dtype == np.uint8
    bits, pixels = v.unpack(packed)
    assert np.array_equal(bits, rb.binarize(root))
    assert np.abs(pixels - positions * v.FEATURE_SIDE).max() <= v.FEATURE_SIDE / v.POSITION_STEPS / 2 + 1e-3
    assert (packed[100:, rb.BYTES] == v.NO_KEYPOINT).all() and not packed[100:, : rb.BYTES].any()
    assert len(v.unpack(v.pack(root[:0], positions[:0]))[0]) == 0
    with pytest.raises(ValueError, match="at most 128"):
        v.pack(np.ones((129, 128), np.float32), np.zeros((129, 2)))


def test_mirrored_and_cropped_copies_verify_and_another_photo_does_not():
    photo, other = (load_image(p) for p in assets.skimage_photos(["chelsea.png", "coffee.png"]))
    a = v.local_features(photo)
    mirrored, cropped = v.verify(a, v.local_features(edits.mirror(photo))), v.verify(a, v.local_features(
        edits.center_crop(photo, 0.7)))
    unrelated = v.verify(a, v.local_features(other))
    assert mirrored.mirrored and not cropped.mirrored
    assert min(mirrored.inliers, cropped.inliers) >= 4 * max(unrelated.inliers, 5)


def test_learning_again_on_the_training_photos_gives_the_committed_bits(photo_descriptors):
    """The committed basis is what build/rootsift_basis.py learns (up to float rounding of another machine)."""
    from myPython.build.rootsift_basis import learn, training_descriptors

    learned = learn(training_descriptors())
    root = photo_descriptors[0]
    kept, negated = rb.pair_coordinates(root)
    z = np.concatenate([(kept - learned["mean"]) @ learned["symmetric"].T, negated @ learned["antisymmetric"].T], 1)
    assert np.mean((z > 0) == (rb.projections(root) > 0)) > 0.99


def test_a_store_with_other_local_features_is_refused_by_name(tmp_path):
    from myPython.common.fileio import atomic_save_npy
    from myPython.pool.store import LOCAL_SUFFIX, DescriptorStore

    store = DescriptorStore.create(tmp_path / "old", {"dim": 8, "local_features": "rootsift-512-256-0.02-grid4"})
    atomic_save_npy(store.shard_dir / f"shard-000000{LOCAL_SUFFIX}", np.zeros((2, 256, 132), np.uint8))
    store.commit_shard("shard-000000", ["a", "b"], np.eye(2, 8, dtype=np.float32), ["a", "b"], [])
    with pytest.raises(StoreError, match=r"old: its local features are rootsift-512-256.*embed the inputs again"):
        DescriptorStore.open(tmp_path / "old").shards()[0].local_features()
