"""Video matching by platform edit kind on training sources, with and without sub-rows (panels, quarter turns).

Embeds the platform video pool (datasets/platform_video_pool.py: the moving originals of the training
videos, 4 edits of `platform_video_edits` each, every family in turn, and pairs of different sources under
one overlay template) with the default model and local features, plainly, with `--turns` (a quarter-turned
row a frame), with `--panels` and with both, and matches each store with the model's calibrated settings
(pool/video_match.py; sub-rows folded into their frames).
Prints, by edit kind, the true pairs involving it, the recall at the recommended video threshold and the
different-origin pairs accepted; then precision and recall overall, rows per video and embedding time.

Nothing here looks at the held-out videos. Usage: python bench/platform_video_study.py
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import myPython.pool.video_match as video_match  # noqa: E402
from myPython.common import assets  # noqa: E402
from myPython.datasets.platform_video_pool import (  # noqa: E402
    PLATFORM_EDITS_PER_SOURCE,
    kind_of,
    platform_pool,
    pool_key,
)
from myPython.datasets.video_edits import ambiguous_pairs, pool_truth  # noqa: E402
from myPython.pool.embed import EmbedOptions  # noqa: E402
from myPython.pool.informative import noise_descriptors  # noqa: E402
from myPython.pool.jobs import embed  # noqa: E402
from myPython.pool.store import DescriptorStore  # noqa: E402
from myPython.retrieval.extractor import DescriptorExtractor  # noqa: E402
from myPython.retrieval.models import load_model  # noqa: E402


def by_kind(pairs: list, scores: np.ndarray, truth: dict, threshold: float) -> dict:
    """kind -> [true pairs, accepted true pairs, false accepted] over pairs involving a video of that kind."""
    table: dict = defaultdict(lambda: [0, 0, 0])
    for (a, b), score in zip(pairs, scores):
        for kind in {kind_of(a), kind_of(b)}:
            row = table[kind]
            if (a, b) in truth:
                row[0] += 1
                row[1] += int(score >= threshold)
            else:
                row[2] += int(score >= threshold)
    return table


def pair_scores(matches: list, pairs: list) -> np.ndarray:
    best: dict = {}
    for m in matches:
        key = tuple(sorted((m.query_id, m.ref_id)))
        best[key] = max(best.get(key, 0.0), m.score)
    return np.array([best.get(p, 0.0) for p in pairs])


def store_for(pool: Path, extractor, panels: bool, tag: str = "", turns: bool = False
              ) -> tuple[DescriptorStore, float]:
    """The pool embedded (cached by pool, `tag`, model and options); seconds the embedding took (0 when cached)."""
    name = f"store-{pool_key()}{tag}-{extractor.key()}-{int(panels)}" + ("-turns" if turns else "")
    root = assets.cache_dir() / "platform_video_pool" / name
    if (root / "done").exists():
        return DescriptorStore.open(root), 0.0
    start = time.perf_counter()
    embed([pool], root, None, extractor, EmbedOptions(local_features=True, panels=panels, turns=turns))
    (root / "done").touch()
    return DescriptorStore.open(root), time.perf_counter() - start


@dataclass
class Setup:
    """The default model's spec, video threshold, extractor and noise set; the platform pool (`per_source` edits a
    clip), its true pairs, ignored pairs, videos, every pair of them not ignored, and which pairs are true."""

    spec: object
    threshold: float
    extractor: DescriptorExtractor
    noise: np.ndarray
    pool: Path
    truth: dict
    ignore: set
    videos: list
    pairs: list
    positive: np.ndarray


def setup(per_source: int = PLATFORM_EDITS_PER_SOURCE) -> Setup:
    spec = load_model()
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings())
    pool, pieces = platform_pool(per_source)
    truth, ignore = pool_truth(pieces), ambiguous_pairs(pieces)
    videos = sorted(pieces)
    pairs = [(a, b) for i, a in enumerate(videos) for b in videos[i + 1:] if (a, b) not in ignore]
    return Setup(spec, float(spec.info["recommended_video_threshold"]), extractor,
                 noise_descriptors(extractor, spec.fingerprint()), pool, truth, ignore, videos, pairs,
                 np.array([p in truth for p in pairs]))


# label -> (panels, turns): the embeddings compared
CONFIGS = {"plain": (False, False), "--turns": (False, True), "--panels": (True, False),
           "--panels --turns": (True, True)}


def main() -> int:
    run = setup()
    spec, threshold, extractor, noise = run.spec, run.threshold, run.extractor, run.noise
    pool, truth, ignore, videos, pairs, positive = run.pool, run.truth, run.ignore, run.videos, run.pairs, run.positive
    print(f"{len(videos)} videos, {len(truth)} true pairs, {len(ignore)} ignored; threshold {threshold}, "
          f"engine {extractor.engine.name}")
    tables, lines = {}, []
    for label, (panels, turns) in CONFIGS.items():
        store, seconds = store_for(pool, extractor, panels, turns=turns)
        matches = list(video_match.match_videos(store, None, video_match.calibrated_options(spec.info), noise))
        scores = pair_scores(matches, pairs)
        tables[label] = by_kind(pairs, scores, truth, threshold)
        accepted = scores >= threshold
        lines.append(f"{label:16s} precision {positive[accepted].mean():.4f} recall "
                     f"{accepted[positive].mean():.4f} ({accepted.sum()} accepted); {len(store) / len(videos):.1f} "
                     f"rows a video; embedded in {seconds:.0f} s" + (" (cached)" if not seconds else ""))
    print(f"\n{'kind (recall, false)':22s} {'pairs':>6s} " + " ".join(f"{label:>16s}" for label in CONFIGS))
    for kind in sorted(tables["plain"], key=lambda k: (k != "original", k)):
        n = tables["plain"][kind][0]
        cells = (f"{t[kind][1] / max(1, n):10.3f} {t[kind][2]:5d}" for t in tables.values())
        print(f"{kind:22s} {n:6d} " + " ".join(cells))
    print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
