"""Same-origin groups of the rows of a store, grown without chaining (pool/groups.py); or of videos."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from myPython.apps.options import add_score_args, check_output_file, check_range
from myPython.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True)
    p.add_argument("--threshold", type=float, default=None,
                   help="link score (default: the model's recommended threshold for the score used; "
                        "--videos: its recommended_video_threshold)")
    p.add_argument("--neighbours", type=int, default=50, help="neighbours examined per row")
    p.add_argument("--min-link-fraction", type=float, default=None,
                   help="share of the pairs between two groups that must be links for them to merge "
                        "(default: the model's calibrated value; 1 = complete linkage)")
    p.add_argument("--index", default="Flat")
    p.add_argument("--min-size", type=int, default=2)
    add_score_args(p)
    p.add_argument("--graph-k", type=int, default=None,
                   help="neighbours per row kept in the store's neighbour graph (STORE/graph/, default 50); "
                        "answers come from it when --neighbours is at most this")
    p.add_argument("--no-graph", action="store_true",
                   help="search and verify again instead of answering from the store's neighbour graph")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="build the neighbour graph (when it must be built) on a Ray cluster: its kNN on actors "
                        "holding index shards, its pairs verified as tasks (local Ray when no address; every node "
                        "reads the store at its path); the same graph (--videos: align the "
                        "candidate pairs on it, the same matches)")
    p.add_argument("--out", required=True)
    p.add_argument("--videos", action="store_true",
                   help="group videos linked by match-videos matches (each member with its matched segments)")
    p.add_argument("--matches", help="with --videos: a match-videos CSV to group (default: match the store now)")


def check_arguments(args: argparse.Namespace) -> None:
    check_range("--threshold", args.threshold, -1.0, 1.0)  # a probability, or cosine with --raw
    check_range("--neighbours", args.neighbours, 1, 100_000)
    check_range("--min-link-fraction", args.min_link_fraction, 0.0, 1.0, above=True)
    check_range("--min-size", args.min_size, 1)
    check_range("--graph-k", args.graph_k, 1, 100_000)
    if args.ray is not None and args.no_graph:
        raise UsageError("--ray builds the neighbour graph: it does nothing with --no-graph")
    check_output_file("--out", args.out)


def run(args: argparse.Namespace) -> int:
    from myPython.apps.options import open_score_options
    from myPython.common.fileio import atomic_write_text
    from myPython.pool import jobs
    from myPython.pool.store import DescriptorStore

    check_arguments(args)
    if args.videos:
        from myPython.apps.commands.match_videos import group_videos

        return group_videos(args)
    db = DescriptorStore.open(args.db)
    options = open_score_options(args, db)
    threshold, groups = jobs.group(db, threshold=args.threshold, neighbours=args.neighbours, factory=args.index,
                                   min_size=args.min_size, min_link_fraction=args.min_link_fraction, score=options,
                                   graph=not args.no_graph, graph_k=args.graph_k, ray=args.ray, progress=True)
    payload = {"threshold": threshold, "score": options.name,
               "groups": [{"size": len(g), "min_score": g.min_score, "members": g.members} for g in groups]}
    atomic_write_text(Path(args.out), json.dumps(payload, indent=1) + "\n")
    sizes = [len(g) for g in groups]
    print(f"group: {len(groups)} groups of >= {args.min_size} items at {options.name} >= {threshold:.4f} "
          f"(largest {max(sizes, default=0)}, {sum(sizes)} items grouped) written to {args.out}")
    return 0
