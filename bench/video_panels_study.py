"""Panel rows in `match-videos`: video compositions matched with and without `embed --panels`. TRAINING sources only.

A small pool: SOURCES training source clips (datasets/video_training.py `training_sources()`: pans and real clips),
each cut to SECONDS, and for each one composition of datasets/platform_video_edits.py (`apply_video(...,
"composition", kind, rng)`, kinds in turn: picture_in_picture, side_by_side, duet, split_screen; the source is the
inset, one half, or one panel, the others synthetic filler clips that are in no other video). The pool is written
once under the cache (`video_panels_study/pool`), then embedded twice with the CLI (`embed` and `embed --panels`,
the default model, local features) and matched with `match-videos --threshold 0`. Printed, for both stores: the
recall of the (composite, its source) pairs at the model's recommended video threshold (a pair counts when any of
its segments reaches it), how many of those have a segment overlapping the true times, the pairs of different
origin that reach it (and the best score of such a pair), the embedding's seconds and rows per video, and the
seconds of `match-videos` (verification included) with the number of video pairs it aligned.

    nice -n 19 .venv/bin/python bench/video_panels_study.py [--sources 8] [--seconds 8]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

KINDS = ("picture_in_picture", "side_by_side", "duet", "split_screen")
# pans and real clips of the training sources, taken in this order
PICKS = ("pan_astronaut", "bikes", "pan_coffee", "bigbuckbunny", "pan_rocket", "v2", "pan_chelsea",
         "carphone_pristine", "pan_hubble_deep_field", "pan_retina")
SEED = 20261208


def build_pool(folder: Path, count: int, seconds: float) -> dict[str, str]:
    """The pool's files (written once); video file name -> its origin (the training source it shows)."""
    from myPython.datasets.platform_video_edits import Video, apply_video
    from myPython.datasets.video_edits import FPS

    names = PICKS[:count]
    origin = {}
    for k, name in enumerate(names):
        origin[f"{name}.mp4"] = name
        origin[f"{name}_{KINDS[k % len(KINDS)]}.mp4"] = name
    if all((folder / f).exists() for f in origin):
        return origin
    from myPython.datasets.video_training import training_sources

    sources = training_sources()
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        clip = sources[name]
        n = min(len(clip.frames), int(round(seconds * FPS)))
        source = Video.source(list(clip.frames[:n]), name, FPS)
        kind = KINDS[k % len(KINDS)]
        composite = apply_video(source, "composition", kind, np.random.default_rng([SEED, k]))
        source.write(folder / f"{name}.mp4")
        composite.write(folder / f"{name}_{kind}.mp4")
    return origin


def embed(pool: Path, store: Path, panels: bool) -> float:
    """Seconds of `embed` (the command, model loading included), measured when the store was made."""
    seconds = store.parent / f"{store.name}.seconds"
    if not (store / "report.json").exists():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "myPython", "embed", str(pool), "--out", str(store), "--quiet",
                        *(["--panels"] if panels else [])], check=True, cwd=REPO)
        seconds.write_text(f"{time.perf_counter() - start:.2f}\n")
    return float(seconds.read_text()) if seconds.exists() else float("nan")


def match(store: Path, csv: Path) -> tuple[list[tuple], float]:
    """(the CSV's rows, seconds of `match-videos`)."""
    from myPython.pool.video_match import read_matches_csv

    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "myPython", "match-videos", "--db", str(store), "--out", str(csv),
                    "--threshold", "0", "--quiet"], check=True, cwd=REPO, stderr=subprocess.DEVNULL)
    return read_matches_csv(csv), time.perf_counter() - start


def overlaps(row: tuple, truth: dict[str, tuple[float, float]]) -> bool:
    """Whether a segment's times overlap the true ones on both sides (truth: video -> (start, end) of the shared
    seconds; a composition shows its source from its start, frame for frame)."""
    q, r, qs, qe, rs, re_ = row[:6]
    return all(min(e, truth[v][1]) > max(s, truth[v][0]) for v, s, e in ((q, qs, qe), (r, rs, re_)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    from myPython.common import assets
    from myPython.common.ids import is_panel
    from myPython.pool.store import DescriptorStore
    from myPython.retrieval.models import load_model

    root = assets.cache_dir() / "video_panels_study"
    pool = root / f"pool-{args.sources}-{args.seconds:g}"
    origin = build_pool(pool, args.sources, args.seconds)
    threshold = float(load_model().info["recommended_video_threshold"])
    videos = sorted(origin)
    composites = {v for v in videos if v[:-4] != origin[v]}
    print(f"pool: {len(videos)} videos ({len(composites)} compositions) of {args.seconds:g} s; "
          f"recommended video threshold {threshold:.3f}")
    print(f"{'':10s}{'recall':>8s}{'localised':>11s}{'false pairs':>13s}{'best false':>12s}{'embed s/video':>15s}"
          f"{'rows/video':>12s}{'panel rows':>12s}{'match s':>9s}{'aligned pairs':>15s}")
    for panels in (False, True):
        store = root / f"store-{args.sources}-{args.seconds:g}{'-panels' if panels else ''}"
        seconds = embed(pool, store, panels)
        ids = DescriptorStore.open(store).load()[0]
        rows, match_seconds = match(store, root / f"{store.name}.csv")
        best: dict[tuple[str, str], float] = {}
        localised = set()
        for row in rows:
            pair = tuple(sorted(row[:2]))
            if row[6] >= threshold:
                best[pair] = max(best.get(pair, 0.0), row[6])
                span = {v: (0.0, args.seconds) for v in pair}
                if origin[pair[0]] == origin[pair[1]] and overlaps(row, span):
                    localised.add(pair)
        true_pairs = {tuple(sorted((c, f"{origin[c]}.mp4"))) for c in composites}
        found = sum(p in best for p in true_pairs)
        false = [p for p in best if origin[p[0]] != origin[p[1]]]
        best_false = max((r[6] for r in rows if origin[r[0]] != origin[r[1]]), default=0.0)
        panel_rows = sum(map(is_panel, ids))
        print(f"{'--panels' if panels else 'embed':10s}{found / len(true_pairs):8.3f}"
              f"{len(localised & true_pairs) / len(true_pairs):11.3f}{len(false):13d}{best_false:12.3f}"
              f"{seconds / len(videos):15.2f}{len(ids) / len(videos):12.1f}{panel_rows:12d}{match_seconds:9.1f}"
              f"{len({tuple(sorted(r[:2])) for r in rows}):15d}")
        for composite in sorted(composites):
            pair = tuple(sorted((composite, f"{origin[composite]}.mp4")))
            scores = [r[6] for r in rows if tuple(sorted(r[:2])) == pair]
            shown = sum(1 for i in ids if is_panel(i) and i.startswith(f"{composite}#"))
            print(f"    {composite:42s} score {max(scores, default=0.0):.3f}  panel rows {shown}")
        for pair in false:
            print(f"    false: {pair[0]} / {pair[1]} {best[pair]:.3f}")


if __name__ == "__main__":
    main()
