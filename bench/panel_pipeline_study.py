"""Panel rows through the pipeline: `embed --panels` against plain `embed`, at the model's operating point.
Measured on the VALIDATION split only.

`panel_study.py` measured panels as descriptors (the best of the global and panel cosines). This study runs what a
user runs: the composites and copies of that study (the project's generator and the study's own composites of
validation photos, and the photos' copies) are written to a folder with the photos themselves, embedded by
`pool.jobs.embed` with and without panel rows (the default model, fp32 ONNX Runtime, local features; stores kept
under --out are reused, their embed time then not measured), scored by the
default fused score of every pair of items (panel rows folded into their owners, as `eval-images --panels` does)
and grouped by `group` at the model's recommended threshold. Printed, for both: per kind, the recall of the
(item, source photo) pairs at the threshold; the unrelated pairs that pass it (false links) among composites,
among plain items and copies, and in all; the groups' pair precision and recall; rows and seconds of embedding.

    nice -n 19 .venv/bin/python bench/panel_pipeline_study.py [--photos N] [--out out/panel_pipeline]

Results (the default model, 2-core AMD EPYC, 2026-12-07; groups with panel links attach-only): see
docs/same-origin.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from panel_study import SEED, build_items  # noqa: E402

from myPython.datasets import copies, sources  # noqa: E402


def write_pool(folder: Path, photos: list[np.ndarray], items: list) -> list[tuple[str, set[int], str, int]]:
    """The photos and items as JPEG files; (name, the photos it shows, kind, its source photo) in name order."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = [(f"photo_{k:03d}.jpg", photo, {k}, "photo", k) for k, photo in enumerate(photos)]
    entries += [(f"item_{n:04d}.jpg", item.image, set(item.parts), item.kind, item.parts[0])
                for n, item in enumerate(items)]
    for name, image, *_ in entries:
        if not (folder / name).exists():
            cv2.imwrite(str(folder / name), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return sorted((name, shows, kind, source) for name, _, shows, kind, source in entries)


def measure(pool: Path, out: Path, panels: bool, entries: list[tuple[str, set[int], str, int]],
            composites: set[str]) -> dict:
    from myPython.apps.commands.eval_unseen import owner_scores
    from myPython.common.ids import is_panel
    from myPython.pool import jobs
    from myPython.pool.embed import EmbedOptions
    from myPython.pool.scoring import score_options
    from myPython.pool.store import DescriptorStore
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    spec = load_model()
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings(), output=spec.output,
                                               batch_size=8, engine="onnxruntime")
    store_dir = out / ("store-panels" if panels else "store-plain")
    start = time.perf_counter()
    report = jobs.embed([pool], store_dir, spec, extractor, EmbedOptions(local_features=True, panels=panels))
    seconds = time.perf_counter() - start
    store = DescriptorStore.open(store_dir)
    ids = [i for s in store.shards() for i in s.ids()]
    names, shows, kinds, source = ([e[k] for e in entries] for k in range(4))
    if [i for i in ids if not is_panel(i)] != names:
        raise RuntimeError(f"{store_dir}: its items are not the pool's")
    options = score_options(spec)
    scores = owner_scores(store, options)
    threshold, groups = jobs.group(store, score=options)
    n = len(names)
    i, j = np.triu_indices(n, 1)
    same = np.array([bool(shows[a] & shows[b]) for a, b in zip(i, j)])
    passed = scores[i, j] >= threshold
    composite = np.array([k in composites for k in kinds])
    photo_row = {source[r]: r for r in range(n) if kinds[r] == "photo"}
    recall = {kind: float(np.mean([scores[r, photo_row[source[r]]] >= threshold for r in range(n) if kinds[r] == kind]))
              for kind in sorted(set(kinds) - {"photo"})}
    false = passed & ~same
    involves_composite = composite[i] | composite[j]
    index = {name: r for r, name in enumerate(names)}
    group_pairs = [(index[a], index[b]) for g in groups for x, a in enumerate(g.members) for b in g.members[x + 1:]]
    grouped_same = sum(bool(shows[a] & shows[b]) for a, b in group_pairs)
    return {"panels": panels, "rows": len(ids), "panel_rows": len(ids) - n, "seconds": seconds,
            "embedded": report.embedded_inputs > 0,
            "threshold": threshold, "recall": recall, "false_links": int(false.sum()),
            "false_links_composite": int((false & involves_composite).sum()),
            "false_links_plain": int((false & ~involves_composite).sum()),
            "precision": float(same[passed].mean()) if passed.any() else 1.0,
            "recall_all": float(passed[same].mean()), "group_pairs": len(group_pairs),
            "group_precision": grouped_same / len(group_pairs) if group_pairs else 1.0,
            "group_recall": grouped_same / int(same.sum())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=None, help="only the first N validation photos (development)")
    parser.add_argument("--out", default=str(REPO / "out" / "panel_pipeline"))
    args = parser.parse_args()
    from panel_study import GENERATOR, OWN

    from myPython.common.images import load_image

    listed = sources.photos("validation")[: args.photos]
    photos = [copies.capped(load_image(p.path)) for p in listed]
    items = build_items(photos, listed, np.random.default_rng(SEED))
    out = Path(args.out)
    entries = write_pool(out / "pool", photos, items)
    composites = {k for _, _, k, _ in entries if k.startswith(GENERATOR) or k in OWN}
    results = [measure(out / "pool", out, panels, entries, composites) for panels in (False, True)]
    print(f"{len(entries)} items ({len(photos)} validation photos, {len(items)} composites and copies)")
    print(f"{'':28s}{'embed':>12s}{'embed --panels':>16s}")
    rows = [("rows (panel rows)", lambda r: f"{r['rows']} ({r['panel_rows']})"),
            ("embed seconds", lambda r: f"{r['seconds']:.0f}" if r["embedded"] else "(kept)"),
            ("threshold", lambda r: f"{r['threshold']:.4f}"),
            ("precision / recall", lambda r: f"{r['precision']:.3f} / {r['recall_all']:.3f}"),
            ("false links: composite", lambda r: str(r["false_links_composite"])),
            ("false links: plain", lambda r: str(r["false_links_plain"])),
            ("groups: pair precision", lambda r: f"{r['group_precision']:.3f}"),
            ("groups: pair recall", lambda r: f"{r['group_recall']:.3f}")]
    for label, cell in rows:
        print(f"{label:28s}{cell(results[0]):>12s}{cell(results[1]):>16s}")
    print("source recall at the threshold, per kind:")
    for kind in sorted(results[0]["recall"]):
        print(f"  {kind:26s}{results[0]['recall'][kind]:>12.3f}{results[1]['recall'][kind]:>16.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
