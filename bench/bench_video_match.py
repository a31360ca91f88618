"""match-videos time on synthetic pools of videos x 60 frames (up to 10k videos = 600k frames).

Each synthetic video is a smooth random walk of unit 512-D descriptors (a
shot changes every 5 to 15 frames); one video in five is an edited copy of
another: noisy descriptors, a speed of 0.5x to 2x, sometimes only a part of
it. The frame kNN search uses an IVF index for the large pools (exact search
over 600k x 600k frames would take about an hour on 2 cores). Prints, per
pool size, the time of the candidate search and of the alignment, and the
share of planted copies found.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from myPython.common.ids import frame_id  # noqa: E402
from myPython.pool.store import DescriptorStore  # noqa: E402
from myPython.pool.video_match import MatchOptions, match_videos  # noqa: E402

DIM, FRAMES = 512, 60


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def synthetic_video(rng: np.random.Generator) -> np.ndarray:
    frames, current = [], rng.normal(size=DIM)
    while len(frames) < FRAMES:
        current = rng.normal(size=DIM)  # a new shot
        for _ in range(int(rng.integers(5, 16))):
            current = current + 0.25 * rng.normal(size=DIM)
            frames.append(current)
    return _unit(np.array(frames[:FRAMES]))


def edited_copy(video: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    speed = float(2.0 ** rng.uniform(-1, 1))
    n = len(video)
    start = int(rng.integers(0, n // 2)) if rng.random() < 0.5 else 0
    idx = np.clip((start + np.arange(FRAMES) * speed).astype(int), 0, n - 1)
    idx = idx[: max(4, int(np.searchsorted(idx, n - 1)) + 1)]
    return _unit(video[idx] + 0.04 * rng.normal(size=(len(idx), DIM)))


def build_pool(root: Path, videos: int, seed: int = 0) -> set[tuple[str, str]]:
    """A store of `videos` synthetic videos; returns the planted (original, copy) pairs."""
    rng = np.random.default_rng(seed)
    store = DescriptorStore.create(root, {"dim": DIM, "fps": 1.0})
    planted: set[tuple[str, str]] = set()
    kept: list[np.ndarray] = []
    ids: list[str] = []
    rows: list[np.ndarray] = []
    for n in range(videos):
        name = f"v{n:06d}.mp4"
        if n % 5 == 4:
            source = int(rng.integers(0, n))
            video = edited_copy(kept[source] if source < len(kept) else synthetic_video(rng), rng)
            planted.add((f"v{source:06d}.mp4", name))
        else:
            video = synthetic_video(rng)
        kept.append(video[:FRAMES])
        ids += [frame_id(name, float(t)) for t in range(len(video))]
        rows.append(video)
        if len(ids) >= 65536 or n == videos - 1:
            store.commit_shard(store.next_shard_name(), ids, np.concatenate(rows), [], [])
            ids, rows = [], []
    return planted


def run_size(videos: int, factory: str, nprobe: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        planted = build_pool(Path(tmp) / "store", videos)
        store = DescriptorStore.open(Path(tmp) / "store")
        options = MatchOptions(frame_threshold=0.5, uninformative=2.0, factory=factory, nprobe=nprobe)
        options.align.match_threshold = 0.5
        start = time.perf_counter()
        found = set()
        first = None
        for match in match_videos(store, None, options, np.zeros((0, DIM), np.float32)):
            first = first or time.perf_counter()
            if match.score >= 0.5:
                found.add(tuple(sorted((match.query_id, match.ref_id))))
        total = time.perf_counter() - start
        search = (first or time.perf_counter()) - start
        return {"videos": videos, "frames": len(store), "index": factory, "search_s": search,
                "align_s": total - search, "total_s": total,
                "copies_found": len(found & planted) / max(1, len(planted)),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,3000,10000", help="pool sizes in videos")
    p.add_argument("--index", default="IVF1024,Flat", help="FAISS factory for the frame search")
    p.add_argument("--nprobe", type=int, default=16)
    args = p.parse_args()
    print(f"match-videos on synthetic pools ({FRAMES} frames per video, {DIM}-D), index {args.index} "
          f"nprobe {args.nprobe}")
    print(f"{'videos':>7} {'frames':>8} {'search s':>9} {'align s':>8} {'total s':>8} {'copies found':>12} "
          f"{'peak RSS MB':>11}")
    for size in (int(s) for s in args.sizes.split(",")):
        r = run_size(size, args.index, args.nprobe)
        print(f"{r['videos']:7d} {r['frames']:8d} {r['search_s']:9.1f} {r['align_s']:8.1f} {r['total_s']:8.1f} "
              f"{r['copies_found']:12.3f} {r['peak_rss_mb']:11.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
