"""Which geometric evidence the video scorer needs: leave-one-family-out pair AP on the training videos.

Matches the training pool (training sources only, datasets/video_training.py) with the default model's
calibrated settings, every segment verified, and refits the scorer out of fold (as the calibration does,
build/video_calibration.py) with the geometric features changed:

* all features (what the default model uses: moving cover = moving share x cover);
* the moving share alone in place of the moving cover;
* no moving cover;
* no geometric evidence at all (inliers, their contrast, the moving cover).

Prints pair AP, and precision / recall at the out-of-fold threshold, for each, at the calibrated L2.
Nothing here looks at the held-out videos. Usage: python bench/video_feature_ablation.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import myPython.pool.video_match as video_match  # noqa: E402
from myPython.build import video_calibration as vc  # noqa: E402
from myPython.datasets.video_edits import ambiguous_pairs, pool_truth  # noqa: E402
from myPython.datasets.video_training import training_pool  # noqa: E402
from myPython.pool.informative import noise_descriptors  # noqa: E402
from myPython.retrieval.extractor import DescriptorExtractor  # noqa: E402
from myPython.retrieval.models import load_model  # noqa: E402

COVER = video_match.FEATURES.index("moving_cover")
GEOMETRIC = [video_match.FEATURES.index(f) for f in ("log_inliers", "inlier_contrast", "moving_cover")]


def main() -> int:
    spec = load_model()
    cal = spec.info["video_matching"]
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings(), engine="onnxruntime")
    noise = noise_descriptors(extractor, spec.fingerprint())
    pool, pieces = training_pool()
    truth, ignore = pool_truth(pieces), ambiguous_pairs(pieces)
    families = {video: ps[0].source for video, ps in pieces.items()}
    store = vc.training_store(extractor, spec.fingerprint(), pool)
    options = video_match.calibrated_options(spec.info, verify_floor=0.0)
    matches = list(video_match.match_videos(store, None, options, noise))
    table = vc.SegmentTable(matches, truth, families, ignore)
    kept = [m for m in matches if m.query_id != m.ref_id and tuple(sorted((m.query_id, m.ref_id))) not in ignore]
    shares = np.array([min(1.0, max(0.0, s.features.get("moving_share", 0.0))) for m in kept for s in m.segments])
    assert len(shares) == len(table.y)  # the table's rows, in its order
    full = table.x.copy()
    variants = {"all features (moving cover)": full,
                "moving share alone": np.c_[np.delete(full, COVER, axis=1), shares],
                "no moving cover": np.delete(full, COVER, axis=1),
                "no geometric evidence": np.delete(full, GEOMETRIC, axis=1)}
    print(f"training videos: {len(pieces)} videos, {len(truth)} true pairs; out of fold, L2 {cal['l2']:g}")
    print(f"{'features':>30}  {'pair AP':>7}  {'precision':>9}  {'recall':>6}")
    for name, x in variants.items():
        table.x = x
        result = vc._scored(table, table.out_of_fold(cal["l2"]), truth)
        print(f"{name:>30}  {result['ap']:7.4f}  {result['precision']:9.3f}  {result['recall']:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
