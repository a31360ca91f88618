"""`make bench`: the cost of geometric verification (pool/verify.py), the stage behind `search`'s default score.

Measured on real photos that scikit-image ships and the project's edited copies of them:
* local features: RootSIFT of one image (grey, long side 512, <= 256 keypoints), as `embed` computes
  them next to each descriptor (ms per image, and bytes stored per row);
* verification: one candidate pair (ratio-test matching both ways round the mirror, RANSAC similarity),
  for copies and for unrelated pairs (pairs per second on one core);
* search with verification: queries per second of `search` over a store of these images with and
  without the fused score (the verification of `candidates` neighbours per query dominates).

Usage: python bench/bench_verify.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from myPython.common import assets  # noqa: E402
from myPython.common.images import load_image  # noqa: E402
from myPython.datasets import edits  # noqa: E402
from myPython.pool.rootsift_bits import MIRROR_MASK, hamming  # noqa: E402
from myPython.pool.verify import (  # noqa: E402
    BYTES_PER_KEYPOINT,
    MAX_KEYPOINTS,
    RATIO,
    local_features,
    ratio_matches,
    unpack,
    verify,
)

PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg",
          "retina.jpg", "ihc.png"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    originals = [load_image(p) for p in assets.skimage_photos(PHOTOS)]
    images = []
    for n, image in enumerate(originals):
        images.append(image)
        images += [edits.apply_edit(image, kind, n) for kind in edits.EDIT_KINDS if kind != "reencode"]
    per = len(edits.EDIT_KINDS)  # original + 5 copies per photo
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        feats = [local_features(im) for im in images]
        best = min(best, time.perf_counter() - start)
    feature_ms = 1000 * best / len(images)
    copies = [(k * per, k * per + j) for k in range(len(originals)) for j in range(1, per)]
    unrelated = [(k * per + a, ((k + 1) % len(originals)) * per + b) for k in range(len(originals))
                 for a in range(per) for b in range(per)][: 4 * len(copies)]
    rows = []
    for name, pairs in (("copies", copies), ("unrelated", unrelated)):
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            inliers = [verify(feats[a], feats[b]).inliers for a, b in pairs]
            best = min(best, time.perf_counter() - start)
        rows.append((name, len(pairs), len(pairs) / best, float(np.median(inliers))))
    print(f"verification cost ({platform.processor() or platform.machine()}, 1 OpenCV thread, best of {args.repeat})")
    print(f"  local features: {feature_ms:.1f} ms per image; {MAX_KEYPOINTS * BYTES_PER_KEYPOINT} bytes per row "
          f"({len(images)} images, {np.mean([im.shape[1] for im in images]):.0f} px wide on average)")
    print(f"  {'pairs':<10}{'count':>7}{'pairs/s':>10}{'median inliers':>16}")
    for name, count, rate, median in rows:
        print(f"  {name:<10}{count:>7}{rate:>10.0f}{median:>16.0f}")
    _matcher_ratio(feats, copies + unrelated, args.repeat)
    _search_rates(images, feats)
    return 0


def _matcher_ratio(feats: list[np.ndarray], pairs: list[tuple[int, int]], repeat: int) -> None:
    """Ratio-test matching of A against B and B mirrored: the one-product matcher of pool/verify.py against
    OpenCV's brute-force matcher (what verify used before), the same pairs side by side."""
    def opencv(a: np.ndarray, b: np.ndarray) -> int:
        matcher, kept = cv2.BFMatcher(cv2.NORM_HAMMING), 0
        for other in (b, b ^ MIRROR_MASK):
            matches = matcher.knnMatch(a, other, k=2)
            # RATIO squared = 16 / 25 in exact integer arithmetic (0.8**2 in float64 is a little above 0.64)
            assert RATIO == 0.8
            kept += sum(1 for m in matches if len(m) == 2 and 25 * m[0].distance < 16 * m[1].distance)
        return kept

    def one_product(a: np.ndarray, b: np.ndarray) -> int:
        distances = hamming(a, np.concatenate([b, b ^ MIRROR_MASK]))
        return len(ratio_matches(distances[:, : len(b)])[0]) + len(ratio_matches(distances[:, len(b):])[0])

    unpacked = [unpack(f)[0] for f in feats]
    seconds, kept = {}, {}
    for name, fn in (("OpenCV BFMatcher", opencv), ("one product", one_product)):
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            kept[name] = sum(fn(unpacked[a], unpacked[b]) for a, b in pairs)
            best = min(best, time.perf_counter() - start)
        seconds[name] = best
    assert kept["OpenCV BFMatcher"] == kept["one product"], kept
    print(f"  ratio-test matching, {len(pairs)} pairs both ways round the mirror: OpenCV BFMatcher "
          f"{1000 * seconds['OpenCV BFMatcher'] / len(pairs):.2f} ms/pair, one product "
          f"{1000 * seconds['one product'] / len(pairs):.2f} ms/pair: "
          f"x{seconds['OpenCV BFMatcher'] / seconds['one product']:.2f} (same matches)")


def _search_rates(images: list[np.ndarray], feats: list[np.ndarray]) -> None:
    """Queries per second of search over a store of these images, fused score vs plain cosine."""
    from myPython.build.calibration import describe_into_store
    from myPython.pool.scoring import ScoreOptions, score_options
    from myPython.pool.search import SearchOptions, search
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    spec = load_model()
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings())
    with tempfile.TemporaryDirectory() as tmp:
        store = describe_into_store(extractor, images, Path(tmp) / "store")
        fused = score_options(spec, store=store)
        print(f"  search over {len(images)} rows, top-10 ({fused.fusion.candidates if fused.fusion else 0} "
              "candidates verified per query):")
        for options in (ScoreOptions("cosine", 0.0), fused):
            start = time.perf_counter()
            count = sum(1 for _ in search(store, None, SearchOptions(top_k=10, score=options)))
            print(f"    {options.name:<8}{count / (time.perf_counter() - start):>10.1f} queries/s")


if __name__ == "__main__":
    sys.exit(main())
