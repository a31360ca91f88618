"""Same-origin video pairs with their matched segments -> VSC22 matching-track CSV.

Candidate pairs come from a frame kNN search, each candidate's frame-similarity
matrix is aligned in time (speed 0.5x..2x, several segments per pair), and one
row per matched segment is written:
``query_id,ref_id,query_start,query_end,ref_start,ref_end,score`` (ids are the
store's video ids, times in seconds, a higher score is more certain).
"""

from __future__ import annotations

import argparse

from myPython.apps.options import add_model_args, check_output_file, check_range
from myPython.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True, help="descriptor store of the reference videos")
    p.add_argument("--queries", default=None, help="store of the query videos (default: the database itself)")
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--threshold", type=float, default=None,
                   help="lowest segment score written (default: the model's recommended_video_threshold; "
                        "0 writes every scored candidate, ranked)")
    p.add_argument("--knn", type=int, default=None, help="neighbour frames looked up per frame (default 50)")
    p.add_argument("--max-candidates", type=int, default=None, help="reference videos aligned per query video")
    p.add_argument("--aligner", choices=["hough", "network"], default=None,
                   help="temporal alignment (default: the calibrated one)")
    p.add_argument("--index", default="Flat", help="FAISS factory string for the frame search (default exact)")
    p.add_argument("--nprobe", type=int, default=None)
    p.add_argument("--no-verify", action="store_true",
                   help="skip the geometric verification of each segment's best frames (faster; scores can only "
                        "be lower, since the calibrated scorer counts it as evidence for a copy)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="align the candidate pairs on a Ray cluster (local Ray when no address; every node reads "
                        "the stores at their paths); the same matches")
    add_model_args(p)


def check_arguments(args: argparse.Namespace) -> None:
    check_range("--threshold", args.threshold, 0.0, 1.0)  # a segment score
    check_range("--knn", args.knn, 1, 2048)
    check_range("--max-candidates", args.max_candidates, 1)
    check_range("--nprobe", args.nprobe, 1)
    check_output_file("--out", None if args.out == "-" else args.out)


def _with_model_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """`args` completed with the model options' defaults (for commands without them, e.g. group)."""
    p = argparse.ArgumentParser(add_help=False)
    add_arguments(p)
    defaults = vars(p.parse_args(["--db", "-", "--out", "-"]))
    return argparse.Namespace(**{**defaults, **vars(args)})


def scored_matches(args: argparse.Namespace) -> tuple[list, dict]:
    """(every scored segment as a CSV row, best first; the model's info) for the stores of `args`.

    Runs no network (and never imports Caffe) for the model's own settings: the noise set's descriptors come
    with the model (or from the cache, for the settings a store was embedded with)."""
    from myPython.apps.options import check_model_args
    from myPython.pool.jobs import match_videos
    from myPython.pool.store import DescriptorStore
    from myPython.pool.video_match import csv_rows
    from myPython.retrieval.models import load_model

    args = _with_model_defaults(args)
    check_arguments(args)
    check_model_args(args)
    db = DescriptorStore.open(args.db)
    queries = DescriptorStore.open(args.queries) if args.queries else None
    if (args.proto is None) != (args.weights is None):
        raise UsageError("--proto and --weights go together")
    spec = load_model(args.proto, args.weights, args.model)
    settings_key = spec.settings(args.S, args.L, args.multires, args.scales).key()
    fingerprint = spec.fingerprint()
    for store in (db, queries):
        if store is None:
            continue
        stored = str(store.meta.get("settings") or settings_key).removesuffix("_int8")
        if store.meta.get("model") not in (None, fingerprint) or stored != settings_key:
            raise UsageError(f"{store.root}: embedded with another model or settings "
                             f"({store.meta.get('model_name', '?')}, {store.meta.get('settings', '?')}); "
                             "give the same model options as for embed")
    # segments that cannot reach the threshold are not worth verifying (exact for every row kept)
    matches = match_videos(db, queries, spec=spec, noise=_noise(args, spec, db), progress=not args.quiet,
                           knn=args.knn, max_candidates=args.max_candidates, aligner=args.aligner, factory=args.index,
                           nprobe=args.nprobe, verify=False if args.no_verify else None,
                           verify_floor=min(default_threshold(args, spec.info), 1 - 1e-9), ray=args.ray)
    return csv_rows(matches, 0.0), spec.info


def _noise(args: argparse.Namespace, spec, store):
    """The noise set's descriptors for the store's model and settings: the model's own file, the cache, or (for
    other settings, once) described now."""
    from myPython.pool.informative import model_noise_descriptors, noise_descriptors

    noise = model_noise_descriptors(spec, store.meta.get("settings"))
    if noise is None:
        from myPython.apps.options import open_extractor

        noise = noise_descriptors(open_extractor(args)[1], spec.fingerprint())
    return noise


def default_threshold(args: argparse.Namespace, info: dict) -> float:
    threshold = args.threshold if args.threshold is not None else info.get("recommended_video_threshold")
    if threshold is None:
        raise UsageError("the model has no recommended_video_threshold; give --threshold")
    return float(threshold)


def run(args: argparse.Namespace) -> int:
    from myPython.pool.video_match import write_matches_csv

    check_arguments(args)
    rows, info = scored_matches(args)
    threshold = default_threshold(args, info)
    kept = [r for r in rows if r[6] >= threshold]
    write_matches_csv(args.out, kept)
    pairs = len({(r[0], r[1]) for r in rows})
    print(f"match-videos: {pairs} candidate pairs scored; {len(kept)} segments of "
          f"{len({(r[0], r[1]) for r in kept})} video pairs with score >= {threshold:g} written to {args.out}")
    return 0


def group_videos(args: argparse.Namespace) -> int:
    """`group --videos`: groups of videos linked by accepted matches, with their segments, as JSON."""
    import json
    from pathlib import Path

    from myPython.common.fileio import atomic_write_text
    from myPython.pool.video_match import read_matches_csv, video_groups

    if args.matches:
        from myPython.retrieval.models import load_model

        rows, info = read_matches_csv(args.matches), load_model().info
    else:
        rows, info = scored_matches(args)
    threshold = default_threshold(args, info)
    groups = [g for g in video_groups(rows, threshold) if g["size"] >= args.min_size]
    payload = {"threshold": threshold, "videos": True, "groups": groups}
    atomic_write_text(Path(args.out), json.dumps(payload, indent=1) + "\n")
    print(f"group: {len(groups)} groups of videos (largest {max((g['size'] for g in groups), default=0)}) "
          f"written to {args.out}")
    return 0
