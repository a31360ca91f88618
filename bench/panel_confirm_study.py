"""Should a whole-row link between two pictures that both hold panels need their panels to agree? VALIDATION split.

Two screenshots of different photos in one app match as whole pictures: the app's status bar, header, buttons
and caption layout are the same pixels around both (the descriptor and the inliers agree, 0.99). With
`embed --panels` each screenshot also has a panel row: the photo inside the chrome. Two screenshots of one photo
have panels that match each other; two of different photos do not. The candidate rule: a link between two
whole rows that both have panel rows stands only when some panel of one and some panel of the other are alike
(cosine >= tau); otherwise the pair keeps only what its panels say against the other's whole row (the folded
score without the whole/whole term).

The risk: plain photos get false panels (a window, a door, a framed picture: about 0.3 a photo), and a copy's
detector may find other rectangles than its source's; then two copies would lose their link. This study
measures both sides on validation photos only (`datasets/sources.py` split "validation"):

* screenshots: 4 app chrome templates (`platform_video_edits.AppChrome`, 2 overlay and 2 framed), each around
  6 different photos (60 pairs of different photos under one template: the hard negatives); copies of some
  screenshots (the same photo under another template, and the screenshot through heavy JPEG);
* plain copies: every photo with 3 edits of `platform_edits` that make no composition (zoom, heavy JPEG,
  greyscale, vignette, thumbnail, portrait with blurred fill, screen photo, rotation, colour casts, in turn).

Embedded with panel rows and local features (the default model, fp32), scored by the fused score of every pair
of rows (shared content taken out, as `eval-images` does), and folded into items. Printed for each tau: the
different-origin pairs and the same-origin pairs at or above the recommended threshold, by kind of pair.

    nice -n 19 .venv/bin/python bench/panel_confirm_study.py [--photos 30] [--out out/panel_confirm]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from myPython.common.ids import is_panel, owner_id  # noqa: E402
from myPython.common.images import load_image  # noqa: E402
from myPython.datasets import platform_edits as pe  # noqa: E402
from myPython.datasets.platform_video_edits import AppChrome  # noqa: E402
from myPython.datasets.sources import photos  # noqa: E402

SEED = 20261207
PLAIN_EDITS = [("geometry", "zoom"), ("quality", "heavy_jpeg"), ("photometric", "greyscale"),
               ("photometric", "vignette"), ("quality", "thumbnail"), ("geometry", "portrait_blur"),
               ("geometry", "screen_photo"), ("geometry", "rotate90"), ("photometric", "warm"),
               ("photometric", "high_contrast")]
TAUS = (None, 0.5, 0.6, 0.7, 0.8)


def build_items(count: int) -> list[tuple[str, np.ndarray, int, str]]:
    """(name, image, source photo, kind) of the pool."""
    rng = np.random.default_rng(SEED)
    pictures = [load_image(p.path) for p in photos("validation")[:count]]
    items = [(f"photo_{k:03d}", picture, k, "photo") for k, picture in enumerate(pictures)]
    templates = [AppChrome.random(rng, style=style) for style in ("overlay", "overlay", "framed", "framed")]
    shown = rng.permutation(count)[: 6 * len(templates)]
    for t, template in enumerate(templates):
        for k in shown[6 * t : 6 * t + 6]:
            items.append((f"shot_{t}_{k:03d}", template.apply(pictures[k]).image, int(k), "screenshot"))
            if k % 2 == 0:  # the same photo in another app, and this screenshot heavily compressed
                other = templates[(t + 1) % len(templates)]
                items.append((f"shotother_{t}_{k:03d}", other.apply(pictures[k]).image, int(k), "screenshot"))
                jpeg = pe.heavy_jpeg(template.apply(pictures[k]).image, rng, quality=(25, 40)).image
                items.append((f"shotjpeg_{t}_{k:03d}", jpeg, int(k), "screenshot"))
    for k, picture in enumerate(pictures):
        for j in range(3):
            family, name = PLAIN_EDITS[(3 * k + j) % len(PLAIN_EDITS)]
            items.append((f"copy_{k:03d}_{name}", pe.apply(picture, family, name, rng).image, k, "copy"))
    return items


def embedded(items: list, out: Path):
    """The pool written as PNG files and embedded with panel rows and local features (reused when present)."""
    from myPython.pool.embed import EmbedOptions
    from myPython.pool.jobs import embed
    from myPython.pool.store import DescriptorStore
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    spec = load_model()
    folder, store = out / "pool", out / "store"
    folder.mkdir(parents=True, exist_ok=True)
    for name, image, _, _ in items:
        if not (folder / f"{name}.png").exists():
            cv2.imwrite(str(folder / f"{name}.png"), image)
    if not (store / "done").exists():
        extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings(), engine="onnxruntime")
        embed([folder], store, spec, extractor, EmbedOptions(local_features=True, panels=True))
        (store / "done").touch()
    return spec, DescriptorStore.open(store)


def main(argv: list[str] | None = None) -> int:
    from myPython.pool.panel_rows import owner_rows
    from myPython.pool.scoring import pair_score_matrix, score_options

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=30)
    parser.add_argument("--out", default="out/panel_confirm")
    args = parser.parse_args(argv)
    items = build_items(args.photos)
    spec, store = embedded(items, Path(args.out))
    options = score_options(spec, store=store)
    ids, vectors = store.load()
    scores = pair_score_matrix(store, options)
    owners = owner_rows(ids)
    info = {name: (source, kind) for name, _, source, kind in items}
    starts = np.flatnonzero(owners == np.arange(len(ids)))
    names = [ids[s].rsplit("/", 1)[-1].rsplit(".", 1)[0] for s in starts]
    panels_of = {n: [r for r in range(s + 1, len(ids)) if owners[r] == s] for n, s in enumerate(starts)}
    with_panels = sum(1 for p in panels_of.values() if p)
    counts = Counter(info[n][1] for n, p in zip(names, panels_of.values()) if p)
    print(f"{len(names)} items ({Counter(k for _, _, _, k in items)}), {len(ids) - len(names)} panel rows; items "
          f"with panels: {with_panels} ({dict(counts)}); threshold {options.threshold}")
    assert all(is_panel(ids[r]) and owner_id(ids[r]) == ids[s] for n, s in enumerate(starts) for r in panels_of[n])
    threshold = options.threshold
    rows = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            ra, rb = starts[a], starts[b]
            pa, pb = panels_of[a], panels_of[b]
            whole = scores[ra, rb]
            cross = max([scores[p, rb] for p in pa] + [scores[ra, q] for q in pb], default=-np.inf)
            agree = float((vectors[pa] @ vectors[pb].T).max()) if pa and pb else None
            same = info[names[a]][0] == info[names[b]][0]
            kinds = "/".join(sorted((info[names[a]][1], info[names[b]][1])))
            rows.append((whole, cross, agree, same, kinds))
    print(f"\n{'tau':>6} {'kind of pair':22s} {'same-origin kept':>17} {'different-origin kept':>22}")
    for tau in TAUS:
        kept: Counter = Counter()
        total: Counter = Counter()
        for whole, cross, agree, same, kinds in rows:
            score = max(whole, cross)
            if tau is not None and agree is not None and agree < tau:
                score = cross  # the whole pictures match, their panels do not: the frame alone
            key = (kinds, same)
            total[key] += int(max(whole, cross) >= threshold)
            kept[key] += int(score >= threshold)
        for kinds in sorted({k for k, _ in total}):
            label = "-" if tau is None else str(tau)
            print(f"{label:>6} {kinds:22s} {kept[(kinds, True)]:>8d} of {total[(kinds, True)]:<6d}"
                  f" {kept[(kinds, False)]:>12d} of {total[(kinds, False)]:<6d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
