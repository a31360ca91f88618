"""The segment features of video matching on synthetic inputs whose right answer is known by construction.

Geometric features (pool/segment_geometry.py: inliers, inlier_contrast, moving share, cover, moving_cover) on
hand-made local features: a scene of a still room (keypoints that keep their place) and an actor (keypoints that
keep their look but move), seen as a copy, a mirrored copy, a crop, a second recording from the same camera and a
second take from another angle; no SIFT, so every count follows from the construction on any CPU. Geometric
verification (pool/verify.py) on real RootSIFT features of a synthetic texture and its known warps. The
similarity features (pool/temporal.py: margin, peak, agreement, shift and centred contrast, motion, over_self),
the alignment's cuts, uninformative frames and the uninformative cut, on hand-made matrices and descriptors.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from myPython.pool import verify as verification
from myPython.pool.segment_geometry import GRID, OFFSET_FRAMES, SegmentVerifier, cover
from myPython.pool.temporal import (
    AlignOptions,
    Segment,
    _runs,
    hough_segments,
    motion_agreement,
    network_segments,
    over_self,
    segment_features,
    shift_contrast,
)
from myPython.pool.verify import (
    FEATURE_SIDE,
    MIRROR_PERMUTATION,
    POSITION_STEPS,
    RANSAC_PIXELS,
    local_features,
    unpack,
    verify,
)

# ---- a hand-made scene ------------------------------------------------------------------------------
# Positions are in pixels of a SCENE_SIDE x 288 frame (stored relative to the long side, as verify stores them;
# verification measures them in FEATURE_SIDE pixels: 0.75 of the distances below at 384). The room: 40 keypoints
# on an 8 x 5 lattice over the whole frame, so that they reach every cell of the GRID x GRID cover grid. The
# actor: 30 keypoints in the top-left quarter of the frame (cells of columns 0-1 and rows 0-1 only), each circling
# its own centre with its own phase, a sixth of a turn per frame: three frames apart every one has moved 24 px in
# its own direction, far beyond RANSAC_PIXELS, so the actor never stays put and never moves as one rigid piece.
# Every position sits on a grid of 4 stored position steps (about 8 px), and every edit below maps that grid onto
# the steps: the stored positions are then exact, and the numbers below do not depend on the quantisation.
FRAMES = 10
ROOM_N, ACTOR_N = 40, 30
SCENE_SIDE = 512
STEP = 4 * SCENE_SIDE / POSITION_STEPS


def snap(positions: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(positions) / STEP) * STEP


_rng = np.random.default_rng(0)
# about 64 px apart; no keypoint on a border of the GRID x GRID cells over the lattice (spans of 56 and 29 STEPs)
_gx, _gy = np.meshgrid(STEP * (4 + 8 * np.arange(8)), STEP * np.array([4, 10, 18, 25, 33]))
ROOM_POS = np.stack([_gx.ravel(), _gy.ravel()], axis=1)
ROOM_DESC = _rng.integers(0, 256, (ROOM_N, 128)).astype(np.uint8)
OTHER_ROOM_DESC = _rng.integers(0, 256, (ROOM_N, 128)).astype(np.uint8)  # the room from another angle
ACTOR_DESC = _rng.integers(0, 256, (ACTOR_N, 128)).astype(np.uint8)
ACTOR_CENTRE = np.stack([_rng.uniform(60, 220, ACTOR_N), _rng.uniform(55, 115, ACTOR_N)], axis=1)
ACTOR_PHASE = _rng.uniform(0, 2 * np.pi, ACTOR_N)
RADIUS, TURN = 12.0, np.pi / 3


def pack(descriptors: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Stored local features (pool/verify.py's layout) of hand-made descriptors (bytes) and positions (pixels)."""
    root = np.asarray(descriptors, np.float32)
    root /= np.maximum(np.linalg.norm(root, axis=1, keepdims=True), 1e-7)
    return verification.pack(root, np.asarray(positions) / SCENE_SIDE)


def actor_at(k: int, phase: float = 0.0) -> np.ndarray:
    angle = ACTOR_PHASE + phase + k * TURN
    return snap(ACTOR_CENTRE + RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=1))


def scene(k: int, room: np.ndarray = ROOM_DESC, phase: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(descriptors, positions) of frame k: the room's keypoints (rows 0-39), then the actor's (rows 40-69)."""
    return np.concatenate([room, ACTOR_DESC]), np.concatenate([ROOM_POS, actor_at(k, phase)])


def recording(transform=None, n: int = FRAMES, **kwargs) -> list[np.ndarray]:
    """Packed frames of the scene, `transform(descriptors, positions)` applied to each frame."""
    frames = []
    for k in range(n):
        descriptors, positions = scene(k, **kwargs)
        if transform is not None:
            descriptors, positions = transform(descriptors, positions)
        frames.append(pack(descriptors, positions))
    return frames


def resized(descriptors, positions):  # a similarity: scaled by 0.75 and shifted, as a re-framed copy
    return descriptors, positions * 0.75 + STEP * np.array([5.0, 2.0])


def mirrored(descriptors, positions):  # SIFT descriptors of a mirrored image are a fixed permutation
    return descriptors[:, MIRROR_PERMUTATION], np.stack([SCENE_SIDE - positions[:, 0], positions[:, 1]], axis=1)


def left_half(descriptors, positions):  # a crop of the left half, scaled up 1.5x to fill the frame
    keep = positions[:, 0] < 256
    return descriptors[keep], (positions[keep] - np.array([2 * STEP, 0.0])) * 1.5


class Videos:
    """The Frames protocol of pool/segment_geometry.py over lists of packed frames (video n: the n-th list)."""

    def __init__(self, *videos: list[np.ndarray], features: bool = True) -> None:
        self.frames = np.stack([f for v in videos for f in v])
        self.starts = np.cumsum([0] + [len(v) for v in videos])
        self.features = features

    def rows(self, video: int) -> np.ndarray:
        return np.arange(self.starts[video], self.starts[video + 1])

    def local(self, rows: np.ndarray) -> np.ndarray | None:
        return self.frames[rows] if self.features else None


def diagonal_segment(n: int = FRAMES, best: tuple[int, ...] = (4, 5, 6)) -> tuple[Segment, np.ndarray]:
    """Frame i of one video matched to frame i of the other; `best`: the most similar pairs (those verified)."""
    sim = np.full((n, n), 0.5)
    np.fill_diagonal(sim, 0.9)
    for i in best:
        sim[i, i] = 0.95
    return Segment(0.0, float(n), 0.0, float(n), np.stack([np.arange(n), np.arange(n)], axis=1)), sim


def evidence(other: list[np.ndarray], query: list[np.ndarray] | None = None, **kwargs) -> dict:
    videos = Videos(query if query is not None else recording(), other)
    seg, sim = diagonal_segment(min(len(videos.rows(0)), len(videos.rows(1))), **kwargs)
    return SegmentVerifier(videos, videos).evidence(seg, sim, 0, 1)


COPY_CONTRAST = math.log(1 + ROOM_N + ACTOR_N) - math.log(1 + ROOM_N)  # 3 s away only the room still matches


def test_the_scene_is_built_as_described():
    """Within one recording, frame k and frame k + OFFSET_FRAMES share exactly the room (what stays put)."""
    frames = recording()
    for k in range(FRAMES - OFFSET_FRAMES):
        found = verify(frames[k], frames[k + OFFSET_FRAMES])
        assert sorted(found.keypoints_a.tolist()) == list(range(ROOM_N)), k
        assert not found.mirrored
        assert cover(frames[k], np.arange(ROOM_N)) == 1.0  # the room reaches every cell ...
        assert cover(frames[k], np.arange(ROOM_N, ROOM_N + ACTOR_N)) == 4 / GRID**2  # ... the actor 4 of them
    # the grid's cells are 112 x 57.6 px from (32, 28.8): the actor stays inside columns 0-1 and rows 0-1
    walk = np.concatenate([actor_at(k) for k in range(FRAMES)])
    assert (walk.min(axis=0) > [32, 28.8]).all() and (walk.max(axis=0) < [256, 144]).all()


@pytest.mark.parametrize("edit", [None, resized, mirrored], ids=["same", "resized", "mirrored"])
def test_a_copy_matches_the_room_and_the_actor_all_over_the_frame(edit):
    """Every keypoint of a copy is an inlier; the actor's (30 of 70) are on moving content; they cover the frame."""
    found = evidence(recording(edit))
    assert found["inliers"] == ROOM_N + ACTOR_N
    assert found["inlier_contrast"] == pytest.approx(COPY_CONTRAST)
    assert found["moving_share"] == pytest.approx(ACTOR_N / (ROOM_N + ACTOR_N))
    assert found["moving_cover"] == pytest.approx(ACTOR_N / (ROOM_N + ACTOR_N))  # cover 1: every cell


def test_a_second_recording_from_one_fixed_camera_matches_only_the_still_room():
    """The same room, the same actor walking differently: the inliers are the room alone, which stays put in
    both videos, so no moving share, no moving cover; and a moment 3 s later matches as well (no contrast)."""
    found = evidence(recording(phase=np.pi / 2))  # each actor keypoint 17 px from where the first take has it
    assert found["inliers"] == ROOM_N
    assert found["inlier_contrast"] == pytest.approx(0.0)
    assert found["moving_share"] == 0.0 and found["moving_cover"] == 0.0


def test_a_second_take_from_another_angle_matches_only_the_actor():
    """The room looks different, the actor lines up: every inlier moves (share 1), but it covers only the 4 cells
    of the actor's quarter out of the 16 the frame's keypoints reach."""
    found = evidence(recording(room=OTHER_ROOM_DESC))
    assert found["inliers"] == ACTOR_N
    assert found["moving_share"] == 1.0
    assert found["moving_cover"] == pytest.approx(4 / GRID**2)
    assert found["inlier_contrast"] > 0  # the actor has moved on 3 s later


def test_moving_cover_ranks_a_copy_above_both_look_alikes():
    copy = evidence(recording(resized))["moving_cover"]
    one_camera = evidence(recording(phase=np.pi / 2))["moving_cover"]
    other_angle = evidence(recording(room=OTHER_ROOM_DESC))["moving_cover"]
    assert copy > other_angle > one_camera


def test_a_crop_is_covered_on_its_own_frame():
    """A crop of the left half shows 20 room and all 30 actor keypoints; its inliers cover half of the original's
    cells but every cell of its own frame, and the larger of the two counts."""
    query, crop = recording(), recording(left_half)
    found = evidence(crop, query)
    room_left = int((ROOM_POS[:, 0] < 256).sum())
    assert room_left == 20 and found["inliers"] == room_left + ACTOR_N
    assert found["moving_share"] == pytest.approx(ACTOR_N / (room_left + ACTOR_N))
    assert found["moving_cover"] == pytest.approx(found["moving_share"])  # cover 1 on the crop's side
    pair = verify(query[5], crop[5])
    assert cover(query[5], pair.keypoints_a) == pytest.approx(8 / GRID**2)
    assert cover(crop[5], pair.keypoints_b) == 1.0


def test_videos_too_short_to_move_and_stores_without_features_give_no_motion_evidence():
    """Two frames: neither has a frame MIN_OFFSET_FRAMES away, so nothing tells what stays put (share 0, no
    evidence); and a segment shorter than OFFSET_FRAMES has no contrast."""
    short = evidence(recording(n=2), recording(n=2), best=(0, 1))
    assert short["inliers"] == ROOM_N + ACTOR_N
    assert short["moving_share"] == 0.0 and short["moving_cover"] == 0.0
    assert "inlier_contrast" not in short
    three = evidence(recording(n=3), recording(n=3), best=(1,))  # the farthest frame, 2 away, is far enough
    assert three["moving_share"] == pytest.approx(ACTOR_N / (ROOM_N + ACTOR_N))
    videos = Videos(recording(), recording(), features=False)
    seg, sim = diagonal_segment()
    assert SegmentVerifier(videos, videos).evidence(seg, sim, 0, 1) == {}


def test_inliers_are_those_of_the_best_verified_pairs():
    """`inliers` is the most among the VERIFIED_CELLS most similar pairs: here the copy's pairs are the best
    three and every other pair of the segment shows another recording."""
    query, copy, other = recording(), recording(resized), recording(phase=np.pi / 2)
    mixed = [copy[k] if k in (4, 5, 6) else other[k] for k in range(FRAMES)]
    assert evidence(mixed, query, best=(4, 5, 6))["inliers"] == ROOM_N + ACTOR_N
    assert evidence(mixed, query, best=(0, 1, 2))["inliers"] == ROOM_N


# ---- cover ------------------------------------------------------------------------------------------
def test_cover_depends_on_where_the_keypoints_are_not_on_the_frame_size():
    descriptors, positions = scene(0)
    frame = pack(descriptors, positions)
    room, actor = np.arange(ROOM_N), np.arange(ROOM_N, ROOM_N + ACTOR_N)
    assert cover(frame, room) == 1.0 and cover(frame, actor) == pytest.approx(4 / GRID**2)
    moved = pack(*resized(descriptors, positions))  # a similarity keeps every keypoint in its cell
    assert cover(moved, room) == 1.0 and cover(moved, actor) == pytest.approx(4 / GRID**2)
    single = pack(descriptors[:3], np.full((3, 2), 100.0))  # all in one place: one cell, all of it covered
    assert cover(single, np.array([1])) == 1.0
    assert cover(pack(descriptors[:0], positions[:0]), np.array([0])) == 0.0  # no keypoints at all


# ---- verification on real RootSIFT features ----------------------------------------------------------
def texture(seed: int, h: int = 360, w: int = 480) -> np.ndarray:
    """A grey texture of blobs at four scales (plenty of SIFT keypoints), as BGR."""
    rng = np.random.default_rng(seed)
    out = np.zeros((h, w), np.float32)
    for cell in (4, 8, 16, 32):
        small = rng.uniform(0, 1, (h // cell + 2, w // cell + 2)).astype(np.float32)
        out += cv2.resize(small, (w + 2 * cell, h + 2 * cell), interpolation=cv2.INTER_CUBIC)[:h, :w] * cell
    out = (out - out.min()) / (out.max() - out.min()) * 255
    return cv2.cvtColor(out.astype(np.uint8), cv2.COLOR_GRAY2BGR)


# Inliers two unrelated images reach by chance: RANSAC's minimal sample (2 matches fix a similarity), plus one.
CHANCE = 3


@pytest.fixture(scope="module")
def sift_cases():
    image = texture(1)
    h, w = image.shape[:2]
    warp = cv2.getRotationMatrix2D((w / 2, h / 2), 12, 0.8)
    warp[:, 2] += (15, -10)
    warped = cv2.warpAffine(image, warp, (w, h), borderMode=cv2.BORDER_REFLECT)
    return image, warp, warped


def test_a_known_warp_gives_many_inliers_that_follow_it(sift_cases):
    image, warp, warped = sift_cases
    a, b = local_features(image), local_features(warped)
    found = verify(a, b)
    unrelated = max(verify(local_features(texture(seed)), local_features(texture(seed + 20))).inliers
                    for seed in (2, 3, 4))
    assert unrelated <= CHANCE
    assert not found.mirrored and found.inliers >= 10 * CHANCE
    assert found.inliers == len(found.keypoints_a) == len(found.keypoints_b)
    # every inlier pair sits where the known warp puts it (positions in FEATURE_SIDE pixels)
    scale = FEATURE_SIDE / max(image.shape[:2])
    pos_a, pos_b = unpack(a)[1][found.keypoints_a], unpack(b)[1][found.keypoints_b]
    expected = np.c_[pos_a / scale, np.ones(len(pos_a))] @ warp.T * scale
    error = np.linalg.norm(expected - pos_b, axis=1)
    # stored positions are within half a step (1 px) on each side: about 1 px of error is the storage's
    assert np.median(error) < 1.0 + FEATURE_SIDE / POSITION_STEPS / 2 and np.quantile(error, 0.95) <= RANSAC_PIXELS


def test_a_mirrored_copy_is_found_mirrored_and_unrelated_or_blank_images_are_not(sift_cases):
    image, _, _ = sift_cases
    a = local_features(image)
    b = local_features(np.ascontiguousarray(image[:, ::-1]))
    flipped = verify(a, b)
    assert flipped.mirrored and flipped.inliers >= 10 * CHANCE
    pos_a, pos_b = unpack(a)[1][flipped.keypoints_a], unpack(b)[1][flipped.keypoints_b]
    width = FEATURE_SIDE * image.shape[1] / max(image.shape[:2])
    assert np.median(np.abs(pos_b[:, 0] - (width - pos_a[:, 0]))) < 1.0
    other = verify(a, local_features(texture(7)))
    assert other.inliers <= CHANCE and flipped.inliers > 10 * max(1, other.inliers)
    blank = verify(a, local_features(np.full_like(image, 128)))  # no keypoints at all
    assert blank.inliers == 0 and len(blank.keypoints_a) == 0


def test_hand_made_features_verify_exactly():
    """The packed layout and the matcher: a similarity of a frame keeps every keypoint, a mirror too (flagged),
    descriptors seen nowhere else match nothing."""
    frame = recording()[0]
    assert verify(frame, recording(resized)[0]).inliers == ROOM_N + ACTOR_N
    flipped = verify(frame, recording(mirrored)[0])
    assert flipped.mirrored and flipped.inliers == ROOM_N + ACTOR_N
    stranger = pack(np.random.default_rng(9).integers(0, 256, (70, 128)).astype(np.uint8), scene(0)[1])
    assert verify(frame, stranger).inliers <= CHANCE


# ---- similarity features of a segment ----------------------------------------------------------------
def _diagonal(n: int = 8, on: float = 0.9, off: float = 0.2) -> np.ndarray:
    sim = np.full((n, n), off)
    np.fill_diagonal(sim, on)
    return sim


def test_a_sharp_diagonal_stands_out_and_a_uniform_matrix_does_not():
    n = 8
    pairs = np.stack([np.arange(n), np.arange(n)], axis=1)
    seg = Segment(0.0, n, 0.0, n, pairs)
    sharp = segment_features(seg, _diagonal(n))
    assert sharp["frames"] == n and sharp["mean"] == pytest.approx(0.9) and sharp["max"] == pytest.approx(0.9)
    assert sharp["margin"] == pytest.approx(0.7)  # 0.9 against the best other cell of its row and column
    assert sharp["peak"] == pytest.approx(0.7 / 0.02)  # the others do not spread: (0.9 - 0.2) / (0 + 0.02)
    assert sharp["agreement"] == 1.0
    assert sharp["shift_contrast"] == pytest.approx(0.7)
    flat = segment_features(seg, np.full((n, n), 0.8))  # a static look-alike: alike everywhere
    assert flat["mean"] == pytest.approx(0.8)
    assert flat["margin"] == pytest.approx(0.0) and flat["peak"] == pytest.approx(0.0)
    assert flat["shift_contrast"] == pytest.approx(0.0)
    assert flat["agreement"] == 2 / n  # ties go to the first column: only cells (0, 0) and (1, 1) agree
    # a path's temporal neighbours (one frame off) are left out: a copy that lingers keeps its margin
    assert segment_features(seg, _diagonal(n) + 0.5 * np.eye(n, k=1))["margin"] == pytest.approx(0.7)


def test_shift_contrast_ignores_uninformative_cells():
    sim = _diagonal(6)
    sim[:, 0] = -1.0  # an uninformative reference frame: its cells carry nothing
    i = j = np.arange(1, 6)
    assert shift_contrast(sim, i, j) == pytest.approx(0.7)


def test_motion_and_over_self_tell_changing_content_from_a_static_scene():
    rng = np.random.default_rng(3)
    n, dim = 8, 32
    q = np.linalg.qr(rng.normal(size=(dim, n)))[0].T  # orthonormal frames: content that keeps changing
    pairs = np.stack([np.arange(n), np.arange(n)], axis=1)
    assert motion_agreement(q, q, pairs) == pytest.approx(1.0)  # a copy changes as its original does
    centre = q.mean(axis=0)
    assert motion_agreement(q, 2 * centre - q, pairs) == pytest.approx(-1.0)  # every step the other way
    assert motion_agreement(q, q, pairs[:1]) == 0.0
    assert over_self(q, q, pairs) == pytest.approx(1.0)  # matched frames alike, the video's own frames not
    a, b = np.zeros(dim), np.zeros(dim)
    a[0], b[0], b[1] = 1.0, 0.9, math.sqrt(1 - 0.81)  # cos(a, b) = 0.9
    static_q, static_r = np.tile(a, (n, 1)), np.tile(b, (n, 1))
    assert over_self(static_q, static_r, pairs) == pytest.approx(0.9 - 1.0)  # less alike than itself
    assert over_self(q, q, pairs[:2]) == 0.0  # too short to tell: no two frames apart


def test_centred_peak_sees_what_changes_not_the_scene():
    """Two videos of one scene (a shared component) whose changes differ: the plain similarity is high
    everywhere, the centred one peaks only where the changes match (a copy)."""
    from myPython.pool.video_match import centred_frames

    rng = np.random.default_rng(4)
    n, dim = 8, 64
    basis = np.linalg.qr(rng.normal(size=(dim, 2 * n + 1)))[0].T
    scene_vector, changes, others = basis[0], basis[1 : n + 1], basis[n + 1 :]
    q = 3 * scene_vector + changes
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    r_copy, r_other = q.copy(), 3 * scene_vector + others
    r_other /= np.linalg.norm(r_other, axis=1, keepdims=True)
    none = np.zeros(n, bool)
    pairs = np.stack([np.arange(n), np.arange(n)], axis=1)
    seg = Segment(0.0, n, 0.0, n, pairs)
    features = {}
    for name, r in (("copy", r_copy), ("other", r_other)):
        centred = centred_frames(q, none) @ centred_frames(r, none).T
        features[name] = segment_features(seg, q @ r.T, centred, (q, r))
    assert features["other"]["mean"] == pytest.approx(0.9)  # 9 / (9 + 1): alike frame by frame
    assert features["copy"]["centred_peak"] > 10 and abs(features["other"]["centred_peak"]) < 1e-6
    assert features["copy"]["over_self"] > 0 > features["other"]["over_self"] - 1e-9
    # frames flagged uninformative are left out of their video's mean frame
    flagged = np.zeros(n + 1, bool)
    flagged[-1] = True
    padded = np.vstack([q, basis[-1:]])  # a title card, say
    np.testing.assert_allclose(centred_frames(padded, flagged)[:n], centred_frames(q, none), atol=1e-9)


# ---- cuts: segments split where the line has a gap -------------------------------------------------------
def test_runs_split_where_consecutive_matched_frames_are_too_far_apart():
    pairs = np.array([[0, 0], [1, 1], [2, 2], [6, 6], [7, 7], [12, 12]])
    tq = np.arange(13.0)
    assert [r[:, 0].tolist() for r in _runs(pairs, tq, 3.0)] == [[0, 1, 2], [6, 7], [12]]
    assert [r[:, 0].tolist() for r in _runs(pairs, tq, 4.0)] == [[0, 1, 2, 6, 7], [12]]
    assert _runs(np.zeros((0, 2), np.int64), tq, 3.0) == []


@pytest.mark.parametrize("aligner", [hough_segments, network_segments])
def test_a_cut_longer_than_the_gap_makes_two_segments_and_a_shorter_one_does_not(aligner):
    """The query shows reference seconds 0-5, then (after a cut) 12-17 for hough's line, or stays on one line
    with a missing stretch: a gap of max_gap frames or less does not split a segment."""
    n_q, n_r = 12, 20
    sim = np.full((n_q, n_r), 0.0)
    for i in range(6):
        sim[i, i] = 0.9
        sim[6 + i, 12 + i] = 0.9
    found = aligner(sim, np.arange(n_q, dtype=float), np.arange(n_r, dtype=float), AlignOptions(match_threshold=0.5))
    assert sorted((s.query_start, s.ref_start) for s in found) == [(0.0, 0.0), (5.5, 11.5)]
    gap = np.zeros((12, 12))
    for i in (0, 1, 2, 3, 6, 7, 8, 9, 10, 11):  # frames 4 and 5 lost: 3 s between matched frames
        gap[i, i] = 0.9
    (one,) = aligner(gap, np.arange(12.0), np.arange(12.0), AlignOptions(match_threshold=0.5, max_gap=3.0))
    assert (one.query_start, one.query_end) == (0.0, 11.5)


# ---- uninformative frames and the uninformative cut ----------------------------------------------------
def test_background_is_the_closeness_to_the_noise_set():
    from myPython.pool.informative import background

    noise = np.eye(6, dtype=np.float32)[:2]
    frames = np.array([[1, 0, 0, 0, 0, 0], [0.6, 0, 0.8, 0, 0, 0], [0, 0, 0, 1, 0, 0]], np.float32)
    np.testing.assert_allclose(background(frames, noise), [1.0, 0.6, 0.0])
    assert background(frames, np.zeros((0, 6), np.float32)).tolist() == [0.0, 0.0, 0.0]


def test_uninformative_frames_are_never_in_a_segment():
    from myPython.pool.video_match import MatchOptions, align_pair

    rng = np.random.default_rng(6)
    n = 10
    q = np.linalg.qr(rng.normal(size=(32, n)))[0].T.astype(np.float32)
    r = q.copy()
    bg_q, bg_r = np.zeros(n, np.float32), np.zeros(n, np.float32)
    bg_r[:3] = 0.95  # the copy's first three frames are blank
    options = MatchOptions(frame_threshold=0.5, uninformative=0.8)
    options.align.match_threshold = 0.5
    times = np.arange(n, dtype=float)
    (seg,) = align_pair(q, times, bg_q, r, times, bg_r, options)
    assert seg.pairs[:, 1].min() == 3 and seg.pairs.tolist() == [[k, k] for k in range(3, n)]
    assert align_pair(q, times, np.full(n, 0.95, np.float32), r, times, bg_r, options) == []


@pytest.mark.parametrize("content, blank, expected", [
    (0.1, 0.5, 0.3),  # halfway is 0.3
    (0.05, 0.2, 0.3),  # halfway (0.125) is clipped to 0.3
    (0.8, 1.0, 0.9),  # halfway (0.9)
    (0.85, 0.99, 0.9),  # halfway (0.92) is clipped to 0.9
    (0.4, None, 0.7),  # no blank frames: halfway to 1
])
def test_uninformative_cut_is_halfway_and_clipped(content, blank, expected):
    from myPython.build.video_calibration import uninformative_cut
    from myPython.common.ids import frame_id
    from myPython.datasets.video_edits import Piece

    noise = np.eye(4, dtype=np.float32)[:1]

    def unit(c: float) -> np.ndarray:  # a descriptor whose closeness to the noise set is c
        return np.array([c, math.sqrt(1 - c * c), 0, 0], np.float32)

    lead = 2 if blank is not None else 0

    class Store:
        def load(self):
            ids = [frame_id("v.mp4", float(t)) for t in range(lead + 5)]
            rows = [unit(blank or 0.0)] * lead + [unit(content)] * 5
            return ids, np.stack(rows)

    pieces = {"v.mp4": [Piece(float(lead), float(lead + 5), "src", 0.0, 5.0)]}
    assert uninformative_cut(Store(), noise, pieces) == pytest.approx(expected, abs=1e-4)
