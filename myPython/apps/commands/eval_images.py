"""Held-out image evaluation of same-origin decisions (`make eval`): EVALUATION-ONLY data, run to report.

Builds the held-out set (datasets/heldout.py), embeds it with the model into a store, scores every
pair the way `search` does (the fused, verified score; `--raw` for plain cosine), groups the way
`group` does, and prints: mAP with every item as a query, recall at precision 0.95, precision and
recall at the model's recommended threshold, group pair precision and recall, and recall per kind of
copy. Never choose a setting with these numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from myPython.apps.options import add_model_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="folder for the set, the store and results.json (the unseen set: "
                                                "its unseen/ subfolder)")
    p.add_argument("--set", choices=("previous", "unseen", "fresh", "fresh2", "fresh3", "fresh4", "both", "all"),
                   default="both",
                   help="which held-out set: the previous one (datasets/heldout.py), the unseen-edits one "
                        "(datasets/heldout_unseen.py), the fresh one with recurring templates "
                        "(datasets/heldout_fresh.py, in fresh/), the fresh2 one with app-style edits "
                        "(datasets/heldout_fresh2.py, in fresh2/), the fresh3 one led by compositions "
                        "(datasets/heldout_fresh3.py, in fresh3/), the fresh4 one of every family "
                        "(datasets/heldout_fresh4.py, in fresh4/), both previous and unseen side by side "
                        "(default), or all six")
    add_model_args(p)
    p.add_argument("--raw", action="store_true", help="evaluate plain cosine instead of the fused score")
    p.add_argument("--panels", action="store_true",
                   help="embed with panel rows (embed --panels), each folded into its owner: a pair scores the best "
                        "of its rows and panels (pool/panel_rows.py); never recorded")
    p.add_argument("--turns", action="store_true",
                   help="embed with quarter-turned rows (embed --turns), folded into their owners; never recorded")
    p.add_argument("--threshold", type=float, default=None,
                   help="operating point (default: the model's recommended threshold for the score used)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--record", action="store_true",
                   help="write the previous set's summary into myPython/build/default_model_heldout.json, which the "
                        "default model's sidecar then reports (for the build measured; never the unseen set)")


def _format(results: dict) -> str:
    at, r95, grp = results["at_threshold"], results["at_precision_0.95"], results["groups"]
    cc = results["connected_components"]
    lines = [
        f"held-out images: {results['items']} items, {results['origins']} origins, "
        f"{results['same_origin_pairs']} same-origin pairs of {results['pairs']}, {results['ignored_pairs']} ignored "
        f"(score: {results['score']})",
        f"  mAP                              {results['mAP']:.4f}",
        f"  recall at precision 0.95         {r95['recall']:.4f}  (threshold {r95['threshold']:.4f})",
        f"  at threshold {at['threshold']:.4f}: precision {at['precision']:.4f}  recall {at['recall']:.4f}  "
        f"({at['true_pairs']} same-origin, {at['false_pairs']} unrelated pairs; "
        f"{results['strict_at_threshold']['false_pairs'] - at['false_pairs']} ignored pairs above it)",
        f"  groups: pair precision {grp['pair_precision']:.4f}  pair recall {grp['pair_recall']:.4f}  "
        f"({grp['groups']} groups, largest {grp['largest']})",
        f"  (connected components would give pair precision {cc['pair_precision']:.4f}, "
        f"recall {cc['pair_recall']:.4f}, largest {cc['largest']})",
        f"  {'kind':<26}{'pairs':>6}{'median':>9}{'R@thr':>8}{'R@P.95':>8}",
    ]
    for row in results["per_kind"]:
        lines.append(f"  {row['kind']:<26}{row['pairs']:>6}{row['median_score']:>9.3f}"
                     f"{row['recall@threshold']:>8.3f}{row['recall@P0.95']:>8.3f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from myPython.apps.commands import eval_unseen
    from myPython.apps.options import open_extractor
    from myPython.errors import UsageError

    if args.record and args.set in ("unseen", "fresh", "fresh2", "fresh3", "fresh4"):
        raise UsageError("--record writes the previous set's summary: use --set previous, both or all")
    if args.record and (args.panels or args.turns):
        raise UsageError("--record writes the default model's numbers, measured without --panels or --turns")
    spec, extractor = open_extractor(args)
    sets = {"previous": ["previous"], "unseen": ["unseen"], "fresh": ["fresh"], "fresh2": ["fresh2"],
            "fresh3": ["fresh3"], "fresh4": ["fresh4"], "both": ["previous", "unseen"],
            "all": ["previous", "unseen", "fresh", "fresh2", "fresh3", "fresh4"]}[args.set]
    results = {}
    for name in sets:
        if name == "previous":
            results[name] = _run_previous(args, spec, extractor)
        else:
            results[name] = eval_unseen.run_images(args, Path(args.out) / name, spec, extractor, name)
            print(eval_unseen.format_images(results[name]))
    if len(results) > 1:
        print(eval_unseen.side_by_side("held-out images", results, eval_unseen.IMAGE_ROWS))
    return 0


def _run_previous(args: argparse.Namespace, spec, extractor) -> dict:
    from evaluation import same_origin as so
    from myPython.apps.commands.eval_unseen import embed_items, owner_scores
    from myPython.common.fileio import atomic_write_text
    from myPython.datasets.heldout import build_heldout_set, scene_of
    from myPython.pool.groups import find_groups
    from myPython.pool.scoring import score_options

    out = Path(args.out)
    pool, items = build_heldout_set(out / "set")
    options = score_options(spec, raw=args.raw)
    store, order = embed_items(pool, items, out, spec, extractor, args.quiet, args.panels, args.turns)
    labels, kinds = [i.origin for i in order], [i.kind for i in order]
    scenes = [scene_of(i.origin) for i in order]
    scores = owner_scores(store, options)
    threshold = args.threshold if args.threshold is not None else options.threshold
    _, _, score, same = so.pairs(scores, labels, scenes)
    at = so.at_threshold(score, same, threshold)
    r95 = so.recall_at_precision(score, same, 0.95)
    groups = find_groups(store, threshold, options=options)
    rows = {item.path: n for n, item in enumerate(order)}
    member_rows = [[rows[m] for m in g.members] for g in groups]
    precision, recall, _ = so.group_pair_metrics(member_rows, labels, scenes)
    chained = so.components(scores, threshold)
    cc_precision, cc_recall, _ = so.group_pair_metrics(chained, labels, scenes)
    _, _, strict_score, strict_same = so.pairs(scores, labels)  # the ignored pairs counted as unrelated
    strict = so.at_threshold(strict_score, strict_same, threshold)
    results = {
        "model": spec.name, "fingerprint": spec.fingerprint(), "settings": extractor.key(),
        "score": options.name, "panels": bool(args.panels), "turns": bool(args.turns), "items": len(order),
        "origins": len(set(labels)),
        "pairs": int(len(same)),
        "same_origin_pairs": int(same.sum()), "mAP": so.mean_average_precision(scores, labels, scenes),
        "ignored_pairs": int(len(strict_same) - len(same)),
        "strict_at_threshold": vars(strict),
        "at_threshold": vars(at), "at_precision_0.95": vars(r95),
        "groups": {"pair_precision": precision, "pair_recall": recall, "groups": len(groups),
                   "largest": max((len(g) for g in member_rows), default=0)},
        "connected_components": {"pair_precision": cc_precision, "pair_recall": cc_recall,
                                 "largest": max((len(g) for g in chained), default=0)},
        "per_kind": so.per_kind_recall(scores, labels, kinds, {"threshold": threshold, "P0.95": r95.threshold}),
    }
    atomic_write_text(out / ("results-raw.json" if args.raw else "results.json"), json.dumps(results, indent=1) + "\n")
    print(_format(results))
    if args.record:
        _record(spec, results)
    return results


def _record(spec, results: dict) -> None:
    from myPython.build import default_model

    at, r95, grp = results["at_threshold"], results["at_precision_0.95"], results["groups"]
    record = {"set": f"{results['items']} held-out images, {results['origins']} origins (datasets/heldout.py)",
              "score": results["score"], "threshold": round(at["threshold"], 6),
              "mAP": round(results["mAP"], 4), "recall_at_precision_0.95": round(r95["recall"], 4),
              "precision": round(at["precision"], 4), "recall": round(at["recall"], 4),
              "group_pair_precision": round(grp["pair_precision"], 4),
              "group_pair_recall": round(grp["pair_recall"], 4)}
    print(f"recorded in {default_model.record_heldout('heldout', spec, record)}")
