"""How the default model's same-origin score treats shared overlays, on TRAINING photos only.

For each overlay kind of `datasets/platform_video_edits` (app chrome in its two styles, watermark, stickers, meme
text), one template is drawn and applied to every photo. Pairs:

* positive: a photo and its own overlaid version (same origin);
* negative: two different photos under the same template (what an app screenshot pool is made of).

Prints, per kind, the median and highest fused score of the negatives, the share of negatives the recommended
threshold accepts (false merges) and the share of positives it accepts (recall). A measurement to plan the
shared-content suppression of the unseen-edits issue, not a held-out result (training sources only):

    .venv/bin/python bench/shared_overlay_probe.py [--photos 20] [--out out/overlay_probe]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from myPython.datasets import sources  # noqa: E402
from myPython.datasets.platform_video_edits import AppChrome, MemeText, Sticker, Watermark  # noqa: E402


def templates(rng: np.random.Generator) -> dict:
    return {"app_chrome_overlay": AppChrome.random(rng, style="overlay"),
            "app_chrome_framed": AppChrome.random(rng, style="framed"),
            "watermark": Watermark.random(rng, moving=False), "sticker": Sticker.random(rng),
            "meme_text": MemeText.random(rng)}


def main() -> int:
    from myPython.common.images import load_image
    from myPython.pool.jobs import embed
    from myPython.pool.scoring import pair_score_matrix, score_options
    from myPython.pool.store import DescriptorStore
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="keep the images and store here (default: a temp folder)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    photos = [load_image(p.path) for p in sources.photos("train")[: args.photos]]
    kinds = templates(rng)
    spec = load_model()
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings(), engine="onnxruntime")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out) if args.out else Path(tmp)
        folder = root / "images"
        folder.mkdir(parents=True, exist_ok=True)
        for n, photo in enumerate(photos):
            cv2.imwrite(str(folder / f"p{n:03d}_original.png"), photo)
            for kind, template in kinds.items():
                cv2.imwrite(str(folder / f"p{n:03d}_{kind}.png"), template.apply(photo).image)
        from myPython.pool.embed import EmbedOptions

        embed([folder], root / "store", spec, extractor, EmbedOptions(local_features=True))
        store = DescriptorStore.open(root / "store")
        ids = [i for shard in store.shards() for i in shard.ids()]
        options = score_options(spec, store=store)
        scores = pair_score_matrix(store, options)
    threshold = options.threshold
    row = {name: k for k, name in enumerate(ids)}
    print(f"{len(photos)} training photos; score {options.name}, recommended threshold {threshold:.4f}")
    print(f"{'overlay':>20}  {'neg median':>10}  {'neg max':>8}  {'false merges':>12}  {'recall':>6}")
    for kind in kinds:
        members = [row[f"p{n:03d}_{kind}.png"] for n in range(len(photos))]
        negatives = np.array([scores[a, b] for i, a in enumerate(members) for b in members[i + 1:]])
        positives = np.array([scores[row[f"p{n:03d}_original.png"], members[n]] for n in range(len(photos))])
        print(f"{kind:>20}  {np.median(negatives):10.3f}  {negatives.max():8.3f}  "
              f"{np.mean(negatives >= threshold):12.3f}  {np.mean(positives >= threshold):6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
