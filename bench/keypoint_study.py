"""How to choose the keypoints verification keeps, measured on the VALIDATION split only.

Items: each validation photo, one copy per edit kind of `datasets/edits.py`, one edit per family of
`datasets/platform_edits.py` (picture-in-picture, side by side, rotation, portrait fill, heavy JPEG, thumbnail)
and the photo under each of five shared overlay templates (`platform_video_edits`: app chrome overlaid and
framed, watermark, sticker, meme text), one template per kind for every photo. For each way of choosing
keypoints (how many, and over how fine a grid: pool/verify.py `balanced_order`) it prints, at the inlier count
that 0.5 % of the unrelated pairs reach:

* recall of the copies of each kind (a photo with its copy);
* the share of the shared-template pairs (two different photos under one template) above it: false merges.

    .venv/bin/python bench/keypoint_study.py [--variants 1:256 4:256 4:128]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from myPython.datasets import copies, platform_edits, sources  # noqa: E402
from myPython.datasets.platform_video_edits import AppChrome, MemeText, Sticker, Watermark  # noqa: E402
from myPython.pool.verify import local_features, verify  # noqa: E402

SEED = 5150
PLAIN_PAIRS = 20_000  # unrelated pairs sampled
PLATFORM_EDITS = (("composition", "picture_in_picture"), ("composition", "side_by_side"), ("geometry", "rotate90"),
                  ("geometry", "portrait_blur"), ("quality", "heavy_jpeg"), ("quality", "thumbnail"))


def study_model():
    """The default model the sources build, or DEEP_RETRIEVAL_STUDY_MODEL=<folder of the model cache> (a build
    kept from before an edit of its sources)."""
    import os

    from myPython.common import assets
    from myPython.retrieval.models import load_model

    name = os.environ.get("DEEP_RETRIEVAL_STUDY_MODEL")
    if not name:
        return load_model()
    folder = assets.cache_dir() / "models" / name
    return load_model(folder / "deploy.prototxt", folder / "default.caffemodel")


def copy_items(rng: np.random.Generator, platform: tuple = PLATFORM_EDITS, seed: int = SEED
               ) -> tuple[list[np.ndarray], list[str], list[str], list[tuple[np.ndarray, str]]]:
    """(images, origin of each, kind of each, the (photo, origin) originals): each validation photo, one copy per
    edit kind of datasets/edits.py but reencode (drawn with `seed`), and one edit per (family, name) of
    `platform`."""
    photos = sources.photos("validation")
    images, origins, kinds = [], [], []
    for copy in copies.photo_copies(photos, seed, kinds=tuple(k for k in copies.edits.EDIT_KINDS if k != "reencode")):
        images.append(copy.image)
        origins.append(copy.origin)
        kinds.append(copy.kind)
    originals = [(im, o) for im, o, k in zip(images, origins, kinds) if k == "original"]
    for image, origin in originals:
        for family, name in platform:
            images.append(platform_edits.apply(image, family, name, rng).image)
            origins.append(origin)
            kinds.append(name)
    return images, origins, kinds, originals


def build_items(rng: np.random.Generator) -> tuple[list[np.ndarray], list[str], list[str]]:
    """(images, origin of each, kind of each); 'original' for the photos themselves."""
    images, origins, kinds, originals = copy_items(rng)
    templates = {"app_chrome_overlay": AppChrome.random(rng, style="overlay"),
                 "app_chrome_framed": AppChrome.random(rng, style="framed"),
                 "watermark": Watermark.random(rng, moving=False), "sticker": Sticker.random(rng),
                 "meme_text": MemeText.random(rng)}
    for name, template in templates.items():
        for image, origin in originals:
            images.append(template.apply(image).image)
            origins.append(origin)
            kinds.append("shared_" + name)
    return images, origins, kinds


def pair_labels(origins: list[str], kinds: list[str]) -> tuple[np.ndarray, ...]:
    """(i, j, positive, shared, plain) over the pairs i < j of `build_items`' items: a photo with one of its edits,
    two different photos under one shared template, and a sample of PLAIN_PAIRS unrelated pairs."""
    origins, kinds = np.array(origins), np.array(kinds)
    i, j = np.triu_indices(len(origins), 1)
    same = origins[i] == origins[j]
    shared = (kinds[i] == kinds[j]) & np.char.startswith(kinds[i], "shared_") & ~same
    plain = ~same & ~shared
    plain[np.random.default_rng(SEED).permutation(np.flatnonzero(plain))[PLAIN_PAIRS:]] = False  # a sample
    positive = same & (kinds[i] == "original")  # a photo with one of its edits
    return i, j, positive, shared, plain


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["1:256", "4:256", "6:256", "4:128", "8:128"],
                        help="grid:keypoints (grid 1: strongest responses only, the previous rule)")
    args = parser.parse_args()
    images, origins, kinds = build_items(np.random.default_rng(SEED))
    i, j, positive, shared, plain = pair_labels(origins, kinds)
    origins, kinds = np.array(origins), np.array(kinds)
    n = len(images)
    print(f"{n} items from {len(set(origins))} validation photos; {positive.sum()} copy pairs, {shared.sum()} "
          f"shared-template pairs, {plain.sum()} unrelated pairs (sampled)")
    for variant in args.variants:
        grid, keep = (int(x) for x in variant.split(":"))
        start = time.perf_counter()
        feats = [local_features(im, max_keypoints=keep, grid=grid) for im in images]
        took = (time.perf_counter() - start) / n
        inliers = np.array([verify(feats[a], feats[b]).inliers if positive[k] or shared[k] or plain[k] else 0
                            for k, (a, b) in enumerate(zip(i, j))])
        bar = np.quantile(inliers[plain], 0.995)
        print(f"\ngrid {grid}, {keep} keypoints: {1000 * took:.0f} ms/image; unrelated pairs' 99.5 % quantile "
              f"{bar:.0f} inliers")
        for kind in sorted(set(kinds[j][positive])):
            pick = positive & (kinds[j] == kind)
            print(f"  copy  {kind:28s} recall {np.mean(inliers[pick] > bar):.3f}  "
                  f"median {np.median(inliers[pick]):5.0f}")
        for kind in sorted(set(kinds[i][shared])):
            pick = shared & (kinds[i] == kind)
            print(f"  false {kind:28s} merges {np.mean(inliers[pick] > bar):.3f}  "
                  f"median {np.median(inliers[pick]):5.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
