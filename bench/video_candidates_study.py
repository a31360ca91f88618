"""Do the frame lists of match-videos lose copies when a pool holds many versions of one clip? Training sources only.

A short-video pool holds many edits of a popular clip. A frame looks up its `knn` nearest frames, and each query
video keeps its `max_candidates` best-voted videos: when a dozen easy copies of a clip fill every frame's list,
its hard copies (an app screenshot, a rotation, an inset) may get no vote at all, whatever the scorer would say.

This study builds the platform video pool with many edits per source (datasets/platform_video_pool.py: the 16
edited moving training sources, `--per-source` edits each, every kind in turn, plus the shared-template
negatives), embeds it (the default model, `auto` engine, local features; cached), and runs match-videos with the
model's calibrated settings at several `knn` and `max_candidates`. Printed for each: pair AP, precision and recall
at the recommended video threshold, the true pairs that got no candidate at all, and the time of the run.

    nice -n 10 .venv/bin/python bench/video_candidates_study.py [--per-source 12]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from platform_video_study import setup, store_for  # noqa: E402

import myPython.pool.video_match as video_match  # noqa: E402

SETTINGS = [(20, 30), (40, 30), (50, 30), (80, 60), (80, 120)]  # (knn, max_candidates); the default first


def main(argv: list[str] | None = None) -> int:
    from evaluation.video_matching import pair_average_precision

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-source", type=int, default=12)
    args = parser.parse_args(argv)
    run = setup(args.per_source)
    spec, threshold, noise = run.spec, run.threshold, run.noise
    truth, pairs, positive = run.truth, run.pairs, run.positive
    store, _ = store_for(run.pool, run.extractor, False, f"-{args.per_source}")
    videos, extractor = run.videos, run.extractor
    print(f"{len(videos)} videos ({len(store)} frames), {len(truth)} true pairs; threshold {threshold}; "
          f"engine {extractor.engine.name}")
    print(f"{'knn':>4} {'cands':>5} {'pair AP':>8} {'precision':>9} {'recall':>7} {'no candidate':>12} {'seconds':>8}")
    for knn, candidates in SETTINGS:
        options = video_match.calibrated_options(spec.info, knn=knn, max_candidates=candidates)
        start = time.perf_counter()
        matches = list(video_match.match_videos(store, None, options, noise))
        seconds = time.perf_counter() - start
        best: dict = {}
        for m in matches:
            key = tuple(sorted((m.query_id, m.ref_id)))
            best[key] = max(best.get(key, 0.0), m.score)
        scores = np.array([best.get(p, 0.0) for p in pairs])
        accepted = scores >= threshold
        missing = sum(1 for p in truth if p not in best)
        ap = pair_average_precision(dict(zip(pairs, scores.tolist())), set(truth))
        precision, recall = positive[accepted].mean(), accepted[positive].mean()
        print(f"{knn:>4} {candidates:>5} {ap:>8.4f} {precision:>9.4f} {recall:>7.4f} {missing:>12d} {seconds:>8.1f}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
