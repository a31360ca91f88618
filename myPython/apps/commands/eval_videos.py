"""Held-out video evaluation of match-videos (EVALUATION ONLY data: never tune on it).

Builds the held-out pool (datasets/heldout_videos.py: clips of the held-out
packages, their natural copies and the project's edits), embeds it, runs
match-videos with threshold 0, and reports pair AP, precision / recall / F1 at
the model's recommended video threshold and the share of true pairs whose best
segment has IoU >= 0.5 on both videos; beside it, the simplest video rule (a
pair's score = its best frame cosine) at the model's image threshold. `--set`
also runs (or runs instead) the pools made with edit code written apart from
training (eval_unseen.run_videos: "unseen", and the newer "fresh" and "fresh2"), side by side.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from myPython.apps.options import add_model_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output folder (pool, store, matches.csv, video_eval.json; the unseen, "
                                                "fresh and fresh2 sets: its unseen/, fresh/ and fresh2/ subfolders)")
    p.add_argument("--set", choices=("previous", "unseen", "fresh", "fresh2", "both", "all"), default="both",
                   help="which held-out pool: the previous one (datasets/heldout_videos.py), the unseen-edits one "
                        "(datasets/heldout_unseen_videos.py), the fresh one (datasets/heldout_fresh_videos.py), the "
                        "fresh2 one (datasets/heldout_fresh2_videos.py), previous and unseen side by side (both, the "
                        "default), or all four side by side (all)")
    add_model_args(p)
    p.add_argument("--panels", action="store_true",
                   help="embed with panel rows (embed --panels), folded into their frames by match-videos (a "
                        "composition matches the clips it shows); give it its own --out; never recorded")
    p.add_argument("--turns", action="store_true",
                   help="embed with quarter-turned rows (embed --turns), folded into their frames by match-videos; "
                        "never recorded")
    p.add_argument("--record", action="store_true",
                   help="write the previous pool's summary into myPython/build/default_model_heldout_videos.json, "
                        "which the default model's sidecar then reports (for the build measured; never the unseen, "
                        "fresh or fresh2 pool)")


def _model_args(args: argparse.Namespace) -> list[str]:
    out = ["--engine", args.engine]
    for name in ("model", "proto", "weights", "output", "S", "L"):
        value = getattr(args, name)
        if value is not None:
            out += [f"--{name}", str(value)]
    return out + (["--multires"] if args.multires else [])


def edit_kind(video: str) -> str:
    """The edit a pool video's name says it is (video_edits.EDITS, 'inserted'), else 'original' (originals and
    the natural copies shipped with them)."""
    from myPython.datasets.video_edits import EDITS

    stem = video.rsplit(".", 1)[0]
    return next((kind for kind in (*EDITS, "inserted") if stem.endswith("_" + kind)), "original")


def best_frame_scores(store) -> dict[tuple[str, str], float]:
    """Baseline: each pair of videos scored by the highest cosine between their frames."""
    import numpy as np

    from myPython.common.ids import input_of, is_panel

    ids, vectors = store.load()
    frames = [n for n, i in enumerate(ids) if not is_panel(i)]  # whole frames: the simplest rule has no panels
    ids, vectors = [ids[n] for n in frames], vectors[frames]
    videos = sorted({input_of(i) for i in ids})
    index = {v: n for n, v in enumerate(videos)}
    owner = np.array([index[input_of(i)] for i in ids])
    best = np.full((len(videos), len(videos)), -1.0)
    for start in range(0, len(ids), 2048):
        sim = vectors[start : start + 2048] @ vectors.T
        rows = owner[start : start + 2048]
        for v in np.unique(rows):
            block = sim[rows == v]
            np.maximum.at(best[v], owner, block.max(axis=0))
    return {(videos[a], videos[b]): float(best[a, b]) for a in range(len(videos)) for b in range(a + 1, len(videos))}


def store_name(args: argparse.Namespace) -> str:
    """The evaluation store's folder name: one per model, engine settings, local features and frame sampling, so
    that a rebuilt model never meets the descriptors of the one before (embed refuses a store of another model)."""
    import hashlib

    from myPython.apps.options import open_extractor
    from myPython.pool.embed import EmbedOptions
    from myPython.pool.verify import FEATURES_VERSION

    spec, extractor = open_extractor(args)
    key = f"{spec.fingerprint()}|{extractor.key()}|{FEATURES_VERSION}|{EmbedOptions().reference_frames}"
    return f"store-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def run(args: argparse.Namespace) -> int:
    from myPython.apps.commands import eval_unseen
    from myPython.errors import UsageError
    from myPython.retrieval.models import load_model

    if args.record and "previous" not in SET_MEMBERS[args.set]:
        raise UsageError("--record writes the previous pool's summary: use --set previous, both or all")
    if args.record and (args.panels or args.turns):
        raise UsageError("--record writes the default model's numbers, measured without --panels or --turns")
    members = SET_MEMBERS[args.set]
    results: dict[str, dict] = {}
    store = store_name(args) + ("-panels" if args.panels else "") + ("-turns" if args.turns else "")
    if "previous" in members:
        previous = _run_previous(args, store)
        if isinstance(previous, int):
            return previous
        results["previous"] = previous
    held_out = [m for m in members if m != "previous"]
    if held_out:
        threshold = float(load_model(args.proto, args.weights, args.model).info["recommended_video_threshold"])
    for which in held_out:
        report = eval_unseen.run_videos(Path(args.out) / which, _model_args(args), threshold, store, which=which,
                                        panels=args.panels, turns=args.turns)
        if isinstance(report, int):
            return report
        print(eval_unseen.format_videos(report))
        results[which] = report
    if len(results) > 1:
        print(eval_unseen.side_by_side("held-out videos", results, eval_unseen.VIDEO_ROWS))
    return 0


# --set -> the pools it runs, in order (the unseen, fresh and fresh2 ones under OUT/unseen/, OUT/fresh/, OUT/fresh2/)
SET_MEMBERS = {"previous": ("previous",), "unseen": ("unseen",), "fresh": ("fresh",), "fresh2": ("fresh2",),
               "both": ("previous", "unseen"), "all": ("previous", "unseen", "fresh", "fresh2")}


def _run_previous(args: argparse.Namespace, store_folder: str) -> dict | int:
    """The previous held-out pool, as before; its report (or the exit code of a step that failed)."""
    from evaluation.video_matching import evaluate_matches, pair_average_precision, recall_by_kind
    from evaluation.vsc22 import pool_segment_ap
    from myPython.apps.commands import eval_unseen
    from myPython.common.fileio import atomic_write_text
    from myPython.datasets.heldout_videos import build_heldout_pool
    from myPython.datasets.video_edits import ambiguous_pairs, pool_truth
    from myPython.pool.store import DescriptorStore
    from myPython.pool.video_match import read_matches_csv
    from myPython.retrieval.models import load_model

    out = Path(args.out)
    pool, store, csv_path = out / "pool", out / store_folder, out / "matches.csv"
    pieces = build_heldout_pool(pool)
    truth, ignore = pool_truth(pieces), ambiguous_pairs(pieces)
    model = _model_args(args)
    code = eval_unseen.embed_and_match(pool, store, csv_path, model, args.panels, args.turns)
    if code:
        return code
    spec = load_model(args.proto, args.weights, args.model)
    info = spec.info
    threshold = float(info["recommended_video_threshold"])
    rows = read_matches_csv(csv_path)
    scores = evaluate_matches(rows, truth, threshold, ignore)
    kinds = recall_by_kind(rows, truth, threshold, edit_kind)
    segment_ap = pool_segment_ap(rows, truth, ignore)  # every scored segment, ranked: the VSC22 protocol
    baseline = {k: s for k, s in best_frame_scores(DescriptorStore.open(store)).items() if k not in ignore}
    cosine = float(info.get("recommended_cosine_threshold", info.get("recommended_threshold", 0.5)))
    accepted = {k for k, s in baseline.items() if s >= cosine}
    tp = len(accepted & set(truth))
    base = {"ap": pair_average_precision(baseline, set(truth)), "threshold": cosine,
            "precision": tp / len(accepted) if accepted else 1.0, "recall": tp / len(truth) if truth else 0.0}
    report = {"videos": len(pieces), "true_pairs": len(truth), "ignored_pairs": len(ignore),
              "match_videos": {**scores.as_dict(), "vsc22_segment_ap": segment_ap},
              "best_frame_cosine_baseline": base,
              "by_kind": {k: {"pairs": n, "recall": r, "localised": loc} for k, (n, r, loc) in kinds.items()}}
    atomic_write_text(out / "video_eval.json", json.dumps(report, indent=2) + "\n")
    lines = [
        f"Held-out video evaluation: {len(pieces)} videos, {len(truth)} true pairs, {len(ignore)} ignored "
        "(evaluation-only packages)",
        f"{'rule':>28}  {'pair AP':>7}  {'VSC22 AP':>8}  {'threshold':>9}  {'precision':>9}  {'recall':>6}  "
        f"{'F1':>5}  {'IoU>=0.5':>8}",
        f"{'match-videos':>28}  {scores.ap:7.3f}  {segment_ap:8.3f}  {threshold:9.3f}  {scores.precision:9.3f}  "
        f"{scores.recall:6.3f}  {scores.f1:5.3f}  {scores.localised:8.3f}",
        f"{'best frame cosine (1 fps)':>28}  {base['ap']:7.3f}  {'':>8}  {cosine:9.3f}  {base['precision']:9.3f}  "
        f"{base['recall']:6.3f}  {'':>5}  {'':>8}",
        "",
        f"{'true pairs by kind':>44}  {'pairs':>5}  {'recall':>6}  {'IoU>=0.5':>8}",
        *(f"{kind:>44}  {n:5d}  {r:6.3f}  {loc:8.3f}" for kind, (n, r, loc) in kinds.items()),
    ]
    print("\n".join(lines))
    atomic_write_text(out / "video_eval.txt", "\n".join(lines) + "\n")
    if args.record:
        from myPython.build import default_model

        record = {"set": f"{len(pieces)} held-out videos, {len(truth)} true pairs (datasets/heldout_videos.py)",
                  **{k: round(v, 4) for k, v in scores.as_dict().items() if k in ("ap", "precision", "recall", "f1",
                                                                                   "localised", "threshold")},
                  "vsc22_segment_ap": round(segment_ap, 4)}
        print(f"recorded in {default_model.record_heldout('heldout_videos', spec, record)}")
    return report
