"""Quarter-turned rows (`embed --turns`) for photos: what they find and what they cost. VALIDATION split only.

R-MAC is not invariant to a quarter turn: a photo turned 90 degrees is no near neighbour of its source, so search
never proposes the pair and verification (whose keypoints would match) never sees it. With `--turns` each picture
also has a row for itself turned a quarter clockwise, folded into it like a panel (pool/panel_rows.py): a copy
turned clockwise matches the source's turned row, one turned anticlockwise matches through its own.

The pool is `panel_confirm_study.build_items` (validation photos; app screenshots of different photos under one
template, the hard negatives; plain copies by 10 edits in turn) plus one turned copy of each photo (rotate90,
rotate270 and rotate180 in turn). It is embedded four ways (plain, --turns, --panels, --panels --turns; the
default model, local features) and scored as `eval-images` scores (fused score, sub-rows folded, panels must
agree) and grouped by `group`, at the model's recommended threshold. Printed per embedding: recall of the
same-origin pairs by edit kind, the different-origin pairs that pass (by kind of pair), group pair precision and
recall, rows and seconds of embedding.

    nice -n 19 .venv/bin/python bench/turns_study.py [--photos 30] [--out out/turns_study]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from panel_confirm_study import SEED, build_items  # noqa: E402

from myPython.common.ids import owner_id  # noqa: E402
from myPython.datasets import platform_edits as pe  # noqa: E402

TURNS = ("rotate90", "rotate270", "rotate180")
CONFIGS = {"plain": (False, False), "--turns": (False, True), "--panels": (True, False),
           "--panels --turns": (True, True)}


def pool_items(count: int) -> list[tuple[str, np.ndarray, int, str]]:
    """(name, image, source photo, kind): the panel-confirm pool and a turned copy of each photo."""
    items = build_items(count)
    rng = np.random.default_rng(SEED + 1)
    photos = [(source, image) for _, image, source, kind in items if kind == "photo"]
    for source, image in photos:
        name = TURNS[source % len(TURNS)]
        items.append((f"turn_{source:03d}_{name}", pe.apply(image, "geometry", name, rng).image, source, name))
    return items


def kind_of(name: str, kind: str) -> str:
    return name.split("_", 2)[2] if kind == "copy" else kind


def measure(items: list, out: Path, label: str, panels: bool, turns: bool) -> dict:
    from myPython.apps.commands.eval_unseen import owner_scores
    from myPython.pool.embed import EmbedOptions
    from myPython.pool.groups import find_groups
    from myPython.pool.jobs import embed
    from myPython.pool.scoring import score_options
    from myPython.pool.store import DescriptorStore
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    spec = load_model()
    folder, store_dir = out / "pool", out / f"store-{int(panels)}{int(turns)}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, image, _, _ in items:
        if not (folder / f"{name}.png").exists():
            cv2.imwrite(str(folder / f"{name}.png"), image)
    seconds = 0.0
    if not (store_dir / "done").exists():
        extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings())
        start = time.perf_counter()
        embed([folder], store_dir, spec, extractor, EmbedOptions(local_features=True, panels=panels, turns=turns))
        seconds = time.perf_counter() - start
        (store_dir / "done").touch()
    store = DescriptorStore.open(store_dir)
    options = score_options(spec, store=store)
    ids = [i for shard in store.shards() for i in shard.ids()]
    owners = [i for i in ids if owner_id(i) == i]
    info = {name: (source, kind_of(name, kind)) for name, _, source, kind in items}
    names = [Path(i).stem for i in owners]
    scores = owner_scores(store, options)
    threshold = options.threshold
    recall: Counter = Counter()
    total: Counter = Counter()
    false: Counter = Counter()
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            (sa, ka), (sb, kb) = info[names[a]], info[names[b]]
            passed = scores[a, b] >= threshold
            if sa == sb:
                for kind in {ka, kb} - {"photo"} or {"photo"}:
                    total[kind] += 1
                    recall[kind] += int(passed)
            elif passed:
                false["/".join(sorted((ka, kb)))] += 1
    groups = find_groups(store, threshold, options=options)
    source_of = {owners[n]: info[names[n]][0] for n in range(len(names))}
    grouped = [(source_of[m], source_of[o]) for g in groups for i, m in enumerate(g.members) for o in g.members[i + 1:]]
    sources = Counter(s for s, _ in info.values())
    group_true = sum(a == b for a, b in grouped)
    return {"label": label, "recall": recall, "total": total, "false": false, "rows": len(ids), "items": len(names),
            "seconds": seconds, "group_precision": group_true / max(1, len(grouped)),
            "group_recall": group_true / max(1, sum(n * (n - 1) // 2 for n in sources.values())),
            "threshold": threshold}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=30)
    parser.add_argument("--out", default="out/turns_study")
    args = parser.parse_args(argv)
    items = pool_items(args.photos)
    results = [measure(items, Path(args.out), label, *flags) for label, flags in CONFIGS.items()]
    print(f"{len(items)} items ({dict(Counter(k for _, _, _, k in items))}); threshold {results[0]['threshold']}")
    print(f"\n{'same-origin recall':24s}" + "".join(f"{r['label']:>18s}" for r in results))
    for kind in sorted(results[0]["total"]):
        n = results[0]["total"][kind]
        print(f"{kind:18s} {n:5d}" + "".join(f"{r['recall'][kind] / max(1, n):18.3f}" for r in results))
    print(f"\n{'different-origin passed':24s}" + "".join(f"{r['label']:>18s}" for r in results))
    for kind in sorted({k for r in results for k in r["false"]}):
        print(f"{kind:24s}" + "".join(f"{r['false'][kind]:18d}" for r in results))
    for r in results:
        hits, n = sum(r["recall"].values()), sum(r["total"].values())
        false = sum(r["false"].values())
        print(f"{r['label']:17s} recall {hits / n:.3f} ({hits} of {n}), precision {hits / max(1, hits + false):.3f}; "
              f"groups P {r['group_precision']:.3f} R {r['group_recall']:.3f}; {r['rows'] / r['items']:.2f} rows an "
              f"item; embedded in {r['seconds']:.0f} s" + ("" if r["seconds"] else " (cached)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
