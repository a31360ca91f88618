"""The "unseen" held-out sets in `eval-images` / `eval-videos --set unseen|fresh*|both|all` (EVALUATION ONLY:
report, never tune).

The sets (datasets/heldout_unseen.py, heldout_unseen_videos.py, heldout_fresh_videos.py, heldout_fresh2_videos.py
and the fresh image sets) are made with edit code written apart from every training edit. Scoring is the
commands' own path (pool.jobs.embed and the fused pair score for images; embed + match-videos for videos); the
metrics are evaluation/ code. Printed per family of edit:
positive pairs, recall and precision at the model's recommended threshold among the pairs involving the
family, and the 3 hardest negatives (highest-scoring different-origin pairs). Nothing is recorded into
myPython/build/.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SKIP = ("original", "distractor")  # families whose own pairs are not a family of edits


def embed_items(pool: Path, items: list, out: Path, spec, extractor, quiet: bool, panels: bool = False,
                turns: bool = False) -> tuple:
    """Embed an image set's pool (with local features, panel rows with `panels`, quarter-turned rows with `turns`)
    into a store under `out` named by model, settings and features; (store, the items in store row order, sub-rows
    left out). `items` carry their pool-relative `path`."""
    from myPython.common.ids import is_panel
    from myPython.pool.embed import EmbedOptions
    from myPython.pool.jobs import embed
    from myPython.pool.panels import PANELS_VERSION
    from myPython.pool.store import DescriptorStore
    from myPython.pool.sub_rows import TURNS_VERSION
    from myPython.pool.verify import FEATURES_VERSION

    kind = "-".join(v for v, on in ((FEATURES_VERSION, True), (PANELS_VERSION, panels), (TURNS_VERSION, turns)) if on)
    store_dir = out / f"store-{spec.fingerprint()}-{extractor.key()}-{kind}"
    embed([pool], store_dir, spec, extractor, EmbedOptions(local_features=True, panels=panels, turns=turns),
          progress=not quiet)
    store = DescriptorStore.open(store_dir)
    by_path = {item.path: item for item in items}
    return store, [by_path[i] for shard in store.shards() for i in shard.ids() if not is_panel(i)]


def owner_scores(store, options):
    """The default pair score of every pair of the store's items (pool.scoring.pair_score_matrix), panel rows
    folded into their owners (pool/panel_rows.py)."""
    from myPython.pool.panel_rows import fold_matrix, owner_rows, panel_runs, turned_rows
    from myPython.pool.scoring import pair_score_matrix

    ids = [i for shard in store.shards() for i in shard.ids()]
    return fold_matrix(pair_score_matrix(store, options), owner_rows(ids), panel_runs(store, ids), turned_rows(ids))


def item_groups(store, order: list, options, threshold: float, same: np.ndarray) -> dict:
    """`group`'s groups of the store at `threshold` (panel rows folded, pool/groups.py), scored as pairs of items."""
    from evaluation import families as fam
    from myPython.pool.groups import find_groups

    row_of = {item.path: n for n, item in enumerate(order)}
    groups = [[row_of[m] for m in g.members] for g in find_groups(store, threshold, options=options)]
    return fam.group_pairs(groups, same)


def run_images(args: argparse.Namespace, out: Path, spec, extractor, which: str = "unseen") -> dict:
    """Build, embed and score the held-out image set `which` ("unseen": datasets/heldout_unseen.py, "fresh":
    datasets/heldout_fresh.py, "fresh2": datasets/heldout_fresh2.py, "fresh3": datasets/heldout_fresh3.py, "fresh4":
    datasets/heldout_fresh4.py) under
    `out`; the results (also in out/results.json)."""
    from evaluation import families as fam
    from myPython.common.fileio import atomic_write_text
    from myPython.pool.scoring import score_options

    if which == "fresh":
        from myPython.datasets.heldout_fresh import build_fresh_set as build
    elif which == "fresh2":
        from myPython.datasets.heldout_fresh2 import build_fresh2_set as build
    elif which == "fresh3":
        from myPython.datasets.heldout_fresh3 import build_fresh3_set as build
    elif which == "fresh4":
        from myPython.datasets.heldout_fresh4 import build_fresh4_set as build
    else:
        from myPython.datasets.heldout_unseen import build_unseen_set as build
    pool, items = build(out / "set")
    options = score_options(spec, raw=args.raw)
    store, order = embed_items(pool, items, out, spec, extractor, args.quiet, args.panels, args.turns)
    scores = owner_scores(store, options)
    threshold = args.threshold if args.threshold is not None else options.threshold
    same = fam.same_origin_matrix([i.origins for i in order])
    i, j, score, same_pairs = fam.all_pairs(scores, same)
    names, kinds = [o.path for o in order], [o.kind for o in order]
    results = {
        "set": which, "model": spec.name, "fingerprint": spec.fingerprint(), "settings": extractor.key(),
        "score": options.name, "panels": bool(args.panels), "turns": bool(args.turns), "items": len(order),
        "origins": len({o for it in order for o in it.origins}),
        "mAP": fam.mean_average_precision(scores, same), **fam.summary(score, same_pairs, threshold),
        "groups": item_groups(store, order, options, threshold, same),
        "per_family": fam.by_group(i, j, score, same_pairs, [o.family for o in order], names, kinds, threshold,
                                   skip=SKIP),
        "per_kind": fam.by_group(i, j, score, same_pairs, kinds, names, kinds, threshold,
                                 skip=("original", "photo", "illustration")),
        "families": {f: sorted({o.kind for o in order if o.family == f}) for f in sorted({o.family for o in order})},
    }
    atomic_write_text(out / ("results-raw.json" if args.raw else "results.json"), json.dumps(results, indent=1) + "\n")
    return results


def format_images(results: dict) -> str:
    from evaluation.families import format_rows

    at, r95 = results["at_threshold"], results["at_precision_0.95"]
    lines = [
        f"{results['set']} held-out images: {results['items']} items, {results['origins']} origins, "
        f"{results['same_origin_pairs']} same-origin pairs of {results['pairs']} (score: {results['score']})",
        f"  mAP                              {results['mAP']:.4f}",
        f"  recall at precision 0.95         {r95['recall']:.4f}  (threshold {r95['threshold']:.4f})",
        f"  at threshold {at['threshold']:.4f}: precision {at['precision']:.4f}  recall {at['recall']:.4f}  "
        f"({at['true_pairs']} same-origin, {at['false_pairs']} unrelated pairs)",
    ]
    if "groups" in results:  # results written before groups were scored have none
        grp = results["groups"]
        lines.append(f"  groups: pair precision {grp['pair_precision']:.4f}  pair recall {grp['pair_recall']:.4f}  "
                     f"({grp['groups']} groups, largest {grp['largest']})")
    lines += format_rows(results["per_family"], "family")
    lines += format_rows(results["per_kind"], "kind", negatives=False)
    return "\n".join(lines)


def side_by_side(title: str, columns: dict[str, dict], rows: list[tuple[str, str]]) -> str:
    """Rows of `label` and a key path (a/b: keys hold dots, as at_precision_0.95) looked up in each set's results."""
    def get(d: dict, path: str):
        for part in path.split("/"):
            d = d[part]
        return d

    lines = [f"{title:<34}" + "".join(f"{name:>10}" for name in columns)]
    for label, path in rows:
        values = [get(d, path) for d in columns.values()]
        lines.append(f"  {label:<32}" + "".join(f"{v:>10.4f}" if isinstance(v, float) else f"{v:>10}"
                                                  for v in values))
    return "\n".join(lines)


IMAGE_ROWS = [("items", "items"), ("origins", "origins"), ("same-origin pairs", "same_origin_pairs"),
              ("mAP", "mAP"), ("recall at precision 0.95", "at_precision_0.95/recall"),
              ("threshold", "at_threshold/threshold"), ("precision at threshold", "at_threshold/precision"),
              ("recall at threshold", "at_threshold/recall"), ("groups: pair precision", "groups/pair_precision"),
              ("groups: pair recall", "groups/pair_recall")]
VIDEO_ROWS = [("videos", "videos"), ("true pairs", "true_pairs"), ("ignored pairs", "ignored_pairs"),
              ("pair AP", "match_videos/ap"), ("VSC22 segment AP", "match_videos/vsc22_segment_ap"),
              ("threshold", "match_videos/threshold"), ("precision at threshold", "match_videos/precision"),
              ("recall at threshold", "match_videos/recall"), ("F1", "match_videos/f1"),
              ("localised (IoU >= 0.5)", "match_videos/localised")]


def embed_and_match(pool: Path, store: Path, csv_path: Path, model: list[str], panels: bool = False,
                    turns: bool = False) -> int:
    """`embed` a video pool (with `panels`: `embed --panels`, `turns`: `--turns`) and `match-videos` it at threshold
    0 through the CLI, as a user would; the exit code of the first step that failed, else 0."""
    from myPython.apps.cli import main as cli

    sub_rows = [*(["--panels"] if panels else []), *(["--turns"] if turns else [])]
    for step in (["embed", str(pool), "--out", str(store), "--quiet", *model, *sub_rows],
                 ["match-videos", "--db", str(store), "--out", str(csv_path), "--threshold", "0", "--quiet", *model]):
        print(f"$ deep-retrieval {' '.join(step)}", flush=True)
        code = cli(step)
        if code:
            return code
    return 0


VIDEO_SETS = ("unseen", "fresh", "fresh2")


def run_videos(out: Path, model: list[str], threshold: float, store_folder: str = "store",
               which: str = "unseen", panels: bool = False, turns: bool = False) -> dict | int:
    """Build the held-out video pool `which` ("unseen": datasets/heldout_unseen_videos.py, "fresh":
    datasets/heldout_fresh_videos.py, "fresh2": datasets/heldout_fresh2_videos.py) under `out`, embed it (into
    `out/store_folder`), match-videos at threshold 0, and score it (or the exit code of a step that failed). All
    pools share the unseen set's ground truth rules."""
    import numpy as np

    from evaluation import families as fam
    from evaluation.video_matching import best_segments, evaluate_matches
    from evaluation.vsc22 import pool_segment_ap
    from myPython.common.fileio import atomic_write_text
    from myPython.datasets.heldout_unseen_videos import video_truth
    from myPython.pool.video_match import read_matches_csv

    if which == "fresh":
        from myPython.datasets.heldout_fresh_videos import build_fresh_video_pool as build
    elif which == "fresh2":
        from myPython.datasets.heldout_fresh2_videos import build_fresh2_video_pool as build
    elif which == "unseen":
        from myPython.datasets.heldout_unseen_videos import build_unseen_video_pool as build
    else:
        raise ValueError(f"unknown held-out video set {which!r} (one of {', '.join(VIDEO_SETS)})")
    pool, items = build(out / "set")
    store, csv_path = out / store_folder, out / "matches.csv"
    truth, ignore = video_truth(items)
    code = embed_and_match(pool, store, csv_path, model, panels, turns)
    if code:
        return code
    rows = read_matches_csv(csv_path)
    scores = evaluate_matches(rows, truth, threshold, ignore)
    best = best_segments(rows)
    videos = sorted(items, key=lambda v: v.name)
    names = [v.name for v in videos]
    i, j = np.triu_indices(len(videos), k=1)
    keep = np.array([(names[a], names[b]) not in ignore for a, b in zip(i, j)], bool)
    i, j = i[keep], j[keep]
    score = np.array([best.get((names[a], names[b]), (-1.0,))[0] for a, b in zip(i, j)])
    same = np.array([(names[a], names[b]) in truth for a, b in zip(i, j)], bool)
    kinds = [v.kind for v in videos]
    report = {
        "set": which, "panels": panels, "turns": turns, "videos": len(videos), "true_pairs": len(truth),
        "ignored_pairs": len(ignore),
        "match_videos": {**scores.as_dict(), "vsc22_segment_ap": pool_segment_ap(rows, truth, ignore)},
        "per_family": fam.by_group(i, j, score, same, [v.family for v in videos], names, kinds, threshold,
                                   skip=SKIP),
        "per_kind": fam.by_group(i, j, score, same, kinds, names, kinds, threshold, skip=("original",)),
    }
    atomic_write_text(out / "video_eval.json", json.dumps(report, indent=2) + "\n")
    return report


def format_videos(report: dict) -> str:
    from evaluation.families import format_rows

    m = report["match_videos"]
    lines = [
        f"{report.get('set', 'unseen')} held-out videos: {report['videos']} videos, {report['true_pairs']} true pairs, "
        f"{report['ignored_pairs']} ignored",
        f"  pair AP {m['ap']:.3f}  VSC22 segment AP {m['vsc22_segment_ap']:.3f}  at threshold {m['threshold']:.3f}: "
        f"precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}  IoU>=0.5 {m['localised']:.3f}",
    ]
    lines += format_rows(report["per_family"], "family")
    lines += format_rows(report["per_kind"], "kind", negatives=False)
    return "\n".join(lines)
