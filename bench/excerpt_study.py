"""Short excerpts: does `match-videos` find a clip of a few seconds cut from a longer one? TRAINING sources only.

A short-video pool is full of excerpts: a few seconds of a longer video, posted alone. At one frame a second a
3 s excerpt has 3 frames, and the scorer (calibrated on the training pool's segments) weighs the number of
matched frames. This study cuts excerpts of EXCERPT_SECONDS from the moving training clips at least
MIN_SOURCE seconds long (`datasets/video_edits.excerpt`, seeded starts; each also re-encoded at a low bit rate
as a second copy), embeds the pool with the default model and local features, matches it with the calibrated
settings, and prints by excerpt length: the true pairs, how many are candidates at all, the recall at the
recommended video threshold, and the median score and matched frames of the missed ones; then the different-
origin pairs that pass.

    nice -n 19 .venv/bin/python bench/excerpt_study.py

Result (build default-56fe2f9bed5d-168b9d0aec62, int8, 2-core AMD EPYC, 2026-12-07; 135 videos, 400 true pairs):
every excerpt pair is a candidate; recall at the threshold 0.5885 is 0.00 for 2 s excerpts, 0.43 / 0.26 (low bit
rate) for 3 s, 0.82 / 0.77 for 4 s and 0.93 / 0.87 for 6 s; the missed ones score 0.13-0.23 on 2-4 matched frames;
3 different-origin pairs pass. Calibrating the video scorer with a short excerpt (2-3 s) of every moving
training source added to its pool was measured and not kept: here 2 s 0.41, 3 s 0.58, but 13 different-origin
pairs pass, and on the platform edits (bench/platform_video_study.py) recall fell from 0.705 to 0.500 (--panels
0.862 -> 0.719) at precision 1.000 (docs/video.md).
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import myPython.pool.video_match as video_match  # noqa: E402
from myPython.common import assets  # noqa: E402
from myPython.datasets.video_edits import FPS, ambiguous_pairs, excerpt, pool_truth, write_pool  # noqa: E402
from myPython.pool.embed import EmbedOptions  # noqa: E402
from myPython.pool.informative import noise_descriptors  # noqa: E402
from myPython.pool.jobs import embed  # noqa: E402
from myPython.pool.store import DescriptorStore  # noqa: E402
from myPython.retrieval.extractor import DescriptorExtractor  # noqa: E402
from myPython.retrieval.models import load_model  # noqa: E402

EXCERPT_SECONDS = (2.0, 3.0, 4.0, 6.0)
MIN_SOURCE = 9.0
LOW_BITRATE = 120_000
SEED = 20261208


def build_pool() -> tuple[Path, dict]:
    from myPython.datasets.video_training import training_sources

    sources = {n: c for n, c in training_sources().items()
               if not n.startswith("still_") and len(c.frames) / FPS >= MIN_SOURCE}
    clips = {f"{n}.mp4": (c, 500_000) for n, c in sources.items()}
    rng = np.random.default_rng(SEED)
    for name, clip in sorted(sources.items()):
        length = len(clip.frames) / FPS
        for seconds in EXCERPT_SECONDS:
            start = float(rng.uniform(0, length - seconds))
            cut = excerpt(clip, start, start + seconds)
            clips[f"{name}_x{seconds:g}.mp4"] = (cut, 500_000)
            clips[f"{name}_x{seconds:g}_low.mp4"] = (cut, LOW_BITRATE)
    root = assets.cache_dir() / "excerpt_study" / f"pool-{SEED}"
    root.mkdir(parents=True, exist_ok=True)
    return root, write_pool(root, clips)


def length_of(video: str) -> str:
    part = [p for p in video[:-4].split("_") if p.startswith("x")]
    return part[-1][1:] + " s" + (" low" if video.endswith("_low.mp4") else "") if part else "source"


def main() -> int:
    spec = load_model()
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings())
    pool, pieces = build_pool()
    truth, ignore = pool_truth(pieces), ambiguous_pairs(pieces)
    store_dir = pool.parent / f"store-{pool.name}-{extractor.key()}"
    start = time.perf_counter()
    if not (store_dir / "done").exists():
        embed([pool], store_dir, None, extractor, EmbedOptions(local_features=True))
        (store_dir / "done").touch()
    seconds = time.perf_counter() - start
    store = DescriptorStore.open(store_dir)
    threshold = float(spec.info["recommended_video_threshold"])
    options = video_match.calibrated_options(spec.info)
    best: dict = {}
    for m in video_match.match_videos(store, None, options, noise_descriptors(extractor, spec.fingerprint())):
        key = tuple(sorted((m.query_id, m.ref_id)))
        for seg in m.segments:
            if key not in best or seg.score > best[key].score:
                best[key] = seg
    table: dict = defaultdict(lambda: [0, 0, 0, [], []])
    false = 0
    videos = sorted(pieces)
    for i, a in enumerate(videos):
        for b in videos[i + 1:]:
            if (a, b) in ignore:
                continue
            seg = best.get((a, b))
            score = seg.score if seg else 0.0
            if (a, b) not in truth:
                false += int(score >= threshold)
                continue
            row = table[max(length_of(a), length_of(b), key=lambda k: k != "source")]
            row[0] += 1
            row[1] += int(seg is not None)
            row[2] += int(score >= threshold)
            if score < threshold:
                row[3].append(score)
                row[4].append(seg.features.get("frames", 0) if seg else 0)
    print(f"{len(videos)} videos, {len(truth)} true pairs, {len(ignore)} ignored; threshold {threshold}; "
          f"embedded in {seconds:.0f} s")
    print(f"{'excerpt':12s} {'pairs':>6s} {'candidates':>10s} {'recall':>7s}  missed: median score, frames")
    for key in sorted(table, key=lambda k: (float(k.split()[0]), k)):
        n, cand, hit, scores, frames = table[key]
        missed = f"{np.median(scores):.3f}, {np.median(frames):.0f}" if scores else "-"
        print(f"{key:12s} {n:6d} {cand:10d} {hit / n:7.3f}  {missed}")
    print(f"different-origin pairs passing: {false}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
