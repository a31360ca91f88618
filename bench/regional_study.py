"""Can R-MAC's own regions find a picture inside a composition? Measured on the VALIDATION split only.

A planning study for regional matching (issue #20: an inset, half of a duet). Items: the validation photos, and
for each photo S a picture-in-picture (S as an inset over another validation photo H) and a side-by-side (S next
to another photo). Every composite C is scored against every photo P three ways, with the default model (fp32):

* global: cos(C, P), today's descriptor;
* regions: the best cosine between one of C's region vectors (`pooled_rois/pca/normalized`, the whitened
  regions the descriptor sums, both scales) and P's global descriptor;
* region pairs: the best cosine between a region of C and a region of P.

`--levels 3` takes the composites' regions from a finer grid (the photos keep the model's). Printed: the recall
of the composites' parts (S and H, both same origin) at the score that 0.5 % of the unrelated (composite, photo)
pairs reach, per kind and way, and the regions a row would store.

    .venv/bin/python bench/regional_study.py [--levels 3]

Result (third build, fp32, 38 photos, 76 composites), recall of the source at the unrelated pairs' 99.5 %:
picture-in-picture 0.079 global, 0.263 regions (0.316 with --levels 3, 40 regions a row); side-by-side source
0.895 and other part 0.632 global, both 1.000 with regions (16 regions a row, 8 KB at a byte a dimension).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from keypoint_study import study_model  # noqa: E402

from myPython.common.images import load_image  # noqa: E402
from myPython.datasets import platform_edits, sources  # noqa: E402

SEED = 4242


def describe(images: list[np.ndarray], levels: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """(global descriptors N x D, each image's region vectors R_i x D) of the default model, all scales; the regions
    of a grid of `levels` levels (default the model's L; the global descriptor always uses the model's)."""
    from myPython.build.engine import fp32_engine
    from myPython.retrieval.extractor import prepare_inputs
    from myPython.rmac.functional import l2_normalize
    from myPython.rmac.grid import get_rmac_region_coordinates, pack_regions_for_network

    spec = study_model()
    settings = spec.settings()
    whole = fp32_engine(spec.proto, spec.weights, "rmac/normalized")
    regional = fp32_engine(spec.proto, spec.weights, "pooled_rois/pca/normalized")
    glob, regions = [], []
    for image in images:
        total, parts = 0.0, []
        for x in prepare_inputs(image, settings, None):
            rois = pack_regions_for_network([get_rmac_region_coordinates(x.shape[1], x.shape[2], settings.L)])
            total = total + whole.forward(x[None], rois)[0]
            grid = get_rmac_region_coordinates(x.shape[1], x.shape[2], levels or settings.L)
            parts.append(regional.forward(x[None], pack_regions_for_network([grid])))
        glob.append(l2_normalize(total))
        regions.append(np.concatenate(parts))
    return np.stack(glob).astype(np.float32), regions


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=None, help="grid levels of the composites' regions")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    photos = [load_image(p.path) for p in sources.photos("validation")]
    n = len(photos)
    items, parts, kinds = [], [], []
    for s in range(n):
        h = (s + 1 + int(rng.integers(n - 1))) % n  # another photo
        items.append(platform_edits.picture_in_picture(photos[s], rng, host=photos[h]).image)
        parts.append((s, h))
        kinds.append("picture_in_picture")
        o = (s + 1 + int(rng.integers(n - 1))) % n
        items.append(platform_edits.side_by_side(photos[s], rng, other=photos[o]).image)
        parts.append((s, o))
        kinds.append("side_by_side")
    gp, rp = describe(photos)
    gc, rc = describe(items, args.levels)
    r = rp + rc
    scores = {
        "global": gc @ gp.T,
        "regions": np.stack([(rc[c] @ gp.T).max(axis=0) for c in range(len(items))]),
        "region pairs": np.stack([np.array([(rc[c] @ rp[p].T).max() for p in range(n)]) for c in range(len(items))]),
    }
    truth = np.zeros((len(items), n), bool)
    inset = np.zeros((len(items), n), bool)
    for c, (s, h) in enumerate(parts):
        truth[c, [s, h]] = True
        inset[c, s] = True
    kinds = np.array(kinds)
    print(f"{n} validation photos, {len(items)} composites; regions a row: median "
          f"{int(np.median([len(x) for x in r]))} of {r[0].shape[1]} dimensions "
          f"({int(np.median([len(x) for x in r])) * r[0].shape[1]} bytes at one byte a dimension)")
    for name, s in scores.items():
        bar = np.quantile(s[~truth], 0.995)
        line = [f"{name:>13}: unrelated 99.5 % at {bar:.3f};"]
        for kind in ("picture_in_picture", "side_by_side"):
            rows = kinds == kind
            line.append(f"{kind} source {np.mean(s[rows][inset[rows]] > bar):.3f}, "
                        f"other part {np.mean(s[rows][truth[rows] & ~inset[rows]] > bar):.3f};")
        print(" ".join(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
